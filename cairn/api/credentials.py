"""The one reader of the ``Authorization`` header, for every surface: ``/api/v1``, MLflow's
REST API and OCI's ``/v2/`` (its token endpoint included).

A Cairn token travels in one of two ways, and every surface takes both: as a bearer token
(``Bearer cairn_…``: the SDK, the CLI, ``MLFLOW_TRACKING_TOKEN``, oras' ``set_token_auth``) or
as the password of Basic credentials, with any user name (``MLFLOW_TRACKING_USERNAME`` and
``_PASSWORD``, ``docker login``, oras' ``set_basic_auth``). ``/v2/`` also takes, as bearer
tokens, the short-lived tokens its own token endpoint issues (``oci.auth``).

The rules, the same wherever the header arrives:

- no header: no credentials (the caller is anonymous, who may do what
  ``CAIRN_ANONYMOUS_READ`` says);
- the scheme is ``Bearer`` or ``Basic``, in any case, followed by spaces or tabs and one
  credential without whitespace in it; whitespace around the whole is ignored;
- refused as ``Unauthenticated``, which each surface draws as its own 401 (Cairn's
  ``unauthenticated``, MLflow's ``UNAUTHENTICATED``, OCI's ``UNAUTHORIZED`` with its challenge):
  an empty header or credential, another scheme, a header longer than ``HEADER_MAX``
  characters or with a character that is not ASCII, Basic credentials that are not base64 of
  UTF-8 ``user:password`` or whose password is empty.

Whether the token is one the registry knows is the services' question; this module only says
which token the caller sent.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Literal

from cairn.errors import Unauthenticated

# Far above any token Cairn issues (a Cairn token is under 100 characters, a registry token
# under 300), far below what would cost anything to read.
HEADER_MAX = 4096
HOW = "send 'Authorization: Bearer <token>', or Basic credentials with the token as password"
_HEADER = re.compile(r"([A-Za-z]+)(?:[ \t]+(\S+))?")


@dataclass(frozen=True, slots=True)
class Credentials:
    """The token a request carries, and how it carried it."""

    scheme: Literal["bearer", "basic"]
    token: str


def read_credentials(header: str | None) -> Credentials | None:
    """The credentials an ``Authorization`` header carries; None when there is no header."""
    if header is None:
        return None
    if len(header) > HEADER_MAX:
        raise Unauthenticated(f"the Authorization header is longer than {HEADER_MAX} characters")
    if not header.isascii():
        raise Unauthenticated("the Authorization header is not ASCII")
    found = _HEADER.fullmatch(header.strip())
    if found is None or found.group(1).lower() not in ("bearer", "basic"):
        raise Unauthenticated(HOW)
    scheme, credential = found.group(1).lower(), found.group(2)
    if not credential:
        raise Unauthenticated(f"the {scheme.title()} credentials are empty: {HOW}")
    if scheme == "basic":
        return Credentials("basic", _basic_password(credential))
    return Credentials("bearer", credential)


def _basic_password(credential: str) -> str:
    """The password of ``Basic`` credentials (any user name: the password is the token)."""
    try:
        decoded = base64.b64decode(credential, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthenticated("Basic credentials are base64 of 'user:password'") from exc
    _, colon, password = decoded.partition(":")
    if not colon or not password:
        raise Unauthenticated("Basic credentials carry a Cairn token as the password")
    return password

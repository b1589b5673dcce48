"""The short-lived bearer tokens the OCI token endpoint hands out: ``cairnoci_<id>_<exp>_<mac>``.

Not a new secret: the token names the Cairn API token it was exchanged for (its public id),
an expiry (Unix seconds) and an HMAC of both keyed by that token's stored secret hash. The
server checks it against the stored token on every request, so revoking, expiring or
disabling the Cairn token ends every registry token made from it, on every server process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

PREFIX = "cairnoci_"
_FORM = re.compile(r"cairnoci_([a-z2-7]{16})_(\d{1,12})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True, slots=True)
class RegistryToken:
    token_id: str
    expires: int
    mac: str


def mint(token_id: str, stored_hash: str, expires: int) -> str:
    return f"{PREFIX}{token_id}_{expires}_{_mac(token_id, stored_hash, expires)}"


def read(raw: str) -> RegistryToken | None:
    """The parts of a well-formed registry token, else None."""
    found = _FORM.fullmatch(raw)
    if found is None:
        return None
    return RegistryToken(found.group(1), int(found.group(2)), found.group(3))


def proves(token: RegistryToken, stored_hash: str) -> bool:
    return hmac.compare_digest(token.mac, _mac(token.token_id, stored_hash, token.expires))


def _mac(token_id: str, stored_hash: str, expires: int) -> str:
    key = f"cairn-oci-token:{stored_hash}".encode()
    mac = hmac.new(key, f"{token_id}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

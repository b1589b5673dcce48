"""The path parameters the routes share, with what each accepts.

The patterns are the services' own rules (``cairn.domain.names``, ``.references``,
``.digests``), stated where the OpenAPI document can show them to clients and generators; a
value that fails one answers the code the service would have answered (``wire.base.Refused``
read by ``api.errors``), so a caller sees the same error whichever check caught it first.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path

from cairn.domain.names import NAME_MAX
from cairn.errors import InvalidDigest, InvalidName, InvalidReference
from cairn.wire.base import NAME_PATTERN, Refused

NamespaceName = Annotated[
    str,
    Path(pattern=NAME_PATTERN, max_length=NAME_MAX, description="A namespace's name."),
    Refused(InvalidName),
]
ModelName = Annotated[
    str,
    Path(pattern=NAME_PATTERN, max_length=NAME_MAX, description="A model's name."),
    Refused(InvalidName),
]
AliasName = Annotated[
    str,
    Path(pattern=NAME_PATTERN, max_length=NAME_MAX, description="An alias, e.g. champion."),
    Refused(InvalidName),
]
Selector = Annotated[
    str,
    Path(
        pattern=r"^(latest|[1-9][0-9]{0,11}|@[A-Za-z0-9][A-Za-z0-9._-]{0,127})$",
        description="A version: its number, `latest`, or `@alias`.",
        examples=["3", "latest", "@champion"],
    ),
    Refused(InvalidReference),
]
Digest = Annotated[
    str,
    Path(pattern=r"^sha256:[0-9a-f]{64}$", description="A blob's digest, sha256:<64 hex>."),
    Refused(InvalidDigest),
]
Scope = Annotated[
    str,
    Path(
        pattern=r"^(\*|[A-Za-z0-9][A-Za-z0-9._-]*)$",
        max_length=NAME_MAX,
        description="A namespace's name, or `*`: every namespace.",
    ),
    Refused(InvalidName),
]
RoleName = Annotated[
    Literal["reader", "writer", "approver", "deployer", "admin"],
    Path(description="A role (`cairn.services.auth.Role`)."),
]

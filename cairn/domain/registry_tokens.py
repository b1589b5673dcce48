"""The short-lived bearer tokens the OCI token endpoint hands out: ``cairnoci_<id>_<exp>_<mac>``.

Not a new secret to store: the token names the Cairn API token it was exchanged for (its
public id), an expiry (Unix seconds) and an HMAC over both and that token's stored secret hash,
keyed by the servers' registry-token key (a file outside the database). Reading the database
is therefore not enough to make one, and the server checks every one against the stored
token, so revoking, expiring or disabling the Cairn token ends every registry token made from
it, on every server process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

PREFIX = "cairnoci_"
KEY_BYTES = 32
_FORM = re.compile(r"cairnoci_([a-z2-7]{16})_(\d{1,12})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True, slots=True)
class RegistryToken:
    token_id: str
    expires: int
    mac: str


def mint(key: bytes, token_id: str, stored_hash: str, expires: int) -> str:
    return f"{PREFIX}{token_id}_{expires}_{_mac(key, token_id, stored_hash, expires)}"


def read(raw: str) -> RegistryToken | None:
    """The parts of a well-formed registry token, else None."""
    found = _FORM.fullmatch(raw)
    if found is None:
        return None
    return RegistryToken(found.group(1), int(found.group(2)), found.group(3))


def proves(key: bytes, token: RegistryToken, stored_hash: str) -> bool:
    return hmac.compare_digest(token.mac, _mac(key, token.token_id, stored_hash, token.expires))


def _mac(key: bytes, token_id: str, stored_hash: str, expires: int) -> str:
    message = f"cairn-oci-token\x00{token_id}\x00{expires}\x00{stored_hash}".encode()
    mac = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

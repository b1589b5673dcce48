"""API tokens on the wire: ``cairn_<id>_<secret>``.

The prefix makes a leaked token recognisable to secret scanners; the id is public and finds the
stored row; the secret is 256 random bits, so one SHA-256 of it is enough to store (a slow
password hash protects guessable secrets, and these are not guessable).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

PREFIX = "cairn_"
_FORM = re.compile(r"cairn_([a-z2-7]{16})_([A-Za-z0-9_-]{43})")


def new_token() -> tuple[str, str, str]:
    """A fresh ``(token_id, secret, token)``."""
    token_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(16))
    secret = secrets.token_urlsafe(32)
    return token_id, secret, f"{PREFIX}{token_id}_{secret}"


def parse_token(raw: str) -> tuple[str, str] | None:
    """``(token_id, secret)`` of a well-formed token, else None."""
    found = _FORM.fullmatch(raw)
    return (found.group(1), found.group(2)) if found else None


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(secret_hash(secret), stored_hash)

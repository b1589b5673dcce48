"""Content digests: ``sha256:<64 lower-case hex>``, the only algorithm Cairn stores."""

from __future__ import annotations

import hashlib
import re

from cairn.errors import InvalidDigest

ALGORITHM = "sha256"
DIGEST_PATTERN = "sha256:[0-9a-f]{64}"
_DIGEST = re.compile(DIGEST_PATTERN)
MISSING_MAX = 10_000  # the digests one "which are missing?" question may name


def parse_digest(raw: object) -> str:
    """Return ``raw`` if it is a canonical sha256 digest; raise ``InvalidDigest`` saying why."""
    if not isinstance(raw, str):
        raise InvalidDigest("a digest must be a string", value=repr(raw)[:100])
    if _DIGEST.fullmatch(raw):
        return raw
    algorithm, sep, hexpart = raw.partition(":")
    shown = raw[:100]
    if not sep:
        raise InvalidDigest("a digest is written 'sha256:<64 hex>'", value=shown)
    if algorithm != ALGORITHM:
        raise InvalidDigest(f"unsupported digest algorithm {algorithm[:20]!r}", value=shown)
    if len(hexpart) != 64:
        raise InvalidDigest(f"a sha256 digest has 64 hex digits, not {len(hexpart)}", value=shown)
    if re.fullmatch(r"[0-9a-fA-F]{64}", hexpart):
        raise InvalidDigest("digest hex must be lower case", value=shown)
    raise InvalidDigest("a digest's hex part may hold only 0-9 and a-f", value=shown)


def digest_bytes(data: bytes) -> str:
    return f"{ALGORITHM}:{hashlib.sha256(data).hexdigest()}"


def hex_of(digest: str) -> str:
    return digest.partition(":")[2]

"""A registration as one value: its request digest and its idempotency key."""

from __future__ import annotations

import pytest

from cairn import errors
from cairn.domain.manifest import parse_manifest
from cairn.domain.registrations import (
    IDEMPOTENCY_KEY_MAX,
    Registration,
    VersionMetadata,
    parse_metadata,
)

FILES = parse_manifest([{"path": "w.bin", "size": 7, "digest": "sha256:" + "ab" * 32}])
EVERYTHING = parse_metadata(
    description="d",
    tags={"k": "v"},
    metrics={"auc": 1},
    params={"lr": 0.1, "on": True},
    provenance={"code": {"commit": "abcdef1"}},
    schema={"inputs": [{"type": "f32"}]},
)


@pytest.mark.parametrize(
    ("metadata", "digest"),
    [
        # Digests kept with idempotency keys before registrations were one value: a retry
        # sent after an upgrade must still be told apart from another request by the same key.
        (VersionMetadata(), "a6b01a6bba1dae86eb75f153a23e00646002a3e3dd3de507f7b0a556542075a8"),
        (EVERYTHING, "26f03601d753692de15af31a07837d75b27152dd8d4f51b4585b69b5adf3b3b9"),
    ],
)
def test_the_request_digest_is_the_one_kept_before(metadata: VersionMetadata, digest: str) -> None:
    assert Registration(FILES, metadata).request_digest == "sha256:" + digest


def test_the_digest_tells_other_metadata_apart() -> None:
    other = parse_metadata(description="d", tags={"k": "w"})
    assert Registration(FILES, other).request_digest != Registration(FILES).request_digest


@pytest.mark.parametrize("key", ["", "k" * (IDEMPOTENCY_KEY_MAX + 1), 7])
def test_an_idempotency_key_is_1_to_200_characters(key: object) -> None:
    with pytest.raises(errors.InvalidMetadata):
        Registration(FILES, idempotency_key=key)  # type: ignore[arg-type]
    assert Registration(FILES, idempotency_key="k" * IDEMPOTENCY_KEY_MAX).idempotency_key

"""The SDK's local cache is never trusted blindly: a damaged cached file is fetched again."""

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cairn.api import create_app
from cairn.client import Client
from cairn.services.registry import Registry


@pytest.fixture
def sdk(registry: Registry, tmp_path: Path) -> Client:
    http = TestClient(create_app(registry), base_url="http://cairn.test")
    return Client("http://cairn.test", http=http, cache_dir=tmp_path / "cache", progress=False)


def test_a_damaged_cache_entry_is_downloaded_again(sdk: Client, tmp_path: Path) -> None:
    content = b"weights " * 1000
    source = tmp_path / "model.bin"
    source.write_bytes(content)
    version = sdk.push("fraud", source, capture_provenance=False)
    sdk.pull(version["ref"], tmp_path / "first")
    digest = version["files"][0]["digest"]
    cached = tmp_path / "cache" / "blobs" / "sha256" / digest.partition(":")[2]
    assert cached.read_bytes() == content

    cached.chmod(0o644)
    cached.write_bytes(b"X" + content[1:])  # same size, other bytes
    sdk.pull(version["ref"], tmp_path / "second")

    assert (tmp_path / "second" / "model.bin").read_bytes() == content
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == digest.partition(":")[2]

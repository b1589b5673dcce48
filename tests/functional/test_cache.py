"""The SDK's local cache is never trusted blindly: a damaged cached file is fetched again."""

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cairn.api import create_app
from cairn.client import Client
from cairn.services.container import Services
from cairn.wire.versions import FileEntry
from tests.conftest import bearer


@pytest.fixture
def sdk(services: Services, tmp_path: Path) -> Client:
    http = TestClient(
        create_app(services), base_url="http://cairn.test", headers=bearer(_token(services))
    )
    return Client("http://cairn.test", http=http, cache_dir=tmp_path / "cache", progress=False)


def test_a_damaged_cache_entry_is_downloaded_again(sdk: Client, tmp_path: Path) -> None:
    content = b"weights " * 1000
    source = tmp_path / "model.bin"
    source.write_bytes(content)
    version = sdk.push("fraud", source, capture_provenance=False)
    sdk.pull(version.ref, tmp_path / "first")
    digest = (version.files or [])[0].digest
    cached = tmp_path / "cache" / "blobs" / "sha256" / digest.partition(":")[2]
    assert cached.read_bytes() == content

    cached.chmod(0o644)
    cached.write_bytes(b"X" + content[1:])  # same size, other bytes
    sdk.pull(version.ref, tmp_path / "second")

    assert (tmp_path / "second" / "model.bin").read_bytes() == content
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == digest.partition(":")[2]


def test_a_large_file_is_hashed_while_it_goes_up_and_then_remembered(
    services: Services, tmp_path: Path
) -> None:
    # Over the SDK's single-request limit, a file it has not hashed before is sent while it is
    # hashed; a second push from the same cache knows the digest and sends nothing.
    from cairn.client.transfer import SINGLE_MAX

    http = TestClient(
        create_app(services), base_url="http://cairn.test", headers=bearer(_token(services))
    )
    sdk = Client("http://cairn.test", http=http, cache_dir=tmp_path / "cache", progress=False)
    big = tmp_path / "big.bin"
    with big.open("wb") as out:
        for i in range(SINGLE_MAX // (1 << 20) + 2):
            out.write(hashlib.sha256(str(i).encode()).digest() * 32768)
    expected = "sha256:" + hashlib.sha256(big.read_bytes()).hexdigest()

    first = sdk.push("big", big, capture_provenance=False)
    assert first.files == [FileEntry(path="big.bin", size=big.stat().st_size, digest=expected)]
    sent_before = _blob_bytes_received(http)
    assert sent_before >= big.stat().st_size
    second = sdk.push("big", big, capture_provenance=False)
    assert second.manifest_digest == first.manifest_digest
    assert second.number == first.number + 1
    assert _blob_bytes_received(http) == sent_before


def _blob_bytes_received(http: TestClient) -> float:
    """Body bytes the server took in on its blob and upload routes, from its own metrics."""
    total = 0.0
    for line in http.get("/metrics").text.splitlines():
        if line.startswith("cairn_http_request_bytes_total{") and (
            "/uploads" in line or "/blobs/{digest}" in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _token(services: Services) -> str:
    return services.settings.admin_token_file.read_text().strip()

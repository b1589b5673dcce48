"""Push and pull through the SDK against a real server: byte-identical round trips, pushes that
upload nothing the server already holds, and corrupt blobs that are never handed over."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn import errors
from cairn.client import Client
from tests.conftest import LiveServer
from tests.functional import (
    MiB,
    blob_file,
    flip_byte,
    run_cli,
    sha256_of,
    tree_digests,
    upload_bytes,
    write_random,
)


def _model_folder(root: Path) -> Path:
    """A model folder: one 200 MiB file, small files, a nested one, an empty one and two paths
    with the same content (one blob, two files)."""
    write_random(root / "weights.bin", 200 * MiB)
    write_random(root / "tokenizer" / "vocab.bin", 3 * MiB + 17)
    (root / "config.json").write_text('{"layers": 12, "hidden": 768}\n')
    (root / "README.md").write_text("# fraud model\n")
    (root / "tokenizer" / "README.md").write_text("# fraud model\n")
    (root / "EMPTY").write_bytes(b"")
    return root


@pytest.mark.slow
def test_push_then_pull_elsewhere_is_byte_identical_and_repush_uploads_nothing(
    live_server: LiveServer, tmp_path: Path
) -> None:
    source = _model_folder(tmp_path / "source")
    expected = tree_digests(source)
    total = sum(p.stat().st_size for p in source.rglob("*") if p.is_file())

    with Client(live_server.url, progress=False, cache_dir=tmp_path / "cache-a") as pusher:
        pusher.create_namespace("risk")
        first = pusher.push("risk/fraud", source, metrics={"auc": 0.93})
        after_first = upload_bytes(live_server.url)
        second = pusher.push("risk/fraud", source, metrics={"auc": 0.93})
        after_second = upload_bytes(live_server.url)

    # Distinct blobs: the two README files share one.
    assert after_first == total - len("# fraud model\n")
    assert after_second - after_first == 0
    assert (first.number, second.number) == (1, 2)
    assert first.manifest_digest == second.manifest_digest
    assert first.file_count == second.file_count == len(expected)
    assert first.size == total

    dest = tmp_path / "elsewhere" / "fraud"
    with Client(live_server.url, progress=False, cache_dir=tmp_path / "cache-b") as puller:
        pulled = puller.pull("risk/fraud:1", dest)
    assert pulled.version.manifest_digest == first.manifest_digest
    assert tree_digests(dest) == expected


def _push_with_blob(server: LiveServer, tmp_path: Path, size: int) -> tuple[str, str]:
    """Push a model holding one ``size``-byte file; its blob's digest and the model's name."""
    source = tmp_path / "source"
    write_random(source / "model.bin", size)
    (source / "config.json").write_text('{"ok": true}\n')
    model = f"corrupt-{size}"
    with Client(server.url, progress=False, cache_dir=tmp_path / "push-cache") as cairn:
        version = cairn.push(model, source, capture_provenance=False)
    digest = next(f.digest for f in version.files or [] if f.path == "model.bin")
    assert digest == "sha256:" + sha256_of(source / "model.bin")
    return digest, model


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        # Small enough for the server to check before it answers: a clean error.
        (1 * MiB, errors.BlobCorrupt),
        # Streamed: the server cuts the stream, and the client's own check fails.
        (12 * MiB, errors.DigestMismatch),
    ],
    ids=["small-verified-by-server", "large-verified-by-client"],
)
def test_pull_of_a_corrupt_blob_fails_and_leaves_no_file(
    live_server: LiveServer, tmp_path: Path, size: int, expected: type[errors.DigestMismatch]
) -> None:
    digest, model = _push_with_blob(live_server, tmp_path, size)
    flip_byte(blob_file(live_server.data_dir, digest), size // 2)

    cache = tmp_path / "pull-cache"
    dest = tmp_path / "dest"
    with Client(live_server.url, progress=False, cache_dir=cache) as cairn, pytest.raises(expected):
        cairn.pull(f"{model}:1", dest)
    assert not (dest / "model.bin").exists()
    hexdigest = digest.removeprefix("sha256:")
    assert not (cache / "blobs" / "sha256" / hexdigest).exists()
    assert not (cache / "partial" / hexdigest).exists()


def test_cli_pull_of_a_corrupt_blob_exits_6(live_server: LiveServer, tmp_path: Path) -> None:
    digest, model = _push_with_blob(live_server, tmp_path, 64 * 1024)
    flip_byte(blob_file(live_server.data_dir, digest), 100)

    dest = tmp_path / "dest"
    result = run_cli(live_server.url, "pull", f"{model}:1", str(dest), cache_dir=tmp_path / "c")
    assert result.returncode == 6, result.stderr
    assert "blob_corrupt" in result.stderr
    assert not (dest / "model.bin").exists()

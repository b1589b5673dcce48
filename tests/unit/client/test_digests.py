"""The SDK remembers a file's digest only while the file is exactly as it was hashed."""

import hashlib
import os
import time
from pathlib import Path

from cairn.client.digests import DigestCache


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_an_unchanged_file_is_remembered(tmp_path: Path) -> None:
    cache = DigestCache(tmp_path / "digests")
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    stat = model.stat()
    assert cache.get(model, stat) is None
    cache.put(model, stat, _digest(b"weights"))
    assert cache.get(model, model.stat()) == _digest(b"weights")
    assert DigestCache(tmp_path / "digests").get(model, model.stat()) == _digest(b"weights")


def test_a_rewritten_file_is_not_remembered(tmp_path: Path) -> None:
    cache = DigestCache(tmp_path / "digests")
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    cache.put(model, model.stat(), _digest(b"weights"))
    time.sleep(0.01)
    model.write_bytes(b"WEIGHTS")  # same size, new bytes, new mtime
    assert cache.get(model, model.stat()) is None


def test_a_file_that_changes_while_it_is_read_is_not_remembered(tmp_path: Path) -> None:
    cache = DigestCache(tmp_path / "digests")
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    before = model.stat()
    os.utime(model, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
    cache.put(model, before, _digest(b"weights"))
    assert cache.get(model, before) is None


def test_a_damaged_entry_reads_as_unknown(tmp_path: Path) -> None:
    cache = DigestCache(tmp_path / "digests")
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    cache.put(model, model.stat(), _digest(b"weights"))
    (entry,) = [p for p in (tmp_path / "digests").rglob("*") if p.is_file()]
    entry.write_text("not a digest")
    assert cache.get(model, model.stat()) is None

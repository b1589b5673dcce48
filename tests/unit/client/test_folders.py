"""Writing a version into a folder with replace: a failure while copying leaves the folder as
it was, entries in the way of the version's folders included (a file, a link)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn import errors
from cairn.client import folders


def test_a_failed_copy_puts_back_what_was_in_the_way(tmp_path: Path) -> None:
    root, outside = tmp_path / "dest", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "sub").write_text("a stale file where the version has a folder\n")
    (root / "link").symlink_to(outside, target_is_directory=True)
    source = tmp_path / "a.bin"
    source.write_bytes(b"weights")
    paths = ["sub/a.bin", "link/b.bin", "z.bin"]
    layout = folders.plan(root, paths, replace=True, what="default/m:1")
    assert sorted(layout.in_the_way) == ["link", "sub"]

    sources = [("sub/a.bin", source), ("link/b.bin", source), ("z.bin", tmp_path / "gone")]
    with pytest.raises(errors.CairnError, match="left as it was"):
        folders.write(layout, sources)
    assert sorted(p.name for p in root.iterdir()) == ["link", "sub"]
    assert (root / "sub").read_text() == "a stale file where the version has a folder\n"
    assert (root / "link").is_symlink() and (root / "link").resolve() == outside.resolve()
    assert list(outside.iterdir()) == []

    folders.write(layout, [(p, source) for p in paths])  # and once it can be written
    assert sorted(p.name for p in root.iterdir()) == ["link", "sub", "z.bin"]
    assert not (root / "link").is_symlink() and (root / "link" / "b.bin").read_bytes() == b"weights"
    assert list(outside.iterdir()) == []

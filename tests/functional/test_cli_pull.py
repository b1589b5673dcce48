"""``cairn pull`` yields exactly the version: a folder holding anything else is refused before
anything is written unless ``--replace``, which removes only what is inside the folder and
never follows a link out of it; a pull that fails while writing leaves the folder as it was."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cairn.client import Client
from tests.conftest import LiveServer
from tests.functional import MiB, run_cli, tree_digests, write_random


def _folder(root: Path, files: dict[str, bytes]) -> Path:
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


def _snapshot(root: Path) -> dict[str, str]:
    """Every entry below ``root``: files by content, links by target, folders as such."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[rel] = "-> " + os.readlink(path)
        elif path.is_dir():
            found[rel] = "folder"
        else:
            found[rel] = path.read_bytes().hex()
    return found


def test_pull_refuses_a_folder_holding_more_than_the_version_unless_replace(
    live_server: LiveServer, tmp_path: Path
) -> None:
    url = live_server.url
    v1 = _folder(tmp_path / "v1", {"a.txt": b"a1", "sub/b.txt": b"b1", "sub/deep/c.txt": b"c1"})
    v2 = _folder(tmp_path / "v2", {"a.txt": b"a2", "sub/b.txt": b"b2"})
    cache = tmp_path / "cache"
    with Client(url, progress=False, cache_dir=cache) as cairn:
        cairn.push("fraud", v1, capture_provenance=False)
        cairn.push("fraud", v2, capture_provenance=False)
    dest = tmp_path / "dest"
    assert run_cli(url, "pull", "fraud:1", str(dest), cache_dir=cache).returncode == 0
    before = _snapshot(dest)

    refused = run_cli(url, "pull", "fraud:2", str(dest), cache_dir=cache)
    assert refused.returncode == 4, refused.stderr
    assert "sub/deep" in refused.stderr and "--replace" in refused.stderr
    assert _snapshot(dest) == before
    as_json = run_cli(url, "pull", "fraud:2", str(dest), "--json", cache_dir=cache)
    assert as_json.returncode == 4 and '"code": "conflict"' in as_json.stdout

    replaced = run_cli(url, "pull", "fraud:2", str(dest), "--replace", cache_dir=cache)
    assert replaced.returncode == 0, replaced.stderr
    assert tree_digests(dest) == tree_digests(v2)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == [
        "a.txt", "sub", "sub/b.txt"
    ]  # fmt: skip
    # A folder that holds exactly the version is pulled into again, as often as asked.
    assert run_cli(url, "pull", "fraud:2", str(dest), cache_dir=cache).returncode == 0
    assert tree_digests(dest) == tree_digests(v2)
    # A file is not a folder.
    assert run_cli(url, "pull", "fraud:2", str(dest / "a.txt"), cache_dir=cache).returncode == 2


def test_replace_never_follows_a_link_out_of_the_folder(
    live_server: LiveServer, tmp_path: Path
) -> None:
    url = live_server.url
    version = _folder(tmp_path / "v", {"a.txt": b"mine", "sub/b.txt": b"b"})
    cache = tmp_path / "cache"
    with Client(url, progress=False, cache_dir=cache) as cairn:
        cairn.push("fraud", version, capture_provenance=False)
    outside = _folder(tmp_path / "outside", {"keep.txt": b"keep", "inner/x.txt": b"x"})
    kept = _snapshot(outside)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "a.txt").symlink_to(outside / "keep.txt")  # where the version has a file
    (dest / "sub").symlink_to(outside)  # where the version has a folder
    (dest / "elsewhere").symlink_to(outside / "inner")  # not in the version
    (dest / "stale").mkdir()
    (dest / "stale" / "back").symlink_to(outside)  # inside a folder that goes

    assert run_cli(url, "pull", "fraud", str(dest), cache_dir=cache).returncode == 4
    done = run_cli(url, "pull", "fraud", str(dest), "--replace", cache_dir=cache)
    assert done.returncode == 0, done.stderr
    assert _snapshot(outside) == kept
    assert _snapshot(dest) == {
        "a.txt": b"mine".hex(),
        "sub": "folder",
        "sub/b.txt": b"b".hex(),
    }


def test_a_pull_that_fails_while_writing_leaves_the_folder_as_it_was(
    live_server: LiveServer, tmp_path: Path
) -> None:
    url = live_server.url
    old = _folder(tmp_path / "old", {"a.txt": b"old a", "z.txt": b"old z"})
    new = _folder(tmp_path / "new", {"a.txt": b"new a", "m/small.txt": b"small"})
    write_random(new / "z.bin", 2 * MiB)
    cache = tmp_path / "cache"
    with Client(url, progress=False, cache_dir=cache) as cairn:
        cairn.push("fraud", old, capture_provenance=False)
        cairn.push("fraud", new, capture_provenance=False)
        cairn.pull("fraud:2", tmp_path / "elsewhere")  # the blobs are in the cache now
    dest = tmp_path / "dest"
    assert run_cli(url, "pull", "fraud:1", str(dest), cache_dir=cache).returncode == 0
    before = _snapshot(dest)

    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    env.update(
        CAIRN_URL=url, CAIRN_CACHE_DIR=str(cache), CAIRN_DATA_DIR=os.environ["CAIRN_DATA_DIR"]
    )
    # No file over 1 MiB (ulimit -f, in KiB): the disk is as good as full for the 2 MiB one.
    limited = ["bash", "-c", 'ulimit -f 1024 && exec "$@"', "bash", sys.executable]
    failed = subprocess.run(
        [*limited, "-m", "cairn", "pull", "fraud:2", str(dest), "--replace"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert failed.returncode == 1, failed.stderr
    assert "cannot write" in failed.stderr and "Traceback" not in failed.stderr
    assert _snapshot(dest) == before  # no new file, no new folder, nothing removed
    assert run_cli(url, "pull", "fraud:2", str(dest), "--replace", cache_dir=cache).returncode == 0
    assert tree_digests(dest) == tree_digests(new)

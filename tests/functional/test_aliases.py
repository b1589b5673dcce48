"""Aliases against a real server: every move is recorded with its time and actor, readable
through the SDK and the CLI, and concurrent moves are serialised into one unbroken chain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from cairn.cli.output import plain
from cairn.client import Client
from cairn.wire.aliases import AliasMove
from tests.conftest import LiveServer, start_live_server
from tests.functional import run_cli


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    """A real server on SQLite and on PostgreSQL."""
    live = start_live_server(tmp_path, database_url)
    yield live
    live.stop()


def _push_versions(cairn: Client, tmp_path: Path, count: int) -> list[int]:
    numbers = []
    for i in range(count):
        source = tmp_path / f"v{i}"
        source.mkdir()
        (source / "model.bin").write_bytes(f"weights {i}\n".encode())
        numbers.append(cairn.push("fraud", source, capture_provenance=False).number)
    return numbers


def _moments(events: list[AliasMove]) -> list[datetime]:
    return [e.at for e in events]


def test_an_alias_moved_three_times_has_its_whole_history(
    live_server: LiveServer, tmp_path: Path
) -> None:
    with Client(live_server.url, progress=False, cache_dir=tmp_path / "cache") as cairn:
        assert _push_versions(cairn, tmp_path, 3) == [1, 2, 3]
        for number in (1, 2, 3):
            assert cairn.set_alias("fraud", "champion", number).number == number
        cairn.set_alias("fraud", "challenger", 1)  # another alias: not in champion's history
        history = cairn.alias_history("fraud", "champion")
        every = cairn.alias_history("fraud")
        assert cairn.get("fraud@champion").number == 3

    assert [(e.alias, e.action, e.previous, e.version) for e in history] == [
        ("champion", "set", None, 1),
        ("champion", "move", 1, 2),
        ("champion", "move", 2, 3),
    ]
    times = _moments(history)
    assert times == sorted(times) and len(set(times)) == 3
    assert all(t.tzinfo is not None for t in times)
    assert {e.actor for e in history} == {"admin"}
    assert [e.alias for e in every] == ["champion"] * 3 + ["challenger"]

    result = run_cli(live_server.url, "--json", "alias", "history", "fraud", "champion")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == plain(history)


def test_concurrent_moves_of_one_alias_form_one_chain(server: LiveServer, tmp_path: Path) -> None:
    with Client(server.url, progress=False, cache_dir=tmp_path / "cache") as cairn:
        numbers = _push_versions(cairn, tmp_path, 8)
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda n: cairn.set_alias("fraud", "champion", n), numbers))
        history = cairn.alias_history("fraud", "champion")
        final = cairn.get("fraud@champion").number

    assert sorted(e.version for e in history) == numbers
    assert [e.action for e in history] == ["set"] + ["move"] * 7
    # Each move starts where the one before it ended: no move was lost to a race.
    assert [e.previous for e in history] == [None] + [e.version for e in history[:-1]]
    assert history[-1].version == final
    times = _moments(history)
    assert times == sorted(times)  # the record reads in time order, as it happened

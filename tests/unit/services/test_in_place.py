"""What runs where the request arrives rather than in a worker thread: the token check on a
connection the thread keeps, and small writes of the embedded default. Neither may change what
a caller sees: a revocation still holds at once, and only small, local writes stay in place."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cairn import errors
from cairn.api.deps import writing
from cairn.domain.registrations import SMALL_BYTES, SMALL_FILES, looks_small
from cairn.services.auth import LOCAL_ADMIN, Permission
from cairn.services.container import Services
from cairn.services.uow import WriterBusy
from tests.conftest import make_settings

DIGEST = "sha256:" + "ab" * 32


def _files(count: int, size: int) -> list[dict[str, object]]:
    return [{"path": f"f{i}", "size": size, "digest": DIGEST} for i in range(count)]


@pytest.mark.parametrize(
    ("manifest", "small"),
    [
        ({"files": _files(1, 64)}, True),
        ({"files": _files(SMALL_FILES, SMALL_BYTES // SMALL_FILES)}, True),
        ({"files": _files(SMALL_FILES + 1, 1)}, False),
        ({"files": _files(2, SMALL_BYTES // 2 + 1)}, False),
        (_files(1, 64), True),  # the manifest may be the bare list
        # Anything malformed goes to a thread; the registration refuses it there.
        ({"files": [{"path": "a", "size": "64", "digest": DIGEST}]}, False),
        ({"files": [{"path": "a"}]}, False),
        ({"files": 3}, False),
        ({}, False),
        ("files", False),
        (None, False),
    ],
)
def test_a_registration_is_small_when_it_names_few_files_of_few_bytes(
    manifest: object, small: bool
) -> None:
    assert looks_small(manifest) is small


def test_writes_stay_in_place_only_when_everything_is_local_to_one_process(
    services: Services, tmp_path: Path
) -> None:
    sqlite = services.settings.effective_database_url.startswith("sqlite")
    assert services.inline_writes is sqlite  # the embedded default, one worker, local blobs
    several = Services.open(make_settings(tmp_path / "several", workers=2))
    try:
        assert several.inline_writes is False  # another process may hold SQLite's lock
    finally:
        several.close()


def _write(services: Services) -> int:
    """A write that changes nothing; the thread it ran on."""
    with services.db.write(LOCAL_ADMIN, Permission.READ, None):
        return threading.get_ident()


@contextmanager
def _held_by_another_thread(services: Services) -> Iterator[None]:
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with services.db.write(LOCAL_ADMIN, Permission.READ, None):
            holding.set()
            release.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    assert holding.wait(10)
    try:
        yield
    finally:
        release.set()
        worker.join(10)


def test_a_write_that_would_wait_says_writer_busy_before_doing_anything(
    services: Services,
) -> None:
    with services.db.without_waiting():
        _write(services)  # nobody else writes: it goes ahead
    if services.db.engine.dialect.name != "sqlite":
        return  # PostgreSQL writers queue on row locks; nothing here waits for the whole file
    with (
        _held_by_another_thread(services),
        services.db.without_waiting(),
        pytest.raises(WriterBusy, match="another thread"),
    ):
        _write(services)
    # Another process (here: another connection) holds SQLite's lock. Waiting would end in
    # "database is locked" after the busy timeout; not waiting says so at once.
    database = services.settings.effective_database_url.removeprefix("sqlite:///")
    other = sqlite3.connect(database, check_same_thread=False)
    other.isolation_level = None
    other.execute("BEGIN IMMEDIATE")
    try:
        with services.db.without_waiting(), pytest.raises(WriterBusy, match="another process"):
            _write(services)
        # Outside the block, writes wait for the lock again (the busy timeout was restored).
        threading.Timer(0.2, other.rollback).start()
        _write(services)
    finally:
        other.close()


def test_small_writes_run_in_place_and_others_in_a_thread(services: Services) -> None:
    async def where(small: bool) -> int:
        return await writing(services, small, _write, services)

    async def scenario() -> None:
        loop = threading.get_ident()
        in_place = services.inline_writes
        assert (await where(True) == loop) is in_place
        assert await where(False) != loop
        if in_place:
            # Another thread holds the lock: the small write steps aside to a thread and
            # waits there, and the loop stays free to answer others meanwhile.
            with _held_by_another_thread(services):
                waiting = asyncio.ensure_future(where(True))
                await asyncio.sleep(0.05)
                assert not waiting.done()
            assert await waiting != loop

    asyncio.run(scenario())


def test_a_token_revoked_by_another_process_is_refused_on_the_kept_connection(
    settings_pair: tuple[Services, Services],
) -> None:
    """Two registries over one database stand for two server processes. The first keeps its
    token-check connection between requests; the revocation the second commits is seen by the
    very next check."""
    one, two = settings_pair
    issued = one.identity.create_token(LOCAL_ADMIN, name="ci", principal="admin")
    raw = issued.secret
    assert one.identity.authenticate(raw, None).actor.token_id == issued.token.token_id
    assert one.identity.authenticate(raw, None).actor.token_id == issued.token.token_id
    two.identity.revoke_token(LOCAL_ADMIN, issued.token.token_id)
    with pytest.raises(errors.Unauthenticated, match="the token was revoked"):
        one.identity.authenticate(raw, None)


@pytest.fixture
def settings_pair(services: Services) -> Iterator[tuple[Services, Services]]:
    twin = Services.open(services.settings, migrate_schema=False)
    yield services, twin
    twin.close()

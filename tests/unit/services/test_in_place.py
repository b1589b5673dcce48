"""What runs where the request arrives rather than in a worker thread: the token check on a
connection the thread keeps, and small writes of the embedded default. Neither may change what
a caller sees: a revocation still holds at once, and only small, local writes stay in place."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn import errors
from cairn.services.auth import LOCAL_ADMIN, Permission
from cairn.services.registry import Registry
from cairn.services.versions import SMALL_BYTES, SMALL_FILES, is_small_registration
from tests.conftest import make_settings

DIGEST = "sha256:" + "ab" * 32


def _files(count: int, size: int) -> list[dict[str, object]]:
    return [{"path": f"f{i}", "size": size, "digest": DIGEST} for i in range(count)]


@pytest.mark.parametrize(
    ("body", "small"),
    [
        ({"manifest": {"files": _files(1, 64)}}, True),
        ({"manifest": {"files": _files(SMALL_FILES, SMALL_BYTES // SMALL_FILES)}}, True),
        ({"manifest": {"files": _files(SMALL_FILES + 1, 1)}}, False),
        ({"manifest": {"files": _files(2, SMALL_BYTES // 2 + 1)}}, False),
        # Anything malformed goes to a thread; the service rejects it there as before.
        ({"manifest": _files(1, 64)}, False),
        ({"manifest": {"files": [{"path": "a", "size": "64", "digest": DIGEST}]}}, False),
        ({"manifest": {"files": [{"path": "a"}]}}, False),
        ({"manifest": {"files": 3}}, False),
        ({"manifest": "files"}, False),
        ({}, False),
        ([], False),
        (None, False),
    ],
)
def test_a_registration_is_small_when_it_names_few_files_of_few_bytes(
    body: object, small: bool
) -> None:
    assert is_small_registration(body) is small


def test_writes_stay_in_place_only_when_everything_is_local_to_one_process(
    registry: Registry, tmp_path: Path
) -> None:
    sqlite = registry.settings.effective_database_url.startswith("sqlite")
    assert registry.inline_writes is sqlite  # the embedded default, one worker, local blobs
    several = Registry.open(make_settings(tmp_path / "several", workers=2))
    try:
        assert several.inline_writes is False  # another process may hold SQLite's lock
    finally:
        several.close()


def test_writer_busy_tells_whether_a_write_holds_the_lock(registry: Registry) -> None:
    if registry.db.engine.dialect.name != "sqlite":
        assert registry.db.writer_busy() is False  # PostgreSQL: no lock of this process
        return
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with registry.db.write(LOCAL_ADMIN, Permission.READ, None):
            holding.set()
            release.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    assert holding.wait(10)
    try:
        assert registry.db.writer_busy() is True
    finally:
        release.set()
        worker.join(10)
    assert registry.db.writer_busy() is False


def test_a_token_revoked_by_another_process_is_refused_on_the_kept_connection(
    settings_pair: tuple[Registry, Registry],
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
def settings_pair(registry: Registry) -> Iterator[tuple[Registry, Registry]]:
    twin = Registry.open(registry.settings, migrate_schema=False)
    yield registry, twin
    twin.close()

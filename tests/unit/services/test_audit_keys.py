"""The checkpoint keys of several processes of one registry (one database): each signs with the
key the log puts in force or not at all, a rotation hands over through the files beside the
key file, and rotations queue rather than fork the chain."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn import errors
from cairn.domain.audit_keys import ROTATE_ACTION
from cairn.services.audit import KeyRing
from cairn.services.auth import LOCAL_ADMIN
from cairn.services.container import Services


def _process(services: Services, key_file: Path) -> Services:
    """Another server process over the same database and blobs, with its own key file."""
    return Services(services.settings, services.db, services.blob_store, KeyRing.open(key_file))


def test_a_process_with_another_key_signs_nothing(services: Services, tmp_path: Path) -> None:
    services.namespaces.create(LOCAL_ADMIN, "risk")
    signed = services.audit.sequence()
    assert signed is not None and signed.key_id == services.audit.keys.first.key_id
    stray = _process(services, tmp_path / "another-key")
    stray.namespaces.create(LOCAL_ADMIN, "fraud")
    assert stray.audit.sequence() == signed  # it cannot sign with the key in force
    latest = services.audit.sequence()  # the process holding it can
    assert latest is not None and latest.size > signed.size
    assert latest.key_id == signed.key_id


def test_another_process_reads_the_rotated_key_from_the_shared_folder(
    services: Services,
) -> None:
    key_file = services.settings.effective_audit_key_file
    other = _process(services, key_file)  # same file: it holds the first key too
    services.namespaces.create(LOCAL_ADMIN, "risk")
    rotation = services.audit.rotate_key(LOCAL_ADMIN)
    handover = services.audit.sequence()
    assert handover is not None and handover.size == rotation.index + 1
    assert handover.key_id == rotation.previous_key_id
    other.namespaces.create(LOCAL_ADMIN, "fraud")
    latest = other.audit.sequence()
    assert latest is not None and latest.key_id == rotation.key_id
    assert not list(key_file.parent.glob(key_file.name + ".*"))  # settled: one key file


def test_a_rotation_must_be_endorsed_by_a_key_the_process_holds(
    services: Services, tmp_path: Path
) -> None:
    services.namespaces.create(LOCAL_ADMIN, "risk")
    services.audit.sequence()
    stray = _process(services, tmp_path / "another-key")
    with pytest.raises(errors.ConfigError, match="CAIRN_AUDIT_KEY_FILE"):
        stray.audit.rotate_key(LOCAL_ADMIN)
    assert services.audit.entries(LOCAL_ADMIN, action=ROTATE_ACTION) == []
    assert not list(tmp_path.glob("another-key.*"))  # the unannounced key was removed


def test_rotations_form_one_chain(services: Services) -> None:
    first = services.audit.rotate_key(LOCAL_ADMIN)
    second = services.audit.rotate_key(LOCAL_ADMIN)
    chain = services.audit.key_chain(LOCAL_ADMIN)
    assert [k["key_id"] for k in chain] == [
        first.previous_key_id,
        first.key_id,
        second.key_id,
    ]
    assert second.previous_key_id == first.key_id
    assert [k["index"] for k in chain] == [None, first.index, second.index]

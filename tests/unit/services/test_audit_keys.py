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
from cairn.services.registry import Registry


def _process(registry: Registry, key_file: Path) -> Registry:
    """Another server process over the same database and blobs, with its own key file."""
    return Registry(registry.settings, registry.db, registry.blob_store, KeyRing.open(key_file))


def test_a_process_with_another_key_signs_nothing(registry: Registry, tmp_path: Path) -> None:
    registry.namespaces.create(LOCAL_ADMIN, "risk")
    signed = registry.audit.sequence()
    assert signed is not None and signed.key_id == registry.audit.keys.first.key_id
    stray = _process(registry, tmp_path / "another-key")
    stray.namespaces.create(LOCAL_ADMIN, "fraud")
    assert stray.audit.sequence() == signed  # it cannot sign with the key in force
    latest = registry.audit.sequence()  # the process holding it can
    assert latest is not None and latest.size > signed.size
    assert latest.key_id == signed.key_id


def test_another_process_reads_the_rotated_key_from_the_shared_folder(
    registry: Registry,
) -> None:
    key_file = registry.settings.effective_audit_key_file
    other = _process(registry, key_file)  # same file: it holds the first key too
    registry.namespaces.create(LOCAL_ADMIN, "risk")
    rotation = registry.audit.rotate_key(LOCAL_ADMIN)
    handover = registry.audit.sequence()
    assert handover is not None and handover.size == rotation.index + 1
    assert handover.key_id == rotation.previous_key_id
    other.namespaces.create(LOCAL_ADMIN, "fraud")
    latest = other.audit.sequence()
    assert latest is not None and latest.key_id == rotation.key_id
    assert not list(key_file.parent.glob(key_file.name + ".*"))  # settled: one key file


def test_a_rotation_must_be_endorsed_by_a_key_the_process_holds(
    registry: Registry, tmp_path: Path
) -> None:
    registry.namespaces.create(LOCAL_ADMIN, "risk")
    registry.audit.sequence()
    stray = _process(registry, tmp_path / "another-key")
    with pytest.raises(errors.ConfigError, match="CAIRN_AUDIT_KEY_FILE"):
        stray.audit.rotate_key(LOCAL_ADMIN)
    assert registry.audit.entries(LOCAL_ADMIN, action=ROTATE_ACTION) == []
    assert not list(tmp_path.glob("another-key.*"))  # the unannounced key was removed


def test_rotations_form_one_chain(registry: Registry) -> None:
    first = registry.audit.rotate_key(LOCAL_ADMIN)
    second = registry.audit.rotate_key(LOCAL_ADMIN)
    chain = registry.audit.key_chain(LOCAL_ADMIN)
    assert [k["key_id"] for k in chain] == [
        first.previous_key_id,
        first.key_id,
        second.key_id,
    ]
    assert second.previous_key_id == first.key_id
    assert [k["index"] for k in chain] == [None, first.index, second.index]

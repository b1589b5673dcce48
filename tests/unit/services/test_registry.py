"""The services called directly, with no HTTP in between: every mutation checks its permission
before anything is written, and a refused or failed mutation leaves no audit entry."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from cairn import errors
from cairn.domain.manifest import FileEntry, Manifest
from cairn.domain.references import Reference
from cairn.domain.registrations import Registration, VersionMetadata
from cairn.services.auth import ANONYMOUS, LOCAL_ADMIN, Actor, Role
from cairn.services.container import Services
from cairn.storage.sql.tables import audit_log, metadata

BLOB = b"weights"
DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
OTHER = b"other weights"
OTHER_DIGEST = "sha256:" + hashlib.sha256(OTHER).hexdigest()
BODY = Registration(Manifest((FileEntry("w.bin", len(BLOB), DIGEST),)))
V1 = Reference("default", "m", number=1)

READER = Actor("r", roles={"default": frozenset({Role.READER})})
WRITER = Actor("w", roles={"default": frozenset({Role.WRITER})})
DEPLOYER = Actor("d", roles={"default": frozenset({Role.DEPLOYER})})
ELSEWHERE = Actor("x", roles={"risk": frozenset({Role.ADMIN})})

Attempt = Callable[[Services, Actor], object]

# Every mutation a service offers, run against the model "default/m" (version 1, aliased @prod).
MUTATIONS: dict[str, Attempt] = {
    "create namespace": lambda svc, a: svc.namespaces.create(a, "team"),
    "set required fields": lambda svc, a: svc.namespaces.set_required_fields(a, "default", []),
    "register a new model": lambda svc, a: svc.versions.register(a, "default", "n", BODY),
    "create model": lambda svc, a: svc.models.create(a, "default", "o", {}),
    "update model": lambda svc, a: svc.models.update(a, "default", "m", {"description": "x"}),
    "delete model": lambda svc, a: svc.models.delete(a, "default", "m"),
    "tag model": lambda svc, a: svc.models.set_tag(a, "default", "m", "k", "v"),
    "untag model": lambda svc, a: svc.models.delete_tag(a, "default", "m", "team"),
    "register": lambda svc, a: svc.versions.register(a, "default", "m", BODY),
    "update version": lambda svc, a: svc.versions.update(a, V1, {"description": "x"}),
    "delete version": lambda svc, a: svc.versions.delete(a, V1),
    "tag version": lambda svc, a: svc.versions.set_tag(a, V1, "k", "v"),
    "untag version": lambda svc, a: svc.versions.delete_tag(a, V1, "stage"),
    "set alias": lambda svc, a: svc.aliases.set(a, "default", "m", "champion", 1),
    "delete alias": lambda svc, a: svc.aliases.delete(a, "default", "m", "prod"),
    "put blob": lambda svc, a: svc.blobs.put(a, "default", [OTHER], OTHER_DIGEST, len(OTHER)),
    "start upload": lambda svc, a: svc.blobs.start_upload(a, "default"),
}
# The mutations a writer may not make: the permission and namespace the refusal names.
BEYOND_WRITER = {
    "create namespace": ("admin", "*"),  # namespaces are made above any one: a global role
    "set required fields": ("admin", "default"),
    "delete model": ("admin", "default"),
    "delete version": ("admin", "default"),
    "set alias": ("deploy", "default"),
    "delete alias": ("deploy", "default"),
}
# What each mutation a writer may make appends to the audit log, in MUTATIONS order.
WRITER_AUDIT = {
    "register a new model": [("model.create", "default/n"), ("version.register", "default/n:1")],
    "create model": [("model.create", "default/o")],
    "update model": [("model.update", "default/m")],
    "tag model": [("model.tag", "default/m")],
    "untag model": [("model.untag", "default/m")],
    "register": [("version.register", "default/m:2")],
    "update version": [("version.update", "default/m:1")],
    "tag version": [("version.tag", "default/m:1")],
    "untag version": [("version.untag", "default/m:1")],
    "put blob": [],  # blob bytes are content, not registry state
    "start upload": [],
}
# Every table's row count in one round trip.
COUNT_ROWS = select(
    *(
        select(func.count()).select_from(table).scalar_subquery().label(table.name)
        for table in metadata.sorted_tables
    )
)


@pytest.fixture
def svc(services: Services) -> Services:
    """A registry holding default/m:1, tagged (model: team, version: stage) and aliased @prod."""
    services.blobs.put(LOCAL_ADMIN, "default", [BLOB], DIGEST, len(BLOB))
    services.models.create(LOCAL_ADMIN, "default", "m", {"tags": {"team": "a"}})
    tagged = replace(BODY, metadata=VersionMetadata(tags={"stage": "dev"}))
    services.versions.register(LOCAL_ADMIN, "default", "m", tagged)
    services.aliases.set(LOCAL_ADMIN, "default", "m", "prod", 1)
    return services


def _rows(svc: Services) -> dict[str, int]:
    with svc.db.engine.connect() as conn:
        return dict(conn.execute(COUNT_ROWS).mappings().one())


def _audit(svc: Services) -> list[tuple[str, str, str]]:
    query = select(audit_log.c.actor, audit_log.c.action, audit_log.c.subject)
    with svc.db.engine.connect() as conn:
        return [
            (r.actor, r.action, r.subject) for r in conn.execute(query.order_by(audit_log.c.id))
        ]


def _refused(
    svc: Services, attempt: Attempt, actor: Actor, expected: type[errors.CairnError]
) -> errors.CairnError:
    """Run ``attempt`` as ``actor``: it raises exactly ``expected`` and writes nothing at all."""
    before = _rows(svc)
    with pytest.raises(errors.CairnError) as raised:
        attempt(svc, actor)
    assert type(raised.value) is expected, repr(raised.value)
    assert _rows(svc) == before
    return raised.value


def test_a_reader_may_change_nothing(svc: Services) -> None:
    for name, attempt in MUTATIONS.items():
        denied = _refused(svc, attempt, READER, errors.PermissionDenied)
        assert denied.details["permission"] == BEYOND_WRITER.get(name, ("write",))[0], name
    # What the reader may do, reading, it can, and what it reads is unchanged.
    latest = svc.versions.get(READER, Reference("default", "m"))
    assert (latest.number, latest.aliases, latest.tags) == (1, ["prod"], {"stage": "dev"})


def test_an_admin_of_another_namespace_may_change_nothing_here(svc: Services) -> None:
    for name, attempt in MUTATIONS.items():
        if name in {"put blob", "start upload"}:
            continue  # blobs belong to no namespace: a writer's role anywhere reaches them
        denied = _refused(svc, attempt, ELSEWHERE, errors.PermissionDenied)
        expected = "*" if name == "create namespace" else "default"
        assert denied.details["namespace"] == expected, name
    _refused(svc, lambda r, a: r.versions.get(a, V1), ELSEWHERE, errors.PermissionDenied)


def test_an_anonymous_caller_must_sign_in(svc: Services) -> None:
    for name, attempt in MUTATIONS.items():
        refused = _refused(svc, attempt, ANONYMOUS, errors.Unauthenticated)
        needed = BEYOND_WRITER.get(name, ("write",))[0]
        assert refused.details["permission"] == needed, name
    refused = _refused(svc, lambda r, a: r.versions.get(a, V1), ANONYMOUS, errors.Unauthenticated)
    assert refused.details["permission"] == "read"
    _refused(svc, lambda r, a: r.namespaces.all(a), ANONYMOUS, errors.Unauthenticated)


def test_a_writer_may_not_deploy_nor_delete(svc: Services) -> None:
    for name, (permission, namespace) in BEYOND_WRITER.items():
        denied = _refused(svc, MUTATIONS[name], WRITER, errors.PermissionDenied)
        assert denied.details == {"permission": permission, "namespace": namespace}, name
    # A deployer may move aliases, but still not delete.
    assert svc.aliases.set(DEPLOYER, "default", "m", "champion", 1).aliases == ["champion", "prod"]
    _refused(svc, MUTATIONS["delete version"], DEPLOYER, errors.PermissionDenied)
    _refused(svc, MUTATIONS["delete model"], DEPLOYER, errors.PermissionDenied)


def test_a_writer_registers_and_tags_and_each_mutation_audits_once(svc: Services) -> None:
    for name, expected in WRITER_AUDIT.items():
        before = _audit(svc)
        MUTATIONS[name](svc, WRITER)
        assert _audit(svc)[len(before) :] == [("w", *entry) for entry in expected], name
    assert svc.versions.get(READER, Reference("default", "m")).author == "w"


FAILURES: list[tuple[Attempt, type[errors.CairnError]]] = [
    (lambda r, a: r.models.create(a, "default", "M", {}), errors.ModelExists),
    (lambda r, a: r.models.delete(a, "default", "m"), errors.ModelNotEmpty),
    (lambda r, a: r.versions.delete(a, V1), errors.VersionInUse),
    (lambda r, a: r.namespaces.create(a, "Default"), errors.NamespaceExists),
    (lambda r, a: r.aliases.set(a, "default", "m", "prod", 7), errors.VersionNotFound),
    (lambda r, a: r.aliases.set(a, "default", "m", "prod", 2**40), errors.VersionNotFound),
    (lambda r, a: r.aliases.delete(a, "default", "m", "ghost"), errors.AliasNotFound),
    (lambda r, a: r.versions.set_tag(a, V1, "bad=key", "v"), errors.InvalidName),
    (lambda r, a: r.versions.delete_tag(a, V1, "bad\x00key"), errors.InvalidName),
    (lambda r, a: r.models.delete_tag(a, "default", "m", "bad\x00key"), errors.InvalidName),
    (lambda r, a: r.models.update(a, "default", "ghost", {}), errors.ModelNotFound),
    (lambda r, a: r.versions.update(a, V1, {"state": "production"}), errors.InvalidMetadata),
    (
        lambda r, a: r.versions.register(a, "default", "m", _files(OTHER_DIGEST)),
        errors.MissingBlobs,
    ),
    (
        lambda r, a: r.versions.register(a, "default", "n", _files(DIGEST, 9)),
        errors.SizeMismatch,
    ),
    (lambda r, a: r.blobs.put(a, "default", [b"lies"], OTHER_DIGEST, 4), errors.DigestMismatch),
    (lambda r, a: r.blobs.upload_status(a, "default", "../../etc"), errors.UploadNotFound),
    (lambda r, a: r.blobs.cancel(a, "default", "a\x00b"), errors.UploadNotFound),
]


def _files(digest: str, size: int = 1) -> Registration:
    return Registration(Manifest((FileEntry("x", size, digest),)))


def test_a_failed_mutation_leaves_no_trace(svc: Services) -> None:
    before = _audit(svc)
    for attempt, expected in FAILURES:
        _refused(svc, attempt, LOCAL_ADMIN, expected)
    assert _audit(svc) == before

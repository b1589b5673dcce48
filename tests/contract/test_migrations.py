"""Schema changes go only through Alembic: an empty database upgraded to head matches the
tables exactly, on SQLite and on PostgreSQL, and SQLite is opened for durability."""

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from cairn.errors import ConfigError
from cairn.storage.sql import migrate
from cairn.storage.sql.engine import open_engine
from cairn.storage.sql.identity import IdentityRows
from cairn.storage.sql.lineage import LineageRows
from cairn.storage.sql.tables import (
    aliases,
    audit_log,
    blob_links,
    blobs,
    metadata,
    models,
    namespaces,
    oci_blob_refs,
    oci_manifests,
    principals,
    role_grants,
    tokens,
    version_files,
    version_parents,
    versions,
)


def test_an_empty_database_upgrades_to_head_with_no_drift(empty_database_url: str) -> None:
    engine = open_engine(empty_database_url)
    try:
        assert migrate.current(engine) is None
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.head()
        migrate.check(engine)  # raises on any difference between migrations and tables
        assert set(inspect(engine).get_table_names()) >= {t.name for t in metadata.sorted_tables}
        migrate.upgrade(engine)  # a second upgrade is a no-op
        assert migrate.current(engine) == migrate.head()
    finally:
        engine.dispose()


def test_check_refuses_a_database_that_is_not_at_head(empty_database_url: str) -> None:
    engine = open_engine(empty_database_url)
    try:
        with pytest.raises(ConfigError, match="not at head"):
            migrate.check(engine)
    finally:
        engine.dispose()


def test_check_notices_a_schema_changed_behind_alembics_back(empty_database_url: str) -> None:
    engine = open_engine(empty_database_url)
    try:
        migrate.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("CREATE INDEX ix_sneaky ON versions (description)"))
        with pytest.raises(ConfigError, match="differs"):
            migrate.check(engine)
    finally:
        engine.dispose()


def test_sqlite_is_opened_in_wal_mode_with_full_sync_and_foreign_keys(tmp_path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "mysql://root@localhost/x", "not a url"]
)
def test_unsupported_database_urls_are_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(ConfigError, match="CAIRN_DATABASE_URL"):
        open_engine(url)


def test_role_grants_become_sets_keeping_every_existing_grant(empty_database_url: str) -> None:
    """0011: grants made when a principal held one role per namespace are carried over, a
    second role in the same namespace can then be added (the same one twice cannot), and a
    downgrade keeps one role per namespace and per token scope."""
    engine = open_engine(empty_database_url)
    now = datetime.now(UTC)
    try:
        migrate.upgrade(engine, "0010")
        with engine.begin() as conn:
            same = {"kind": "user", "description": "", "disabled": False}
            conn.execute(
                insert(principals),
                [
                    {"id": i, "name": n, "key": n, "created_by": "t", "created_at": now, **same}
                    for i, n in [(1, "alice"), (2, "bob")]
                ],
            )
            conn.execute(
                insert(role_grants),
                [
                    {"principal_id": 1, "namespace": "risk", "role": "writer"},
                    {"principal_id": 1, "namespace": "*", "role": "reader"},
                    {"principal_id": 2, "namespace": "risk", "role": "approver"},
                ],
            )
        migrate.upgrade(engine)
        with engine.begin() as conn:
            assert IdentityRows(conn).grants(1) == {"*": ["reader"], "risk": ["writer"]}
            assert IdentityRows(conn).grant(1, "risk", "approver")
            assert not IdentityRows(conn).grant(1, "risk", "approver")
            assert IdentityRows(conn).grants(1)["risk"] == ["approver", "writer"]
            assert IdentityRows(conn).grants(2) == {"risk": ["approver"]}
            conn.execute(
                insert(tokens).values(
                    token_id="t1",
                    principal_id=1,
                    name="ci",
                    secret_hash="x",
                    scopes={"risk": ["approver", "writer"], "*": ["reader"]},
                    created_by="t",
                    created_at=now,
                )
            )
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(
                insert(role_grants).values(principal_id=1, namespace="risk", role="writer")
            )
        migrate.downgrade(engine, "0010")
        with engine.begin() as conn:
            grants = select(role_grants.c.principal_id, role_grants.c.namespace, role_grants.c.role)
            rows = conn.execute(grants).all()
            scopes = conn.execute(select(tokens.c.scopes)).scalar_one()
        assert sorted(rows) == [(1, "*", "reader"), (1, "risk", "writer"), (2, "risk", "approver")]
        assert scopes == {"risk": "approver", "*": "reader"}
    finally:
        engine.dispose()


def test_declared_parents_are_resolved_for_versions_registered_before_lineage(
    empty_database_url: str,
) -> None:
    """0014: the parents versions declared before lineage had rows get them, resolved by
    number or alias (an unknown or malformed reference stays unresolved)."""
    engine = open_engine(empty_database_url)
    now = datetime.now(UTC)
    try:
        migrate.upgrade(engine, "0013")
        with engine.begin() as conn:
            conn.execute(
                insert(namespaces).values(id=1, name="default", key="default", created_at=now)
            )
            conn.execute(
                insert(models),
                [
                    {"id": m, "namespace_id": 1, "name": n, "key": n, "next_number": 3}
                    | {"created_at": now, "updated_at": now}
                    for m, n in [(1, "base"), (2, "child")]
                ],
            )
            conn.execute(
                insert(versions),
                [
                    _version_row(1, 1, 1, {}, now),
                    _version_row(2, 1, 2, {}, now),
                    _version_row(
                        3,
                        2,
                        1,
                        {
                            "parents": [
                                {"ref": "default/base:1", "relation": "distilled_from"},
                                {"ref": "base@best"},
                                {"ref": "default/base:9"},
                                {"ref": "not a reference"},
                            ]
                        },
                        now,
                    ),
                ],
            )
            conn.execute(
                insert(aliases).values(
                    model_id=1, name="best", version_id=2, updated_by="t", updated_at=now
                )
            )
        migrate.upgrade(engine)
        with engine.begin() as conn:
            query = select(
                version_parents.c.version_id,
                version_parents.c.parent_id,
                version_parents.c.ref,
                version_parents.c.relation,
            ).order_by(version_parents.c.id)
            assert [tuple(r) for r in conn.execute(query).all()] == [
                (3, 1, "default/base:1", "distilled_from"),
                (3, 2, "base@best", "derived_from"),
                (3, None, "default/base:9", "derived_from"),
                (3, None, "not a reference", "derived_from"),
            ]
            assert LineageRows(conn).with_children([1, 2, 3]) == {1, 2}
    finally:
        engine.dispose()


def test_aliases_made_before_they_kept_their_spelling_are_keyed_by_their_name(
    empty_database_url: str,
) -> None:
    """0020: an alias (and each move in its history) is unique under, and found by, its name
    lower-cased; every alias stored before was lower case, so its key is its name."""
    engine = open_engine(empty_database_url)
    now = datetime.now(UTC)
    try:
        migrate.upgrade(engine, "0019")
        with engine.begin() as conn:
            conn.execute(
                insert(namespaces).values(id=1, name="default", key="default", created_at=now)
            )
            conn.execute(
                insert(models).values(
                    id=1, namespace_id=1, name="m", key="m", next_number=2, created_at=now,
                    updated_at=now,
                )
            )  # fmt: skip
            conn.execute(insert(versions).values(**_version_row(1, 1, 1, {}, now)))
            conn.execute(
                text(
                    "INSERT INTO aliases (model_id, name, version_id, updated_by, updated_at) "
                    "VALUES (1, 'best', 1, 't', :now)"
                ),
                {"now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO alias_history (model_id, alias, action, version_id, number, "
                    "actor, at) VALUES (1, 'best', 'set', 1, 1, 't', :now)"
                ),
                {"now": now},
            )
        migrate.upgrade(engine)
        migrate.check(engine)
        with engine.begin() as conn:
            assert conn.execute(text("SELECT name, key FROM aliases")).all() == [("best", "best")]
            assert conn.execute(text("SELECT alias, key FROM alias_history")).all() == [
                ("best", "best")
            ]
            with pytest.raises(IntegrityError):  # one alias, whatever its spelling
                conn.execute(
                    insert(aliases).values(
                        model_id=1, name="BEST", key="best", version_id=1, updated_by="t",
                        updated_at=now,
                    )
                )  # fmt: skip
    finally:
        engine.dispose()


def test_namespaces_hold_the_blobs_they_named_and_entries_their_namespace(
    empty_database_url: str,
) -> None:
    """0015: each namespace is linked to the blobs its versions' files and its OCI manifests
    name (a blob nothing names belongs to none); 0016: entries get the namespace their subject
    starts with, except those above namespaces (and MLflow's, which name none)."""
    engine = open_engine(empty_database_url)
    now = datetime.now(UTC)
    a, b, c, d = ("sha256:" + x * 64 for x in "abcd")
    try:
        migrate.upgrade(engine, "0014")
        with engine.begin() as conn:
            conn.execute(
                insert(namespaces),
                [
                    {"id": 1, "name": "default", "key": "default", "created_at": now},
                    {"id": 2, "name": "Team_B", "key": "team-b", "created_at": now},
                ],
            )
            conn.execute(
                insert(models),
                [
                    {"id": m, "namespace_id": m, "name": n, "key": n, "next_number": 2}
                    | {"created_at": now, "updated_at": now}
                    for m, n in [(1, "m"), (2, "n")]
                ],
            )
            conn.execute(insert(versions), [_version_row(1, 1, 1, {}, now)])
            conn.execute(insert(versions), [_version_row(2, 2, 1, {}, now)])
            conn.execute(
                insert(blobs), [{"digest": x, "size": 1, "created_at": now} for x in (a, b, c, d)]
            )
            conn.execute(
                insert(version_files),
                [
                    {"version_id": v, "path": p, "size": 1, "digest": x}
                    for v, p, x in [(1, "w", a), (2, "w", a), (2, "x", b)]
                ],
            )
            conn.execute(
                insert(oci_manifests).values(
                    id=1,
                    model_id=2,
                    digest="sha256:" + "e" * 64,
                    media_type="application/vnd.oci.image.manifest.v1+json",
                    annotations={},
                    content=b"{}",
                    created_at=now,
                )
            )
            conn.execute(insert(oci_blob_refs).values(manifest_id=1, digest=c))
            conn.execute(
                insert(audit_log),
                [
                    {"at": now, "actor": "t", "action": action, "subject": subject}
                    | {"payload": {}, "leaf_hash": f"{n:064x}", "leaf_index": n}
                    for n, (action, subject) in enumerate(
                        [
                            ("version.register", "Team_B/n:1"),
                            ("key.add", "team_b"),
                            ("namespace.create", "team_b"),
                            ("role.grant", "principal/ann"),
                            ("mlflow.run.create", "0a1b"),
                            ("alias.set", "default/m@prod"),
                        ]
                    )
                ],
            )
        migrate.upgrade(engine)
        with engine.begin() as conn:
            links = select(blob_links.c.namespace_id, blob_links.c.digest)
            assert sorted(tuple(r) for r in conn.execute(links)) == [(1, a), (2, a), (2, b), (2, c)]
            entries = select(audit_log.c.namespace).order_by(audit_log.c.leaf_index)
            assert list(conn.execute(entries).scalars()) == [
                "team-b",
                "team-b",
                None,
                None,
                None,
                "default",
            ]
    finally:
        engine.dispose()


def _version_row(
    version_id: int, model_id: int, number: int, provenance: dict[str, Any], now: datetime
) -> dict[str, Any]:
    return {
        "id": version_id,
        "model_id": model_id,
        "number": number,
        "manifest_digest": "sha256:" + "0" * 64,
        "size": 0,
        "file_count": 0,
        "state": "registered",
        "author": "alice",
        "provenance": provenance,
        "io_schema": {},
        "metrics": {},
        "params": {},
        "completeness": 0.5,
        "missing_fields": [],
        "created_at": now,
        "updated_at": now,
    }


def test_the_database_each_test_is_given_is_at_head_with_no_drift(database_url: str) -> None:
    """The tests run on copies of a template migrated once per test process: the copy is what
    an empty database upgraded to head would be."""
    engine = open_engine(database_url)
    try:
        migrate.check(engine)
        assert set(inspect(engine).get_table_names()) >= {t.name for t in metadata.sorted_tables}
    finally:
        engine.dispose()

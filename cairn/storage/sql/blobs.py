"""Rows of blobs known to be durable in the blob store, of the namespaces linked to them, and
of upload sessions.

A blob's ``created_at`` is when it was last uploaded: the garbage collector's grace period runs
from it, so a blob uploaded again just before a version names it is not collected meanwhile.
Namespaces are named by their canonical key; a link names the namespace's id, found from the
key inside the same statement.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, exists, insert, literal, select, update

from cairn.domain.records import UploadSession
from cairn.storage.sql.rows import batches, insert_ignore_from, upsert
from cairn.storage.sql.tables import (
    blob_links,
    blobs,
    mlflow_artifacts,
    namespaces,
    oci_blob_refs,
    upload_sessions,
    version_files,
)

_SIZES = select(blobs.c.digest, blobs.c.size).where(
    blobs.c.digest.in_(bindparam("digests", expanding=True))
)
# One digest (the usual registration) binds as it is: an expanding list is rendered into the
# statement anew on every execution.
_SIZE = select(blobs.c.digest, blobs.c.size).where(blobs.c.digest == bindparam("digests"))
# What a foreign key check takes on PostgreSQL: enough to keep the row from being deleted.
_QUERIES = {
    (False, False): _SIZES,
    (False, True): _SIZES.with_for_update(read=True, key_share=True),
    (True, False): _SIZE,
    (True, True): _SIZE.with_for_update(read=True, key_share=True),
}
_NAMESPACE_ID = select(namespaces.c.id).where(namespaces.c.key == bindparam("ns")).scalar_subquery()
_HELD = (
    select(blobs.c.digest, blobs.c.size)
    .join(blob_links, blob_links.c.digest == blobs.c.digest)
    .where(blob_links.c.namespace_id == _NAMESPACE_ID)
)
_HELD_MANY = _HELD.where(blobs.c.digest.in_(bindparam("digests", expanding=True)))
_HELD_ONE = _HELD.where(blobs.c.digest == bindparam("digests"))
_HELD_QUERIES = {
    (False, False): _HELD_MANY,
    (False, True): _HELD_MANY.with_for_update(read=True, key_share=True, of=blobs),
    (True, False): _HELD_ONE,
    (True, True): _HELD_ONE.with_for_update(read=True, key_share=True, of=blobs),
}
# A blob is referenced by a version's file, by an OCI manifest, or by a file logged through
# MLflow's tracking API (which a version may still be registered from).
_UNREFERENCED = (
    ~exists().where(version_files.c.digest == blobs.c.digest)
    & ~exists().where(oci_blob_refs.c.digest == blobs.c.digest)
    & ~exists().where(mlflow_artifacts.c.digest == blobs.c.digest)
)
_BATCH = 500


class BlobRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def sizes(self, digests: Iterable[str], *, hold: bool = False) -> dict[str, int]:
        """Size of each of ``digests`` that the registry holds. With ``hold``, PostgreSQL
        keeps those rows from being deleted (by the garbage collector) until the transaction
        ends, and waits for a deletion in progress, after which the row is not found."""
        found: dict[str, int] = {}
        for batch in batches(digests):
            one = len(batch) == 1
            rows = self.conn.execute(_QUERIES[one, hold], {"digests": batch[0] if one else batch})
            found.update({d: s for d, s in rows})
        return found

    def held(self, namespace: str, digests: Iterable[str], *, hold: bool = False) -> dict[str, int]:
        """Size of each of ``digests`` that namespace ``namespace`` (a key) holds: a blob the
        registry holds but no link gives the namespace is not in the answer. ``hold`` as in
        ``sizes``."""
        found: dict[str, int] = {}
        for batch in batches(digests):
            one = len(batch) == 1
            params = {"ns": namespace, "digests": batch[0] if one else batch}
            found.update({d: s for d, s in self.conn.execute(_HELD_QUERIES[one, hold], params)})
        return found

    def link(self, namespace: str, digests: Iterable[str], now: datetime) -> None:
        """Give namespace ``namespace`` (a key) the blobs ``digests``, whose rows exist; a link
        that exists already stays as it is."""
        for batch in batches(digests):
            rows = (
                select(namespaces.c.id, blobs.c.digest, literal(now, blobs.c.created_at.type))
                .select_from(namespaces.join(blobs, blobs.c.digest.in_(batch)))
                .where(namespaces.c.key == namespace)
            )
            insert_ignore_from(
                self.conn,
                blob_links,
                ["namespace_id", "digest", "created_at"],
                rows,
                ["namespace_id", "digest"],
            )

    def add(self, digest: str, size: int, now: datetime) -> None:
        """Record a blob, only after its bytes are durable in the blob store; recording it
        again moves its time to ``now``."""
        upsert(self.conn, blobs, {"digest": digest, "size": size, "created_at": now}, ["digest"])

    def unreferenced(
        self, before: datetime, after: str | None = None, limit: int = _BATCH
    ) -> list[tuple[str, int]]:
        """Digests and sizes of blobs uploaded before ``before`` that no version's file and no
        OCI manifest names, in digest order, starting after ``after``."""
        query = select(blobs.c.digest, blobs.c.size).where(
            blobs.c.created_at < before, _UNREFERENCED
        )
        if after is not None:
            query = query.where(blobs.c.digest > after)
        rows = self.conn.execute(query.order_by(blobs.c.digest).limit(limit))
        return [(digest, size) for digest, size in rows]

    def delete_unreferenced(
        self, digests: Iterable[str], before: datetime
    ) -> list[tuple[str, int]]:
        """Delete the rows of ``digests`` that are, at this moment, still unreferenced and
        uploaded before ``before``; return the digests and sizes deleted.

        On PostgreSQL the rows are locked first, skipping any another transaction holds: a
        registration inserting a file that names the blob (its foreign key check holds the
        row), another collector, an upload recording the blob again. The DELETE then runs as
        a new statement, so its re-check sees every reference committed before the locks were
        taken, and none can be added until this transaction ends. SQLite has one writer at a
        time, so there the re-check alone decides.
        """
        deleted: list[tuple[str, int]] = []
        for batch in batches(digests, _BATCH):
            lock = select(blobs.c.digest).where(blobs.c.digest.in_(batch))
            held = list(self.conn.execute(lock.with_for_update(skip_locked=True)).scalars())
            if not held:
                continue
            statement = (
                delete(blobs)
                .where(blobs.c.digest.in_(held), blobs.c.created_at < before, _UNREFERENCED)
                .returning(blobs.c.digest, blobs.c.size)
            )
            deleted.extend((digest, size) for digest, size in self.conn.execute(statement))
        return deleted


class UploadRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def create(
        self, session_id: str, namespace_id: int, actor: str, now: datetime, expires: datetime
    ) -> UploadSession:
        self.conn.execute(
            insert(upload_sessions).values(
                id=session_id,
                offset=0,
                created_by=actor,
                namespace_id=namespace_id,
                created_at=now,
                updated_at=now,
                expires_at=expires,
            )
        )
        return UploadSession(session_id, 0, actor, now, expires)

    def get(self, session_id: str, namespace: str, *, lock: bool = False) -> UploadSession | None:
        """The session, if it was opened in namespace ``namespace`` (a key): another
        namespace's session is not found, as an unknown one."""
        query = select(upload_sessions).where(
            upload_sessions.c.id == session_id,
            upload_sessions.c.namespace_id == _NAMESPACE_ID,
        )
        if lock:
            query = query.with_for_update()
        row = self.conn.execute(query, {"ns": namespace}).mappings().first()
        if row is None:
            return None
        return UploadSession(
            row["id"], row["offset"], row["created_by"], row["created_at"], row["expires_at"]
        )

    def advance(self, session_id: str, offset: int, now: datetime, expires: datetime) -> None:
        self.conn.execute(
            update(upload_sessions)
            .where(upload_sessions.c.id == session_id)
            .values(offset=offset, updated_at=now, expires_at=expires)
        )

    def delete(self, session_id: str) -> None:
        self.conn.execute(delete(upload_sessions).where(upload_sessions.c.id == session_id))

    def expired(self, now: datetime, limit: int = 1000) -> list[str]:
        query = select(upload_sessions.c.id).where(upload_sessions.c.expires_at < now).limit(limit)
        return list(self.conn.execute(query).scalars())

"""Rows of OCI manifests (exact bytes) and of the blobs each one names."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.engine import RowMapping

from cairn.domain.records import OciManifest
from cairn.storage.sql.rows import insert_ignore, insert_new
from cairn.storage.sql.tables import oci_blob_refs, oci_manifests


class OciRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def by_digest(self, model_id: int, digest: str) -> OciManifest | None:
        query = select(oci_manifests).where(
            oci_manifests.c.model_id == model_id, oci_manifests.c.digest == digest
        )
        row = self.conn.execute(query).mappings().first()
        return _record(row) if row else None

    def by_role(self, version_id: int, role: str) -> OciManifest | None:
        query = select(oci_manifests).where(
            oci_manifests.c.version_id == version_id, oci_manifests.c.role == role
        )
        row = self.conn.execute(query).mappings().first()
        return _record(row) if row else None

    def add(self, values: dict[str, Any], blob_digests: list[str], now: datetime) -> OciManifest:
        """Store a manifest unless the model holds one with its digest already (then that
        one is returned: same digest, same bytes), with the blobs it names."""
        row = insert_new(
            self.conn, oci_manifests, {**values, "created_at": now}, ["model_id", "digest"]
        )
        if row is None:
            found = self.by_digest(values["model_id"], values["digest"])
            if found is None:
                raise LookupError("a manifest that conflicted on insert is gone")
            return found
        refs = [{"manifest_id": row["id"], "digest": d} for d in dict.fromkeys(blob_digests)]
        insert_ignore(self.conn, oci_blob_refs, refs, ["manifest_id", "digest"])
        return _record(row)

    def claim(self, manifest_id: int, version_id: int, role: str) -> OciManifest:
        """Make a stored manifest the ``role`` manifest of a version."""
        self.conn.execute(
            update(oci_manifests)
            .where(oci_manifests.c.id == manifest_id)
            .values(version_id=version_id, role=role)
        )
        row = (
            self.conn.execute(select(oci_manifests).where(oci_manifests.c.id == manifest_id))
            .mappings()
            .one()
        )
        return _record(row)

    def referrers(self, model_id: int, subject: str) -> list[OciManifest]:
        query = (
            select(oci_manifests)
            .where(oci_manifests.c.model_id == model_id, oci_manifests.c.subject == subject)
            .order_by(oci_manifests.c.id)
        )
        return [_record(r) for r in self.conn.execute(query).mappings()]


def _record(row: RowMapping) -> OciManifest:
    return OciManifest(
        id=row["id"],
        model_id=row["model_id"],
        digest=row["digest"],
        media_type=row["media_type"],
        artifact_type=row["artifact_type"],
        subject=row["subject"],
        annotations=row["annotations"],
        content=bytes(row["content"]),
        version_id=row["version_id"],
        role=row["role"],
    )

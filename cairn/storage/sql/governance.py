"""Rows of policies (versioned), approval requests with their approvals, and deployments."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from cairn.domain.records import Approval, ApprovalRequest, Deployment, PolicyRevision
from cairn.storage.sql.tables import (
    approval_requests,
    approvals,
    deployments,
    models,
    namespaces,
    policies,
    versions,
)

_REF_COLUMNS = (
    namespaces.c.name.label("ref_namespace"),
    models.c.name.label("ref_model"),
    versions.c.number.label("ref_number"),
)
_OF_VERSION = versions.join(models, models.c.id == versions.c.model_id).join(
    namespaces, namespaces.c.id == models.c.namespace_id
)


class PolicyRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def current(self, namespace_id: int, model_id: int | None) -> PolicyRevision | None:
        """The newest revision of the namespace's policy (``model_id`` None) or the model's."""
        model_clause = (
            policies.c.model_id.is_(None) if model_id is None else policies.c.model_id == model_id
        )
        query = (
            select(policies, namespaces.c.name.label("namespace_name"), models.c.name.label("m"))
            .join(namespaces, namespaces.c.id == policies.c.namespace_id)
            .outerjoin(models, models.c.id == policies.c.model_id)
            .where(policies.c.namespace_id == namespace_id, model_clause)
            .order_by(policies.c.revision.desc())
            .limit(1)
        )
        row = self.conn.execute(query).mappings().first()
        if row is None:
            return None
        return PolicyRevision(
            namespace=row["namespace_name"],
            model=row["m"],
            revision=row["revision"],
            document=row["document"],
            created_by=row["created_by"],
            created_at=row["created_at"],
        )

    def add(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(policies).values(**values))


class ApprovalRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def open_request(self, values: dict[str, Any]) -> int:
        query = insert(approval_requests).values(**values).returning(approval_requests.c.id)
        return int(self.conn.execute(query).scalar_one())

    def requests(
        self,
        *,
        request_id: int | None = None,
        version_id: int | None = None,
        target: str | None = None,
        status: str | None = None,
        namespace_id: int | None = None,
        lock: bool = False,
        namespace_ids: Collection[int] | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> list[ApprovalRequest]:
        """Requests oldest first; newest first when paged (``limit``: at most that many, of
        ids below ``before``, in ``namespace_ids``)."""
        order = approval_requests.c.id.desc() if limit is not None else approval_requests.c.id
        query = (
            select(approval_requests, *_REF_COLUMNS)
            .select_from(
                approval_requests.join(_OF_VERSION, versions.c.id == approval_requests.c.version_id)
            )
            .order_by(order)
            .limit(limit)
        )
        if namespace_ids is not None:
            query = query.where(namespaces.c.id.in_(list(namespace_ids)))
        if before is not None:
            query = query.where(approval_requests.c.id < before)
        for column, value in (
            (approval_requests.c.id, request_id),
            (approval_requests.c.version_id, version_id),
            (approval_requests.c.target, target),
            (approval_requests.c.status, status),
            (namespaces.c.id, namespace_id),
        ):
            if value is not None:
                query = query.where(column == value)
        if lock:
            query = query.with_for_update(of=approval_requests)
        rows = self.conn.execute(query).mappings().all()
        given = self._approvals([r["id"] for r in rows])
        return [
            ApprovalRequest(
                id=r["id"],
                ref=_ref(r),
                target=r["target"],
                manifest_digest=r["manifest_digest"],
                requested_by=r["requested_by"],
                reason=r["reason"],
                status=r["status"],
                created_at=r["created_at"],
                expires_at=r["expires_at"],
                closed_at=r["closed_at"],
                approvals=tuple(given.get(r["id"], [])),
            )
            for r in rows
        ]

    def _approvals(self, request_ids: list[int]) -> dict[int, list[Approval]]:
        if not request_ids:
            return {}
        query = (
            select(approvals)
            .where(approvals.c.request_id.in_(request_ids))
            .order_by(approvals.c.id)
        )
        found: dict[int, list[Approval]] = {}
        for r in self.conn.execute(query).mappings():
            found.setdefault(r["request_id"], []).append(
                Approval(
                    approver=r["approver"],
                    decision=r["decision"],
                    comment=r["comment"],
                    manifest_digest=r["manifest_digest"],
                    target=r["target"],
                    created_at=r["created_at"],
                )
            )
        return found

    def add_approval(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(approvals).values(**values))

    def close(self, request_id: int, status: str, at: datetime) -> None:
        query = update(approval_requests).where(approval_requests.c.id == request_id)
        self.conn.execute(query.values(status=status, closed_at=at))

    def expire(self, now: datetime) -> int:
        query = update(approval_requests).where(
            approval_requests.c.status == "open", approval_requests.c.expires_at <= now
        )
        return int(self.conn.execute(query.values(status="expired", closed_at=now)).rowcount)


class DeploymentRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, values: dict[str, Any]) -> int:
        query = insert(deployments).values(**values).returning(deployments.c.id)
        return int(self.conn.execute(query).scalar_one())

    def find(
        self,
        *,
        deployment_id: int | None = None,
        version_id: int | None = None,
        model_id: int | None = None,
        target: str | None = None,
        namespace_id: int | None = None,
        outcome: str | None = None,
        limit: int = 500,
        namespace_ids: Collection[int] | None = None,
        before: int | None = None,
    ) -> list[Deployment]:
        """Deployments, newest first (of ids below ``before``, in ``namespace_ids``)."""
        query = (
            select(deployments, *_REF_COLUMNS)
            .select_from(deployments.join(_OF_VERSION, versions.c.id == deployments.c.version_id))
            .order_by(deployments.c.id.desc())
            .limit(limit)
        )
        if namespace_ids is not None:
            query = query.where(namespaces.c.id.in_(list(namespace_ids)))
        if before is not None:
            query = query.where(deployments.c.id < before)
        for column, value in (
            (deployments.c.id, deployment_id),
            (deployments.c.version_id, version_id),
            (versions.c.model_id, model_id),
            (deployments.c.target, target),
            (namespaces.c.id, namespace_id),
            (deployments.c.outcome, outcome),
        ):
            if value is not None:
                query = query.where(column == value)
        return [
            Deployment(
                id=r["id"],
                ref=_ref(r),
                target=r["target"],
                strategy=r["strategy"],
                weight=r["weight"],
                outcome=r["outcome"],
                load_time_ms=r["load_time_ms"],
                alias=r["alias"],
                rollback_of=r["rollback_of"],
                time_to_rollback_ms=r["time_to_rollback_ms"],
                details=r["details"],
                recorded_by=r["recorded_by"],
                created_at=r["created_at"],
            )
            for r in self.conn.execute(query).mappings()
        ]


def _ref(r: Any) -> str:
    return f"{r['ref_namespace']}/{r['ref_model']}:{r['ref_number']}"

"""Rows of retention's plans: the deletions a round announced, that a later round may carry out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select

from cairn.storage.sql.rows import insert_ignore
from cairn.storage.sql.tables import retention_plans, versions


class RetentionPlanRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def of_model(self, model_id: int) -> dict[int, datetime]:
        """When each planned deletion of the model's versions was planned, by version id."""
        query = (
            select(retention_plans.c.version_id, retention_plans.c.planned_at)
            .join(versions, versions.c.id == retention_plans.c.version_id)
            .where(versions.c.model_id == model_id)
        )
        return {version_id: at for version_id, at in self.conn.execute(query).all()}

    def add(self, version_id: int, reason: str, at: datetime) -> None:
        # Two processes may plan the same round at once: the first plan stands.
        row = {"version_id": version_id, "reason": reason, "planned_at": at}
        insert_ignore(self.conn, retention_plans, [row], ["version_id"])

    def remove(self, version_ids: list[int]) -> None:
        if version_ids:
            query = delete(retention_plans).where(retention_plans.c.version_id.in_(version_ids))
            self.conn.execute(query)

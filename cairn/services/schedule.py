"""Housekeeping rounds shared by every server process: each round of a job runs in one
process, whichever claims it first, and the next is due ``every`` later (database clock)."""

from __future__ import annotations

from datetime import timedelta

from cairn.services.auth import EVERYWHERE, Actor, Permission
from cairn.services.uow import Database


class Schedule:
    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(self, actor: Actor, job: str, every: timedelta) -> bool:
        """Whether this process runs the round of ``job`` that is due now (if one is)."""
        with self.db.write(actor, Permission.ADMIN, EVERYWHERE) as uow:
            now = uow.now
            return uow.store.jobs.claim(job, now, now + every)

    def finished(self, actor: Actor, job: str) -> None:
        with self.db.write(actor, Permission.ADMIN, EVERYWHERE) as uow:
            uow.store.jobs.finished(job, uow.now)

"""Retention: which old versions a namespace's policy archives or deletes.

The policy's ``retention`` says ``archive_after_days`` (archive versions older than that) and
``keep_last`` (delete versions older than the newest N). Neither ever touches a version that an
alias names or that runs in a live deployment (its newest record on a target started or
succeeded); deletion also spares versions in production (rollback targets) and versions with a
deployment history (the history stays whole; they are archived instead). Deleting a version
leaves its blobs for ``cairn gc``. Every action is audited; a dry run lists them and writes
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from cairn.domain.records import Deployment, Model, Version
from cairn.services.aliases import remove_alias
from cairn.services.auth import EVERYWHERE, Actor, Permission
from cairn.services.policies import policy_for
from cairn.services.resolve import get_namespace
from cairn.services.uow import Database, UnitOfWork

PAGE = 1000


@dataclass(frozen=True, slots=True)
class RetentionAction:
    action: str  # archive | delete
    ref: str
    reason: str


class RetentionService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def apply(
        self, actor: Actor, namespace: str, *, dry_run: bool = False
    ) -> list[RetentionAction]:
        """Apply the namespace's retention rules to each of its models, one transaction per
        model; what was (or, dry, would be) done."""
        done: list[RetentionAction] = []
        with self.db.read(actor, namespace, Permission.ADMIN) as store:
            ns = get_namespace(store, namespace)
            model_ids = [m.id for m in store.models.page(None, None, 100_000, namespace_id=ns.id)]
        for model_id in model_ids:
            with self.db.write(actor, Permission.ADMIN, namespace) as uow:
                model = uow.store.models.get_by_id(model_id)
                actions = self._plan(uow, model)
                if not dry_run:
                    for action, version in actions:
                        self._act(uow, model, action, version)
                done.extend(a for a, _ in actions)
        return done

    def apply_everywhere(self, actor: Actor) -> int:
        """Housekeeping: apply retention in every namespace whose policy has some."""
        with self.db.read(actor, EVERYWHERE, Permission.ADMIN) as store:
            names = [ns.name for ns in store.namespaces.list()]
        return sum(len(self.apply(actor, name)) for name in names)

    def _plan(self, uow: UnitOfWork, model: Model) -> list[tuple[RetentionAction, Version]]:
        rules = policy_for(uow.store, model).retention
        if rules.keep_last is None and rules.archive_after_days is None:
            return []
        versions = uow.store.versions.page_of_model(model.id, None, 1_000_000)  # newest first
        history = uow.store.deployments.find(model_id=model.id, limit=1_000_000)
        live, deployed = _live(history), {d.ref for d in history}
        plan: list[tuple[RetentionAction, Version]] = []
        cutoff = (
            uow.now - timedelta(days=rules.archive_after_days) if rules.archive_after_days else None
        )
        for index, v in enumerate(versions):
            if v.aliases or v.ref in live:
                continue
            beyond = rules.keep_last is not None and index >= rules.keep_last
            if beyond and v.state != "production" and v.ref not in deployed:
                reason = f"older than the newest {rules.keep_last} versions"
                plan.append((RetentionAction("delete", v.ref, reason), v))
            elif cutoff and v.created_at < cutoff and v.state != "archived":
                reason = f"older than {rules.archive_after_days} days"
                plan.append((RetentionAction("archive", v.ref, reason), v))
        return plan

    @staticmethod
    def _act(uow: UnitOfWork, model: Model, action: RetentionAction, version: Version) -> None:
        if action.action == "delete":
            uow.store.versions.delete(version.id)
            uow.record("retention.delete", version.ref, reason=action.reason)
            return
        uow.store.versions.update(version.id, {"state": "archived", "updated_at": uow.now})
        for alias in version.aliases:  # none by the plan; kept for the invariant
            remove_alias(uow, model, alias, version.number)
        uow.record("retention.archive", version.ref, reason=action.reason, previous=version.state)


def _live(history: list[Deployment]) -> set[str]:
    """Versions whose newest record on some target says it runs there."""
    newest: dict[tuple[str, str], Deployment] = {}
    for d in history:  # newest first
        newest.setdefault((d.ref, d.target), d)
    return {ref for (ref, _), d in newest.items() if d.outcome in ("started", "succeeded")}

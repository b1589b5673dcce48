"""Retention: which old versions a namespace's policy archives and, only where it opts in,
deletes.

``archive_after_days`` archives versions older than that. ``keep_last`` N takes the versions
older than the newest N out of the way: it archives them, unless the policy says
``"delete": true``. Deletion never happens at once: the first round that finds a version to
delete only plans it (``retention.plan``, in the audit log and the event stream) and deletes
nothing; a round at least the grace period later (the policy's ``grace_hours``, else
``CAIRN_RETENTION_GRACE_HOURS``) deletes it (``retention.delete``) if it is still eligible, and a
planned version that stopped being eligible loses its plan (``retention.unplan``).

Never touched: a version an alias names, or that runs in a live deployment (its newest record
on a target started or succeeded). Never deleted, only archived: a version with any deployment
record (so the deployment history stays whole; that covers every deployment in any window) and
a version another version, in any namespace, declares as its parent. Never deleted nor
archived by ``keep_last``: a version in production (a rollback target). Deleting a version
leaves its blobs for ``cairn gc``. A dry run lists what a round would do and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cairn.domain.lifecycle import Retention
from cairn.domain.records import Deployment, Model, Version
from cairn.services.aliases import remove_alias
from cairn.services.auth import EVERYWHERE, Actor, Permission
from cairn.services.policies import policy_for
from cairn.services.resolve import get_model, get_namespace
from cairn.services.uow import Database, UnitOfWork


@dataclass(frozen=True, slots=True)
class RetentionAction:
    action: str  # archive | plan | delete | unplan
    ref: str
    reason: str


@dataclass(frozen=True, slots=True)
class _Step:
    action: RetentionAction
    version: Version


class RetentionService:
    def __init__(self, db: Database, grace_hours: float) -> None:
        self.db = db
        self.grace_hours = grace_hours

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
                found = uow.store.models.get_by_id(model_id)
                # One round at a time per model, whichever process runs it.
                model = get_model(uow.store, found.namespace, found.name, lock=True)
                steps = self._plan(uow, model)
                if not dry_run:
                    for step in steps:
                        self._act(uow, model, step)
                done.extend(s.action for s in steps)
        return done

    def apply_everywhere(self, actor: Actor) -> int:
        """Housekeeping: apply retention in every namespace whose policy has some."""
        with self.db.read(actor, EVERYWHERE, Permission.ADMIN) as store:
            names = [ns.name for ns in store.namespaces.list()]
        return sum(len(self.apply(actor, name)) for name in names)

    def _plan(self, uow: UnitOfWork, model: Model) -> list[_Step]:
        rules = policy_for(uow.store, model).retention
        plans = uow.store.retention.of_model(model.id)
        if rules.keep_last is None and rules.archive_after_days is None and not plans:
            return []
        versions = uow.store.versions.page_of_model(model.id, None, 1_000_000)  # newest first
        history = uow.store.deployments.find(model_id=model.id, limit=1_000_000)
        live, deployed = _live(history), {d.ref for d in history}
        older = versions[rules.keep_last :] if rules.keep_last is not None else []
        parents = uow.store.lineage.with_children(v.id for v in older) if rules.delete else set()
        cutoff = (
            uow.now - timedelta(days=rules.archive_after_days) if rules.archive_after_days else None
        )
        steps: list[_Step] = []
        doomed: list[Version] = []
        for index, v in enumerate(versions):
            if v.aliases or v.ref in live:
                continue
            beyond = rules.keep_last is not None and index >= rules.keep_last
            if beyond and v.state != "production":  # production: a rollback target
                if rules.delete and v.ref not in deployed and v.id not in parents:
                    doomed.append(v)
                    continue
                if v.state != "archived":
                    steps.append(_archive(v, f"older than the newest {rules.keep_last} versions"))
                    continue
            if cutoff and v.created_at < cutoff and v.state != "archived":
                steps.append(_archive(v, f"older than {rules.archive_after_days} days"))
        steps.extend(self._deletions(uow.now, rules, doomed, plans))
        eligible = {v.id for v in doomed}
        by_id = {v.id: v for v in versions}
        for version_id in sorted(set(plans) - eligible):
            reason = "no longer eligible for deletion"
            steps.append(
                _Step(RetentionAction("unplan", by_id[version_id].ref, reason), by_id[version_id])
            )
        return steps

    def _deletions(
        self, now: datetime, rules: Retention, doomed: list[Version], plans: dict[int, datetime]
    ) -> list[_Step]:
        """Plan what is not planned yet; delete what was planned at least the grace ago."""
        grace = timedelta(
            hours=self.grace_hours if rules.grace_hours is None else rules.grace_hours
        )
        reason = f"older than the newest {rules.keep_last} versions"
        steps: list[_Step] = []
        for v in doomed:
            planned_at = plans.get(v.id)
            if planned_at is None:
                when = (now + grace).isoformat(timespec="seconds")
                steps.append(
                    _Step(RetentionAction("plan", v.ref, f"{reason}; to be deleted from {when}"), v)
                )
            elif planned_at <= now - grace:
                steps.append(_Step(RetentionAction("delete", v.ref, reason), v))
        return steps

    @staticmethod
    def _act(uow: UnitOfWork, model: Model, step: _Step) -> None:
        action, version = step.action, step.version
        if action.action == "plan":
            uow.store.retention.add(version.id, action.reason, uow.now)
        elif action.action == "unplan":
            uow.store.retention.remove([version.id])
        elif action.action == "delete":
            uow.store.versions.delete(version.id)
        else:
            uow.store.versions.update(version.id, {"state": "archived", "updated_at": uow.now})
            for alias in version.aliases:  # none by the plan; kept for the invariant
                remove_alias(uow, model, alias, version.number)
        if action.action == "archive":
            uow.record(
                "retention.archive", version.ref, reason=action.reason, previous=version.state
            )
        else:
            uow.record(f"retention.{action.action}", version.ref, reason=action.reason)


def _archive(version: Version, reason: str) -> _Step:
    return _Step(RetentionAction("archive", version.ref, reason), version)


def _live(history: list[Deployment]) -> set[str]:
    """Versions whose newest record on some target says it runs there."""
    newest: dict[tuple[str, str], Deployment] = {}
    for d in history:  # newest first
        newest.setdefault((d.ref, d.target), d)
    return {ref for (ref, _), d in newest.items() if d.outcome in ("started", "succeeded")}

"""Deployments recorded by orchestrators, and one-command rollback.

An orchestrator (CI/CD, an operator) records each step of a rollout: a version on a target with
a strategy and a traffic weight, and its outcome. ``rollback`` moves an alias back to the last
version it named that is still good (not archived, in the state a protected alias requires,
with no failed deployment), archives the version it rolls away from if that was in production
(so a second rollback never lands on it again), and records the rollback as a deployment of
the version it went to, with the time since the failing deployment it answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cairn.domain.cursors import decode_int_cursor
from cairn.domain.gates import Block
from cairn.domain.jsonsafe import check_storable
from cairn.domain.lifecycle import STATES
from cairn.domain.names import alias_key, check_alias
from cairn.domain.records import Deployment, Model, Page, Version
from cairn.domain.references import Reference
from cairn.errors import AliasNotFound, InvalidInput, PolicyViolation
from cairn.services.aliases import HISTORY_MAX, check_protected, move_alias, remove_alias
from cairn.services.auth import Actor, Permission
from cairn.services.gates import check_override, enforce, version_blocks
from cairn.services.policies import policy_for
from cairn.services.resolve import (
    get_model,
    get_namespace,
    get_version,
    readable_namespace_ids,
)
from cairn.services.uow import Database, UnitOfWork

STRATEGIES = ("full", "canary", "ab", "shadow")
OUTCOMES = ("started", "succeeded", "failed")


class DeploymentService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, actor: Actor, ref: Reference, fields: Mapping[str, Any]) -> Deployment:
        """``{target, strategy, weight, outcome, load_time_ms?, alias?, details?, override?}``.
        A rollout (``started``, ``succeeded``) of a blocked version is refused, and so is one
        on a production target of a version not in production unless the policy allows it;
        ``override`` (an admin's reason) lets either through, on the record. A ``failed``
        outcome is always recorded: it is what keeps a rollback off the version."""
        if not isinstance(fields, Mapping):
            raise InvalidInput("a deployment is an object")
        override = check_override(fields.get("override"))
        values = _deployment_fields({k: v for k, v in fields.items() if k != "override"})
        with self.db.write(actor, Permission.DEPLOY, ref.namespace) as uow:
            version = get_version(uow.store, ref, with_files=False)
            if version.state == "archived":
                raise PolicyViolation(f"{version.ref} is archived and cannot be deployed")
            if values["outcome"] != "failed":
                extra = _unpromoted(uow, version, values["target"])
                enforce(uow, version, f"deployment to {values['target']}", override, extra)
            deployment_id = uow.store.deployments.add(
                {
                    **values,
                    "version_id": version.id,
                    "rollback_of": None,
                    "time_to_rollback_ms": None,
                    "recorded_by": actor.name,
                    "created_at": uow.now,
                }
            )
            uow.record("deployment.record", version.ref, deployment=deployment_id, **values)
            return uow.store.deployments.find(deployment_id=deployment_id)[0]

    def find(
        self,
        actor: Actor,
        namespace: str,
        *,
        ref: Reference | None = None,
        model: str | None = None,
        target: str | None = None,
    ) -> list[Deployment]:
        """Deployments newest first: of a version, of a model, or on a target."""
        if target is not None:
            check_storable(target, "target")
        with self.db.read(actor, namespace) as store:
            if ref is not None:
                version = get_version(store, ref, with_files=False)
                return store.deployments.find(version_id=version.id)
            if model is not None:
                found = get_model(store, namespace, model)
                return store.deployments.find(model_id=found.id, target=target)
            ns = get_namespace(store, namespace)
            return store.deployments.find(namespace_id=ns.id, target=target)

    def recent(
        self, actor: Actor, target: str | None = None, cursor: str | None = None, limit: int = 100
    ) -> Page[Deployment]:
        """Deployments newest first in every namespace the actor reads (on ``target`` only, if
        named); one query, whatever the number of namespaces."""
        if target is not None:
            check_storable(target, "target")
        before = decode_int_cursor(cursor)
        if not actor.may(Permission.READ, None):
            return Page([], None)
        with self.db.read(actor, None) as store:
            found = store.deployments.find(
                target=target,
                namespace_ids=readable_namespace_ids(store, actor),
                before=before,
                limit=limit + 1,
            )
            return Page.from_rows(found, limit, lambda d: d.id)

    def rollback(
        self, actor: Actor, namespace: str, model: str, alias: str, to: int | None = None
    ) -> tuple[Version, Deployment]:
        """Move ``alias`` back to version ``to``, or to the last version it named before that
        is still good (see ``_previous``); the version rolled away from leaves production
        (archived, so out of every alias); record it as a deployment. One transaction."""
        name = check_alias(alias)
        with self.db.write(actor, Permission.DEPLOY, namespace) as uow:
            found = get_model(uow.store, namespace, model, lock=True)
            current = uow.store.aliases.current(found.id, name)
            if current is None:
                raise AliasNotFound(f"no alias @{name} on {found.ref}")
            number = to if to is not None else self._previous(uow, found, name, current)
            if number == current:
                raise InvalidInput(f"@{name} already names {found.ref}:{number}")
            version = _version(uow, found, number)
            if version.state == "archived":
                raise PolicyViolation(f"{version.ref} is archived: it cannot be rolled back to")
            check_protected(uow, found, name, version)
            move_alias(uow, found, name, version, action="rollback")
            deployment = self._record_rollback(uow, found, name, current, version)
            _retire(uow, found, _version(uow, found, current), name, deployment.id)
            return _version(uow, found, number), deployment

    @staticmethod
    def _previous(uow: UnitOfWork, model: Model, alias: str, current: int) -> int:
        """The newest version ``alias`` named before ``current`` that is still good: not
        archived, in the state a protected alias requires, and without a failed deployment.
        Asking for a number (``to``) is how to go anywhere else."""
        bound = policy_for(uow.store, model).protected_aliases.get(alias_key(alias))
        moves = uow.store.aliases.history(model.id, alias, HISTORY_MAX)
        tried: set[int] = {current}
        for event in reversed(moves):
            for number in (event.previous_number, event.number):
                if number is None or number in tried:
                    continue
                tried.add(number)
                candidate = _version(uow, model, number)
                eligible = candidate.state != "archived" and bound in (None, candidate.state)
                failed = uow.store.deployments.find(
                    version_id=candidate.id, outcome="failed", limit=1
                )
                if eligible and not failed and not version_blocks(uow.store, candidate):
                    return number
        raise PolicyViolation(
            f"@{alias} of {model.ref} has no earlier version to go back to that is not archived"
            + (f", is still in {bound}" if bound in STATES else "")
            + ", has no failed deployment and is not blocked by a failed check; name one with"
            " --to",
            alias=alias,
        )

    @staticmethod
    def _record_rollback(
        uow: UnitOfWork, model: Model, alias: str, current: int, version: Version
    ) -> Deployment:
        leaving = get_version(
            uow.store, Reference(model.namespace, model.name, number=current), with_files=False
        )
        failed = uow.store.deployments.find(version_id=leaving.id, outcome="failed", limit=1)
        failing = failed[0] if failed else None
        elapsed = (uow.now - failing.created_at).total_seconds() * 1000 if failing else None
        deployment_id = uow.store.deployments.add(
            {
                "version_id": version.id,
                "target": failing.target if failing else f"@{alias}",
                "strategy": "full",
                "weight": 100.0,
                "outcome": "rolled_back",
                "load_time_ms": None,
                "alias": alias,
                "rollback_of": failing.id if failing else None,
                "time_to_rollback_ms": elapsed,
                "details": {"from": current, "to": version.number},
                "recorded_by": uow.actor.name,
                "created_at": uow.now,
            }
        )
        uow.record(
            "deployment.rollback",
            f"{model.ref}@{alias}",
            deployment=deployment_id,
            previous=current,
            number=version.number,
            failing_deployment=failing.id if failing else None,
            time_to_rollback_ms=elapsed,
        )
        return uow.store.deployments.find(deployment_id=deployment_id)[0]


def _unpromoted(uow: UnitOfWork, version: Version, target: str) -> tuple[Block, ...]:
    """A rollout on a production target of a version not in production, where the policy
    does not allow that."""
    model = get_model(uow.store, version.namespace, version.model)
    rule = policy_for(uow.store, model).deployments
    if version.state == "production" or rule.allow_unpromoted or not rule.is_production(target):
        return ()
    reason = f"{target} is a production target and {version.ref} is {version.state}"
    return (Block("production target", reason),)


def _version(uow: UnitOfWork, model: Model, number: int) -> Version:
    ref = Reference(model.namespace, model.name, number=number)
    return get_version(uow.store, ref, with_files=False)


def _retire(uow: UnitOfWork, model: Model, version: Version, alias: str, rollback: int) -> None:
    """The version rolled away from leaves production. States only move forward, so it is
    archived (the audit entry says why); archiving takes it out of every alias it still has."""
    if version.state != "production":
        return
    uow.store.versions.update(version.id, {"state": "archived", "updated_at": uow.now})
    uow.record(
        "version.promote",
        version.ref,
        target="archived",
        previous=version.state,
        reason=f"rolled back: @{alias} moved away from it",
        rollback=rollback,
    )
    for name in sorted(version.aliases):
        remove_alias(uow, model, name, version.number)


def _deployment_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    allowed = {"target", "strategy", "weight", "outcome", "load_time_ms", "alias", "details"}
    if not isinstance(fields, Mapping) or set(fields) - allowed:
        raise InvalidInput(f"a deployment is {{{', '.join(sorted(allowed))}}}")
    target = fields.get("target")
    if not isinstance(target, str) or not 0 < len(target) <= 200:
        raise InvalidInput("a deployment names its target (1-200 characters)")
    strategy = fields.get("strategy", "full")
    if strategy not in STRATEGIES:
        raise InvalidInput(f"a strategy is one of {', '.join(STRATEGIES)}")
    weight = fields.get("weight", 100)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 100:
        raise InvalidInput("a weight is a percentage from 0 to 100")
    outcome = fields.get("outcome", "started")
    if outcome not in OUTCOMES:
        raise InvalidInput(f"an outcome is one of {', '.join(OUTCOMES)}")
    load = fields.get("load_time_ms")
    if load is not None and (
        isinstance(load, bool) or not isinstance(load, int | float) or load < 0
    ):
        raise InvalidInput("load_time_ms is a non-negative number")
    alias = fields.get("alias")
    details = fields.get("details", {})
    if not isinstance(details, dict):
        raise InvalidInput("details are an object")
    return {
        "target": target,
        "strategy": strategy,
        "weight": float(weight),
        "outcome": outcome,
        "load_time_ms": None if load is None else float(load),
        "alias": None if alias is None else check_alias(alias),
        "details": details,
    }


def _non_negative(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0

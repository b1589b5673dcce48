"""MLflow's writes that Cairn's own API does otherwise: deletes and stage transitions, each one
transaction, so that a refused request writes nothing.

Stage transitions move versions through the lifecycle (the policy decides each move). MLflow
has no approvals: a move that needs them is refused, naming what is missing, and no approval
request is opened (``cairn promote`` opens one). With ``archive_existing_versions`` the other
versions in the target state are archived in the same transaction, or nothing moves.

Deletes are done as MLflow's registry does them, unless governance forbids.

MLflow deletes a version with its aliases, and a registered model with all its versions.
Cairn's own API refuses both (an aliased version, a model with versions) so that nothing is
lost by accident; a client written for MLflow expects them. Here each is one transaction: the
aliases go (each move in the alias history and the audit log), then the versions, then the
model. Governance still holds: a version that an alias the policy protects names, or that has
a deployment record, is not deleted, and the refusal names the rule; a refused delete deletes
nothing, not even the versions before it.
"""

from __future__ import annotations

from cairn.domain.names import alias_key
from cairn.domain.records import Model, Version
from cairn.domain.references import Reference
from cairn.errors import PolicyViolation
from cairn.services.aliases import remove_alias
from cairn.services.auth import Actor, Permission
from cairn.services.lifecycle import LifecycleService
from cairn.services.policies import policy_for
from cairn.services.resolve import get_model, get_version
from cairn.services.uow import Database, UnitOfWork

STAGE_MOVE = "MLflow stage transition"


class MlflowWrites:
    def __init__(self, db: Database, lifecycle: LifecycleService) -> None:
        self.db = db
        self.lifecycle = lifecycle

    def transition(self, actor: Actor, ref: Reference, target: str, archive_others: bool) -> None:
        """Move the version ``ref`` names to ``target``; with ``archive_others``, archive the
        model's other versions in ``target`` too. All of it, or nothing."""
        with self.db.write(actor, Permission.WRITE, ref.namespace) as uow:
            model = get_model(uow.store, ref.namespace, ref.model, lock=True)
            version = get_version(uow.store, ref, with_files=False)
            self._move(uow, version, target)
            if archive_others and target in ("staging", "production"):
                for number in uow.store.versions.numbers(model.id, state=target):
                    other = uow.store.versions.by_number(model.id, number)
                    if other is not None and number != version.number:
                        self._move(uow, other, "archived")

    def _move(self, uow: UnitOfWork, version: Version, target: str) -> None:
        if version.state == target:
            return
        decision = self.lifecycle.decide(uow.store, version, target, uow.actor.name)
        if not decision.allowed:
            what = "needs approvals" if decision.outcome == "needs_approval" else "is denied"
            raise PolicyViolation(
                f"moving {version.ref} to {target} {what} (the namespace's policy): "
                + "; ".join(decision.reasons()),
                decision=decision.to_dict(),
            )
        self.lifecycle.apply(uow, version.ref, version, target, STAGE_MOVE, decision)

    def delete_version(self, actor: Actor, ref: Reference) -> None:
        """Delete the version and the aliases that name it."""
        with self.db.write(actor, Permission.ADMIN, ref.namespace) as uow:
            model = get_model(uow.store, ref.namespace, ref.model, lock=True)
            version = get_version(uow.store, ref, with_files=False)
            drop_version(uow, model, version)
            uow.store.models.update(model.id, {}, uow.now)  # last_updated_timestamp moves

    def delete_model(self, actor: Actor, namespace: str, name: str) -> None:
        """Delete the model and every version of it (a tombstone stays, as for an empty one,
        so that numbers carry on if the name is used again)."""
        with self.db.write(actor, Permission.ADMIN, namespace) as uow:
            model = get_model(uow.store, namespace, name, lock=True)
            for number in uow.store.versions.numbers(model.id):
                version = uow.store.versions.by_number(model.id, number)
                if version is not None:
                    drop_version(uow, model, version)
            uow.store.models.mark_deleted(model.id, uow.now)
            uow.record("model.delete", model.ref)


def drop_version(uow: UnitOfWork, model: Model, version: Version) -> None:
    """Delete ``version`` and its aliases inside ``uow``, or refuse, naming the rule."""
    protected = policy_for(uow.store, model).protected_aliases
    for alias in version.aliases:
        bound = protected.get(alias_key(alias))
        if bound is not None:
            raise PolicyViolation(
                f"{version.ref} is named by @{alias}, which the policy protects (it names only "
                f"versions in {bound}): move the alias or delete it with Cairn first",
                rule="protected_alias",
                alias=alias,
            )
    if uow.store.deployments.find(version_id=version.id, limit=1):
        raise PolicyViolation(
            f"{version.ref} has deployment records, and Cairn keeps a deployed version: "
            "archive it instead",
            rule="deployed_version",
        )
    for alias in sorted(version.aliases):
        remove_alias(uow, model, alias, version.number)
    uow.store.versions.delete(version.id)
    uow.record("version.delete", version.ref, manifest_digest=version.manifest_digest)

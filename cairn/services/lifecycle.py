"""Promotion through policy gates, approvals, and the policies themselves (validations, which
the gates read: ``cairn.services.validations``).

``promote`` evaluates the policy of the model (its override, its namespace's, or the default)
for the target state and answers with a decision that lists every check. A denied promotion
changes nothing but the audit log, which records the decision and its reasons. A promotion
whose only missing piece is approvals opens an approval request; each approval re-evaluates,
and the request completes — the version changes state — as soon as the policy holds.
Approvals are bound to the version's manifest digest and the target state, and expire.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from cairn.domain.cursors import decode_int_cursor
from cairn.domain.jsonsafe import check_storable
from cairn.domain.lifecycle import (
    DEFAULT_POLICY,
    Decision,
    Gate,
    Policy,
    check_target,
    evaluate,
    parse_policy,
)
from cairn.domain.records import ApprovalRequest, Page, PolicyRevision, Version
from cairn.domain.references import Reference
from cairn.errors import Conflict, InvalidInput, NotFound, PermissionDenied, PolicyViolation
from cairn.services.aliases import remove_alias
from cairn.services.auth import EVERYWHERE, SYSTEM, Actor, Permission, authorize
from cairn.services.builtin_validations import BuiltinValidations
from cairn.services.policies import policy_for, policy_revision
from cairn.services.resolve import (
    get_model,
    get_namespace,
    get_version,
    readable_namespace_ids,
)
from cairn.services.uow import Database, UnitOfWork
from cairn.services.validations import counted
from cairn.storage.sql.store import MetadataStore


@dataclass(frozen=True, slots=True)
class Promotion:
    """What a promotion did: its decision, and the version or the request it left."""

    decision: Decision
    version: Version
    request: ApprovalRequest | None = None
    applied: bool = False


REQUEST_STATUSES = ("open", "completed", "rejected", "expired")


@dataclass(frozen=True, slots=True)
class Explained:
    """An approval request with its version, the policy in force for its model (None: the
    default), that policy's gate for the target, and — while the request is open — what the
    gate decides for the version now (``lapsed``: open, but past its expiry)."""

    request: ApprovalRequest
    version: Version
    policy: PolicyRevision | None
    gate: Gate
    decision: Decision | None
    lapsed: bool


class LifecycleService:
    def __init__(
        self, db: Database, builtin_validations: BuiltinValidations, approval_ttl: timedelta
    ) -> None:
        self.db = db
        self.builtin_validations = builtin_validations
        self.approval_ttl = approval_ttl

    # ------------------------------------------------------------------ promotion
    def promote(
        self, actor: Actor, ref: Reference, target: str, reason: str = "", *, check: bool = False
    ) -> Promotion:
        """Move the version to ``target`` if the policy allows it now; open an approval request
        if only approvals are missing; refuse with ``PolicyViolation`` otherwise. ``check``
        answers the same question and changes nothing."""
        target = check_target(target)
        if not isinstance(reason, str) or len(reason) > 2000:
            raise InvalidInput("a reason is text of at most 2000 characters")
        if check:
            with self.db.read(actor, ref.namespace) as store:
                version = get_version(store, ref, with_files=False)
                return Promotion(self.decide(store, version, target, actor.name), version)
        with self.db.write(actor, Permission.WRITE, ref.namespace) as uow:
            model = get_model(uow.store, ref.namespace, ref.model, lock=True)
            version = get_version(uow.store, ref, with_files=False)
            decision = self.decide(uow.store, version, target, actor.name)
            if decision.outcome == "denied":
                uow.record(
                    "version.promote.denied",
                    version.ref,
                    target=target,
                    reason=reason,
                    decision=decision.to_dict(),
                )
                denied = decision
            elif decision.outcome == "needs_approval":
                request = self._open_request(uow, version, target, reason, decision)
                return Promotion(decision, version, request)
            else:
                applied = self.apply(uow, model.ref, version, target, reason, decision)
                return Promotion(decision, applied, applied=True)
        raise PolicyViolation(
            f"promoting {version.ref} to {target} is denied: " + "; ".join(denied.reasons()),
            decision=denied.to_dict(),
        )

    def decide(
        self, store: MetadataStore, version: Version, target: str, requester: str
    ) -> Decision:
        policy = policy_for(store, get_model(store, version.namespace, version.model))
        approvers = self._approvers(store, version, target)
        document = self._document(store, version, policy)
        return evaluate(policy, target, document, approvers, requester)

    def _approvers(self, store: MetadataStore, version: Version, target: str) -> set[str]:
        """Who approved this version for this target, in an open request, recently enough,
        bound to this very manifest; a reject by anyone closes the request instead."""
        cutoff = self.db.clock() - self.approval_ttl
        found: set[str] = set()
        for request in store.approvals.requests(
            version_id=version.id, target=target, status="open"
        ):
            for a in request.approvals:
                bound = a.manifest_digest == version.manifest_digest and a.target == target
                if a.decision == "approve" and bound and a.created_at >= cutoff:
                    found.add(a.approver)
        return found

    def _document(
        self, store: MetadataStore, version: Version, policy: Policy | None = None
    ) -> dict[str, Any]:
        """The version as the policy's rules see it (with the results that policy counts)."""
        if policy is None:
            policy = policy_for(store, get_model(store, version.namespace, version.model))
        latest = counted(store.validations.history(version.id), version.author, policy)
        validations = {
            name: {"status": v.status, **{k: x for k, x in v.details.items() if k != "status"}}
            for name, v in latest.items()
        }
        return {
            "namespace": version.namespace,
            "name": version.model,
            "model": version.model,
            "number": version.number,
            "state": version.state,
            "author": version.author,
            "description": version.description,
            "metrics": version.metrics,
            "params": version.params,
            "tags": version.tags,
            "provenance": version.provenance,
            "schema": version.schema,
            "completeness": version.completeness,
            "size": version.size,
            "file_count": version.file_count,
            "manifest_digest": version.manifest_digest,
            "validations": validations,
            "signature": validations.get("signature", {"status": "unsigned"}),
            "scan": validations.get("scan", {"status": "missing"}),
        }

    def apply(
        self,
        uow: UnitOfWork,
        model_ref: str,
        version: Version,
        target: str,
        reason: str,
        decision: Decision,
    ) -> Version:
        """Move ``version`` to ``target`` inside ``uow``, as ``decision`` allowed."""
        model = get_model(uow.store, version.namespace, version.model)
        uow.store.versions.update(version.id, {"state": target, "updated_at": uow.now})
        uow.store.models.update(model.id, {}, uow.now)  # MLflow's last_updated_timestamp
        uow.record(
            "version.promote",
            version.ref,
            target=target,
            previous=version.state,
            reason=reason,
            decision=decision.to_dict(),
        )
        if target == "archived":
            # Archiving takes the version out of every alias, and so out of deployment.
            for alias in sorted(version.aliases):
                remove_alias(uow, model, alias, version.number)
        for request in uow.store.approvals.requests(
            version_id=version.id, target=target, status="open"
        ):
            uow.store.approvals.close(request.id, "completed", uow.now)
        return replace(
            version, state=target, aliases=[] if target == "archived" else version.aliases
        )

    def _open_request(
        self, uow: UnitOfWork, version: Version, target: str, reason: str, decision: Decision
    ) -> ApprovalRequest:
        open_now = uow.store.approvals.requests(version_id=version.id, target=target, status="open")
        if open_now:
            return open_now[0]
        request_id = uow.store.approvals.open_request(
            {
                "version_id": version.id,
                "target": target,
                "manifest_digest": version.manifest_digest,
                "requested_by": uow.actor.name,
                "reason": reason,
                "status": "open",
                "created_at": uow.now,
                "expires_at": uow.now + self.approval_ttl,
            }
        )
        uow.record(
            "approval.request",
            version.ref,
            request=request_id,
            target=target,
            reason=reason,
            decision=decision.to_dict(),
        )
        return uow.store.approvals.requests(request_id=request_id)[0]

    # ------------------------------------------------------------------ approvals
    def review(
        self, actor: Actor, request_id: int, decision: str, comment: str = ""
    ) -> tuple[ApprovalRequest, Promotion | None]:
        """Approve or reject an open request; an approval that satisfies the policy completes
        the promotion at once."""
        if decision not in ("approve", "reject") or not isinstance(comment, str):
            raise InvalidInput("a review is approve or reject, with a comment")
        with self.db.write(actor, Permission.READ, None) as uow:
            request = self._open(uow, request_id)
            version = get_version(uow.store, _ref_of(request), with_files=False)
            authorize(actor, Permission.APPROVE, version.namespace)
            if actor.name in {version.author, request.requested_by}:
                policy = policy_for(
                    uow.store, get_model(uow.store, version.namespace, version.model)
                )
                if policy.gate(request.target).separation_of_duties:
                    raise PermissionDenied(
                        f"{actor.name} is the version's author or the requester and may not "
                        "review it (separation of duties)",
                        request=request_id,
                    )
            if any(a.approver == actor.name for a in request.approvals):
                raise Conflict(f"{actor.name} has already reviewed request {request_id}")
            uow.store.approvals.add_approval(
                {
                    "request_id": request.id,
                    "approver": actor.name,
                    "decision": decision,
                    "comment": comment[:2000],
                    "manifest_digest": version.manifest_digest,
                    "target": request.target,
                    "created_at": uow.now,
                }
            )
            uow.record(
                f"approval.{decision}",
                version.ref,
                request=request.id,
                target=request.target,
                comment=comment[:2000],
            )
            promotion = None
            if decision == "reject":
                uow.store.approvals.close(request.id, "rejected", uow.now)
            else:
                evaluated = self.decide(uow.store, version, request.target, request.requested_by)
                if evaluated.allowed:
                    model = get_model(uow.store, version.namespace, version.model, lock=True)
                    applied = self.apply(
                        uow, model.ref, version, request.target, request.reason, evaluated
                    )
                    promotion = Promotion(evaluated, applied, applied=True)
            return uow.store.approvals.requests(request_id=request.id)[0], promotion

    def _open(self, uow: UnitOfWork, request_id: int) -> ApprovalRequest:
        found = uow.store.approvals.requests(request_id=request_id, lock=True)
        if not found:
            raise NotFound(f"no approval request {request_id}", request=request_id)
        request = found[0]
        if request.status == "open" and request.expires_at <= uow.now:
            uow.store.approvals.close(request.id, "expired", uow.now)
            raise Conflict(f"approval request {request_id} expired", request=request_id)
        if request.status != "open":
            raise Conflict(f"approval request {request_id} is {request.status}", request=request_id)
        return request

    def requests(
        self, actor: Actor, namespace: str, status: str | None = "open"
    ) -> list[ApprovalRequest]:
        if status is not None:
            check_storable(status, "status")
        with self.db.read(actor, namespace) as store:
            ns = get_namespace(store, namespace)
            return store.approvals.requests(namespace_id=ns.id, status=status)

    def inbox(
        self, actor: Actor, status: str = "open", cursor: str | None = None, limit: int = 50
    ) -> Page[Explained]:
        """Requests in ``status`` in every namespace the actor reads, newest first, each
        explained by its policy; one query finds them, whatever the number of namespaces."""
        if status not in REQUEST_STATUSES:
            raise InvalidInput(f"a request's status is one of {', '.join(REQUEST_STATUSES)}")
        before = decode_int_cursor(cursor)
        if not actor.may(Permission.READ, None):
            return Page([], None)
        with self.db.read(actor, None) as store:
            found = store.approvals.requests(
                status=status,
                namespace_ids=readable_namespace_ids(store, actor),
                before=before,
                limit=limit + 1,
            )
            page = Page.from_rows(found, limit, lambda r: r.id)
            return Page([self._explain(store, r) for r in page.items], page.next_cursor)

    def _explain(self, store: MetadataStore, request: ApprovalRequest) -> Explained:
        version = get_version(store, _ref_of(request), with_files=False)
        revision = policy_revision(store, get_model(store, version.namespace, version.model))
        policy = parse_policy(revision.document if revision else DEFAULT_POLICY)
        decision = None
        if request.status == "open":
            approvers = self._approvers(store, version, request.target)
            document = self._document(store, version, policy)
            decision = evaluate(policy, request.target, document, approvers, request.requested_by)
        lapsed = request.status == "open" and request.expires_at <= self.db.clock()
        return Explained(request, version, revision, policy.gate(request.target), decision, lapsed)

    def version_requests(self, actor: Actor, ref: Reference) -> list[ApprovalRequest]:
        """Every approval request for one version, whatever its status, oldest first."""
        with self.db.read(actor, ref.namespace) as store:
            version = get_version(store, ref, with_files=False)
            return store.approvals.requests(version_id=version.id)

    # ------------------------------------------------------------------ policies
    def policy(self, actor: Actor, namespace: str, model: str | None) -> PolicyRevision | None:
        """The policy in force for a model (or the namespace's); None: the default."""
        with self.db.read(actor, namespace) as store:
            if model is None:
                return store.policies.current(get_namespace(store, namespace).id, None)
            return policy_revision(store, get_model(store, namespace, model))

    def set_policy(
        self, actor: Actor, namespace: str, model: str | None, document: object
    ) -> PolicyRevision:
        """Store a new revision of the namespace's policy (or of a model's override)."""
        parse_policy(document)
        with self.db.write(actor, Permission.ADMIN, namespace) as uow:
            ns = get_namespace(uow.store, namespace, lock=True)
            found_model = get_model(uow.store, namespace, model) if model else None
            model_id = found_model.id if found_model else None
            current = uow.store.policies.current(ns.id, model_id)
            revision = (current.revision if current else 0) + 1
            uow.store.policies.add(
                {
                    "namespace_id": ns.id,
                    "model_id": model_id,
                    "revision": revision,
                    "document": document,
                    "created_by": actor.name,
                    "created_at": uow.now,
                }
            )
            # The model's own name, as every other entry about it says it (not the one asked).
            scope = found_model.ref if found_model else ns.name
            uow.record("policy.set", scope, revision=revision, document=document)
            found = uow.store.policies.current(ns.id, model_id)
            assert found is not None
            return found

    def test_policy(self, actor: Actor, ref: Reference, target: str, document: object) -> Decision:
        """What ``document`` (a policy not yet stored) would decide for the version."""
        policy = parse_policy(document)
        target = check_target(target)
        with self.db.read(actor, ref.namespace) as store:
            version = get_version(store, ref, with_files=False)
            approvers = self._approvers(store, version, target)
            document = self._document(store, version, policy)
            return evaluate(policy, target, document, approvers, actor.name)

    def expire_requests(self) -> int:
        with self.db.write(SYSTEM, Permission.ADMIN, EVERYWHERE) as uow:
            return uow.store.approvals.expire(uow.now)


def _ref_of(request: ApprovalRequest) -> Reference:
    namespace, _, rest = request.ref.partition("/")
    model, _, number = rest.rpartition(":")
    return Reference(namespace, model, number=int(number))

"""The SDK's calls about governance: promotion, approvals, validations, policies,
deployments and rollback. ``Client`` has them all."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from cairn.client.http import Http
from cairn.domain.references import parse_model_reference, parse_reference
from cairn.wire import paths
from cairn.wire.deployments import Deployment, RolledBack
from cairn.wire.policies import DefaultPolicy, StoredPolicy
from cairn.wire.promotions import ApprovalRequest, Decision, Promotion, Reviewed
from cairn.wire.retention import RetentionReport
from cairn.wire.versions import Validation

# The policy in force: a stored revision, or (``default`` true) the default policy.
POLICY: TypeAdapter[StoredPolicy | DefaultPolicy] = TypeAdapter(StoredPolicy | DefaultPolicy)


def _version(ref: str) -> tuple[str, str, str]:
    """The namespace, model and selector of the version ``ref`` names."""
    parsed = parse_reference(ref)
    return parsed.namespace, parsed.model, paths.selector_of(parsed)


class LifecycleCalls:
    http: Http

    def promote(self, ref: str, target: str, *, reason: str = "", check: bool = False) -> Promotion:
        """Move a version through its policy's gates:

        >>> done = cairn.promote("risk/fraud:3", "production", reason="beats v2")  # doctest: +SKIP
        >>> done.applied, done.decision.outcome  # doctest: +SKIP
        (False, 'needs_approval')

        The answer holds the decision with every check; ``applied`` says whether the version
        moved, ``request`` is the approval request a promotion that needs approvals opened
        (``check=True``: what would happen, changing nothing). A denial raises
        ``PolicyViolation`` with the decision in its details."""
        body = {"target": target, "reason": reason, "check": check}
        return self.http.record(Promotion, "POST", paths.promote(*_version(ref)), json=body)

    def archive(self, ref: str, *, reason: str = "") -> Promotion:
        """Retire a version (a promotion to ``archived``):

        >>> cairn.archive("risk/fraud:1", reason="superseded").version.state  # doctest: +SKIP
        'archived'
        """
        return self.promote(ref, "archived", reason=reason)

    def approvals(self, namespace: str, status: str | None = "open") -> list[ApprovalRequest]:
        """The namespace's approval requests (open ones; ``status=None``: every one):

        >>> [(r.id, r.ref, r.target) for r in cairn.approvals("risk")]  # doctest: +SKIP
        [(4, 'risk/fraud:3', 'production')]
        """
        params = {"status": status or ""}
        path = paths.approvals(namespace)
        return self.http.records(ApprovalRequest, "GET", path, params=params)

    def approve(self, request_id: int, comment: str = "") -> Reviewed:
        """Approve a request; the approval that satisfies the policy completes the promotion:

        >>> done = cairn.approve(4, "checked the bias report")  # doctest: +SKIP
        >>> done.request.status, done.promotion.applied  # doctest: +SKIP
        ('completed', True)
        """
        path = paths.approval(request_id, "approve")
        return self.http.record(Reviewed, "POST", path, json={"comment": comment})

    def reject(self, request_id: int, comment: str = "") -> Reviewed:
        """Reject a request, which closes it:

        >>> cairn.reject(4, "bias report missing").request.status  # doctest: +SKIP
        'rejected'
        """
        path = paths.approval(request_id, "reject")
        return self.http.record(Reviewed, "POST", path, json={"comment": comment})

    def validate(
        self,
        ref: str,
        name: str,
        status: str,
        *,
        metrics: dict[str, float] | None = None,
        link: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Validation:
        """Post a validation's result on a version, for the policy's gates:

        >>> cairn.validate("risk/fraud:3", "bias", "passed", metrics={"dp": 0.02})  # doctest: +SKIP
        Validation(name='bias', status='passed', ...)
        """
        body: dict[str, Any] = {"name": name, "status": status, "metrics": metrics or {}}
        if link is not None:
            body["link"] = link
        if details:
            body["details"] = details
        return self.http.record(Validation, "POST", paths.validations(*_version(ref)), json=body)

    def rerun_validation(self, ref: str, name: str) -> Validation:
        """Run one of Cairn's built-in validations again: ``integrity``, ``completeness``,
        ``signature`` or ``scan``:

        >>> cairn.rerun_validation("risk/fraud:3", "scan").status  # doctest: +SKIP
        'clean'
        """
        path = paths.rerun_validation(*_version(ref), name)
        return self.http.record(Validation, "POST", path)

    def waive(self, ref: str, finding: str, reason: str) -> Validation:
        """Waive one finding of the version's scan, by the id its findings list it under (an
        approver who is not the version's author; audited); the new scan result is returned:

        >>> cairn.waive("risk/fraud:3", "1a2b3c4d5e6f7a8b", "reviewed").status  # doctest: +SKIP
        'clean'
        """
        body = {"finding": finding, "reason": reason}
        return self.http.record(Validation, "POST", paths.scan_waivers(*_version(ref)), json=body)

    def validations(self, ref: str) -> list[Validation]:
        """Every validation of a version (Cairn's built-in ones and those posted), oldest first:

        >>> [(v.name, v.status) for v in cairn.validations("risk/fraud:3")]  # doctest: +SKIP
        [('integrity', 'passed'), ('scan', 'clean'), ('bias', 'passed')]
        """
        return self.http.records(Validation, "GET", paths.validations(*_version(ref)))

    def policy(self, scope: str) -> StoredPolicy | DefaultPolicy:
        """The policy in force for ``ns`` or ``ns/model``: its stored revision, or the
        default (``default`` true, revision 0):

        >>> cairn.policy("risk/fraud").document["states"]["production"]  # doctest: +SKIP
        {'approvals': 1, 'rules': [...]}
        """
        return POLICY.validate_python(self.http.json("GET", _policy_path(scope)))

    def set_policy(self, scope: str, document: dict[str, Any]) -> StoredPolicy:
        """Store a new revision of the policy of ``ns`` or ``ns/model`` (admins):

        >>> cairn.set_policy("risk", {"states": {"production": {"approvals": 2}}})  # doctest: +SKIP
        StoredPolicy(namespace='risk', model=None, revision=3, ...)
        3
        """
        return self.http.record(StoredPolicy, "PUT", _policy_path(scope), json=document)

    def test_policy(self, ref: str, target: str, document: dict[str, Any]) -> Decision:
        """What a policy not yet stored would decide for a version and target:

        >>> cairn.test_policy("risk/fraud:3", "production", draft).outcome  # doctest: +SKIP
        'denied'
        """
        parsed = parse_reference(ref)
        body = {"document": document, "ref": ref, "target": target}
        path = paths.policy_test(parsed.namespace)
        return self.http.record(Decision, "POST", path, json=body)

    def record_deployment(self, ref: str, target: str, **fields: Any) -> Deployment:
        """Record a step of a rollout (orchestrators):

        >>> cairn.record_deployment(  # doctest: +SKIP
        ...     "risk/fraud:3", "prod-eu", strategy="canary", weight=10, outcome="started"
        ... ).id
        12

        ``fields``: ``strategy``, ``weight``, ``outcome``, ``load_time_ms``, ``alias``,
        ``details``, ``override``. A rollout of a blocked version, or of one not in production
        on a production target, raises ``VersionBlocked`` unless ``override="reason"`` (an
        admin's, audited)."""
        body = {"target": target, **{k: v for k, v in fields.items() if v is not None}}
        path = paths.version_deployments(*_version(ref))
        return self.http.record(Deployment, "POST", path, json=body)

    def deployments(
        self, namespace: str, *, ref: str | None = None, target: str | None = None
    ) -> list[Deployment]:
        """The deployments recorded in a namespace, of a model or version (``ref``) or on a
        target:

        >>> found = cairn.deployments("risk", target="prod-eu")  # doctest: +SKIP
        >>> [(d.ref, d.outcome) for d in found]  # doctest: +SKIP
        [('risk/fraud:3', 'succeeded')]
        """
        if ref is not None and (":" in ref.rpartition("/")[2] or "@" in ref):
            return self.http.records(Deployment, "GET", paths.version_deployments(*_version(ref)))
        params: dict[str, str] = {}
        if ref is not None:
            params["model"] = parse_reference(ref).model
        if target is not None:
            params["target"] = target
        path = paths.namespace_deployments(namespace)
        return self.http.records(Deployment, "GET", path, params=params)

    def apply_retention(self, namespace: str, *, dry_run: bool = False) -> RetentionReport:
        """Run a retention round in the namespace now: archive what its rules say, plan the
        deletions it opts in to, and carry out those planned at least the grace period before
        (``dry_run``: only list):

        >>> [(a.action, a.ref) for a in cairn.apply_retention("risk").actions]  # doctest: +SKIP
        [('archive', 'risk/fraud:1')]
        """
        path = paths.retention(namespace)
        return self.http.record(RetentionReport, "POST", path, json={"dry_run": dry_run})

    def rollback(self, ref: str, *, to: int | None = None) -> RolledBack:
        """Move an alias back to the previous eligible version (or ``to``), recorded as a
        deployment:

        >>> cairn.rollback("risk/fraud@production").version.number  # doctest: +SKIP
        6
        """
        parsed = parse_reference(ref)
        if parsed.alias is None:
            raise ValueError("roll back an alias: ns/model@alias")
        path = paths.rollback(parsed.namespace, parsed.model, parsed.alias)
        return self.http.record(RolledBack, "POST", path, json={"to": to} if to else {})


def _policy_path(scope: str) -> str:
    """A namespace's policy (``ns``) or a model's (``ns/model``, never a version of it)."""
    if "/" in scope:
        ref = parse_model_reference(scope)
        return paths.model_policy(ref.namespace, ref.model)
    return paths.namespace_policy(scope)

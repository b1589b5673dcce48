"""The SDK's calls about governance: promotion, approvals, validations, policies,
deployments and rollback. ``Client`` has them all."""

from __future__ import annotations

from typing import Any

from cairn.client.http import Http
from cairn.domain.references import parse_model_reference, parse_reference
from cairn.wire import paths
from cairn.wire.versions import Validation


def _version(ref: str) -> tuple[str, str, str]:
    """The namespace, model and selector of the version ``ref`` names."""
    parsed = parse_reference(ref)
    return parsed.namespace, parsed.model, paths.selector_of(parsed)


class LifecycleCalls:
    http: Http

    def promote(
        self, ref: str, target: str, *, reason: str = "", check: bool = False
    ) -> dict[str, Any]:
        """``cairn.promote("risk/fraud:3", "production", reason="beats v2")``: the decision
        with every check; ``applied`` says whether the version moved, ``request`` is the
        approval request a promotion that needs approvals opened. A denial raises
        ``PolicyViolation`` with the decision in its details."""
        body = {"target": target, "reason": reason, "check": check}
        result: dict[str, Any] = self.http.json("POST", paths.promote(*_version(ref)), json=body)
        return result

    def archive(self, ref: str, *, reason: str = "") -> dict[str, Any]:
        return self.promote(ref, "archived", reason=reason)

    def approvals(self, namespace: str, status: str | None = "open") -> list[dict[str, Any]]:
        params = {"status": status or ""}
        path = paths.approvals(namespace)
        items: list[dict[str, Any]] = self.http.json("GET", path, params=params)["items"]
        return items

    def approve(self, request_id: int, comment: str = "") -> dict[str, Any]:
        result: dict[str, Any] = self.http.json(
            "POST", paths.approval(request_id, "approve"), json={"comment": comment}
        )
        return result

    def reject(self, request_id: int, comment: str = "") -> dict[str, Any]:
        result: dict[str, Any] = self.http.json(
            "POST", paths.approval(request_id, "reject"), json={"comment": comment}
        )
        return result

    def validate(
        self,
        ref: str,
        name: str,
        status: str,
        *,
        metrics: dict[str, float] | None = None,
        link: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``cairn.validate("risk/fraud:3", "bias", "passed", metrics={"dp": 0.02})``"""
        body: dict[str, Any] = {"name": name, "status": status, "metrics": metrics or {}}
        if link is not None:
            body["link"] = link
        if details:
            body["details"] = details
        result: dict[str, Any] = self.http.json(
            "POST", paths.validations(*_version(ref)), json=body
        )
        return result

    def rerun_validation(self, ref: str, name: str) -> dict[str, Any]:
        """Run one of Cairn's built-in validations again: ``integrity``, ``completeness``,
        ``signature`` or ``scan``."""
        path = paths.rerun_validation(*_version(ref), name)
        result: dict[str, Any] = self.http.json("POST", path)
        return result

    def validations(self, ref: str) -> list[Validation]:
        """Every validation of a version (Cairn's built-in ones and those posted), oldest first:

        >>> [(v.name, v.status) for v in cairn.validations("risk/fraud:3")]  # doctest: +SKIP
        [('integrity', 'passed'), ('scan', 'clean'), ('bias', 'passed')]
        """
        return self.http.records(Validation, "GET", paths.validations(*_version(ref)))

    def policy(self, scope: str) -> dict[str, Any]:
        """The policy in force for ``ns`` or ``ns/model``."""
        result: dict[str, Any] = self.http.json("GET", _policy_path(scope))
        return result

    def set_policy(self, scope: str, document: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.http.json("PUT", _policy_path(scope), json=document)
        return result

    def test_policy(self, ref: str, target: str, document: dict[str, Any]) -> dict[str, Any]:
        parsed = parse_reference(ref)
        body = {"document": document, "ref": ref, "target": target}
        path = paths.policy_test(parsed.namespace)
        result: dict[str, Any] = self.http.json("POST", path, json=body)
        return result

    def record_deployment(self, ref: str, target: str, **fields: Any) -> dict[str, Any]:
        """``cairn.record_deployment("risk/fraud:3", "prod-eu", strategy="canary",
        weight=10, outcome="started", load_time_ms=850)``. A rollout of a blocked version, or
        of one not in production on a production target, raises ``VersionBlocked`` unless
        ``override="reason"`` (an admin's, audited)."""
        body = {"target": target, **{k: v for k, v in fields.items() if v is not None}}
        result: dict[str, Any] = self.http.json(
            "POST", paths.version_deployments(*_version(ref)), json=body
        )
        return result

    def deployments(
        self, namespace: str, *, ref: str | None = None, target: str | None = None
    ) -> list[dict[str, Any]]:
        if ref is not None and (":" in ref.rpartition("/")[2] or "@" in ref):
            items: list[dict[str, Any]] = self.http.json(
                "GET", paths.version_deployments(*_version(ref))
            )["items"]
            return items
        params: dict[str, str] = {}
        if ref is not None:
            params["model"] = parse_reference(ref).model
        if target is not None:
            params["target"] = target
        path = paths.namespace_deployments(namespace)
        found: list[dict[str, Any]] = self.http.json("GET", path, params=params)["items"]
        return found

    def apply_retention(self, namespace: str, *, dry_run: bool = False) -> dict[str, Any]:
        """Run a retention round in the namespace now: archive what its rules say, plan the
        deletions it opts in to, and carry out those planned at least the grace period before
        (``dry_run``: only list). ``actions``: ``{action: archive|plan|delete|unplan, ref,
        reason}``."""
        path = paths.retention(namespace)
        result: dict[str, Any] = self.http.json("POST", path, json={"dry_run": dry_run})
        return result

    def rollback(self, ref: str, *, to: int | None = None) -> dict[str, Any]:
        """``cairn.rollback("risk/fraud@production")``: the alias goes back to the previous
        eligible version (or ``to``), recorded as a deployment."""
        parsed = parse_reference(ref)
        if parsed.alias is None:
            raise ValueError("roll back an alias: ns/model@alias")
        path = paths.rollback(parsed.namespace, parsed.model, parsed.alias)
        result: dict[str, Any] = self.http.json("POST", path, json={"to": to} if to else {})
        return result


def _policy_path(scope: str) -> str:
    """A namespace's policy (``ns``) or a model's (``ns/model``, never a version of it)."""
    if "/" in scope:
        ref = parse_model_reference(scope)
        return paths.model_policy(ref.namespace, ref.model)
    return paths.namespace_policy(scope)

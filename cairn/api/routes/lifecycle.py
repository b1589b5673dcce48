"""Promotion through the policy's gates, approvals, validations, policies, deployments and
rollback."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from cairn.api import wire
from cairn.api.bodies import StrictBodyRoute
from cairn.api.deps import (
    Admin,
    Approver,
    Body,
    Deployer,
    Reader,
    Reg,
    RowId,
    Writer,
    reading,
)
from cairn.api.routes import API_PREFIX
from cairn.api.routes.models import MODEL
from cairn.api.routes.versions import VERSION, version_ref
from cairn.domain.lifecycle import DEFAULT_POLICY
from cairn.domain.references import parse_reference
from cairn.errors import InvalidInput
from cairn.services.lifecycle import Promotion

router = APIRouter(route_class=StrictBodyRoute, prefix=API_PREFIX, tags=["lifecycle"])


def _promotion(p: Promotion) -> dict[str, Any]:
    return {
        "decision": p.decision.to_dict(),
        "applied": p.applied,
        "version": wire.version(p.version),
        "request": wire.approval_request(p.request) if p.request else None,
    }


def _fields(body: Any, allowed: set[str], what: str) -> dict[str, Any]:
    if not isinstance(body, dict) or set(body) - allowed:
        raise InvalidInput(f"{what} takes {', '.join(sorted(allowed))}")
    return body


@router.post(VERSION + "/promote")
def promote(
    reg: Reg, actor: Writer, namespace: str, model: str, selector: str, body: Body
) -> Response:
    """Move the version to ``target`` (staging, production, archived) if the policy allows;
    ``check: true`` answers without acting. A denial is a 409 listing every reason."""
    fields = _fields(body, {"target", "reason", "check"}, "a promotion")
    check = fields.get("check", False)
    if type(check) is not bool:
        raise InvalidInput("check is true or false")
    ref = version_ref(namespace, model, selector)
    target, reason = fields.get("target", ""), fields.get("reason", "")
    done = reg.lifecycle.promote(actor, ref, target, reason, check=check)
    return wire.ok(_promotion(done))


@router.get(VERSION + "/decision")
async def decision(
    reg: Reg, actor: Reader, namespace: str, model: str, selector: str, target: str
) -> Response:
    """What the policy would decide for promoting the version to ``target`` now."""
    ref = version_ref(namespace, model, selector)
    done = await reading(reg, reg.lifecycle.promote, actor, ref, target, check=True)
    return wire.ok(_promotion(done))


@router.post(VERSION + "/validations", status_code=201)
def add_validation(
    reg: Reg, actor: Reader, namespace: str, model: str, selector: str, body: Body
) -> Response:
    """Record a result from CI or a validator: ``{name, status, metrics?, link?, details?}``.
    Cairn's own checks are refused (403 ``reserved_validation``), and so is a poster the
    policy does not allow (403 ``validator_not_allowed``); the policy decides who else."""
    added = reg.validations.add(actor, version_ref(namespace, model, selector), body)
    return wire.ok(wire.validation(added), 201)


@router.post(VERSION + "/validations/{name}/rerun", status_code=201)
def rerun_validation(
    reg: Reg, actor: Writer, namespace: str, model: str, selector: str, name: str
) -> Response:
    """Run one of Cairn's own validators again: integrity, completeness, signature, scan."""
    ref = version_ref(namespace, model, selector)
    return wire.ok(wire.validation(reg.validations.rerun(actor, ref, name)), 201)


@router.get("/namespaces/{namespace}/approvals")
async def list_approvals(
    reg: Reg, actor: Reader, namespace: str, status: str | None = "open"
) -> Response:
    found = await reading(reg, reg.lifecycle.requests, actor, namespace, status or None)
    return wire.ok({"items": [wire.approval_request(r) for r in found]})


@router.post("/approvals/{request_id}/{verdict}")
def review(reg: Reg, actor: Approver, request_id: RowId, verdict: str, body: Body) -> Response:
    """``verdict`` approve or reject, with ``{comment}``; an approval that satisfies the
    policy completes the promotion."""
    if verdict not in ("approve", "reject"):
        raise InvalidInput("review with /approve or /reject")
    comment = _fields(body, {"comment"}, "a review").get("comment", "")
    request, promotion = reg.lifecycle.review(actor, request_id, verdict, comment)
    return wire.ok(
        {
            "request": wire.approval_request(request),
            "promotion": _promotion(promotion) if promotion else None,
        }
    )


@router.get("/namespaces/{namespace}/policy")
async def namespace_policy(reg: Reg, actor: Reader, namespace: str) -> Response:
    found = await reading(reg, reg.lifecycle.policy, actor, namespace, None)
    return wire.ok(wire.policy(found, DEFAULT_POLICY))


@router.put("/namespaces/{namespace}/policy")
def set_namespace_policy(reg: Reg, actor: Admin, namespace: str, body: Body) -> Response:
    return wire.ok(wire.policy(reg.lifecycle.set_policy(actor, namespace, None, body), {}))


@router.get(MODEL + "/policy")
async def model_policy(reg: Reg, actor: Reader, namespace: str, model: str) -> Response:
    """The policy in force for the model: its override, else its namespace's, else the default."""
    found = await reading(reg, reg.lifecycle.policy, actor, namespace, model)
    return wire.ok(wire.policy(found, DEFAULT_POLICY))


@router.put(MODEL + "/policy")
def set_model_policy(reg: Reg, actor: Admin, namespace: str, model: str, body: Body) -> Response:
    return wire.ok(wire.policy(reg.lifecycle.set_policy(actor, namespace, model, body), {}))


@router.post("/namespaces/{namespace}/policy/test")
def test_policy(reg: Reg, actor: Reader, namespace: str, body: Body) -> Response:
    """``{document, ref, target}``: what a policy not yet stored would decide."""
    fields = _fields(body, {"document", "ref", "target"}, "a policy test")
    ref = parse_reference(fields.get("ref"))
    if ref.namespace != namespace:
        raise InvalidInput("test a version of this namespace")
    target = fields.get("target", "")
    found = reg.lifecycle.test_policy(actor, ref, target, fields.get("document"))
    return wire.ok(found.to_dict())


@router.post(VERSION + "/deployments", status_code=201)
def record_deployment(
    reg: Reg, actor: Deployer, namespace: str, model: str, selector: str, body: Body
) -> Response:
    """``{target, strategy, weight, outcome, load_time_ms?, alias?, details?}``."""
    recorded = reg.deployments.record(actor, version_ref(namespace, model, selector), body)
    return wire.ok(wire.deployment(recorded), 201)


@router.get(VERSION + "/deployments")
async def version_deployments(
    reg: Reg, actor: Reader, namespace: str, model: str, selector: str
) -> Response:
    ref = version_ref(namespace, model, selector)
    found = await reading(reg, reg.deployments.find, actor, namespace, ref=ref)
    return wire.ok({"items": [wire.deployment(d) for d in found]})


@router.get("/namespaces/{namespace}/deployments")
async def deployments(
    reg: Reg, actor: Reader, namespace: str, model: str | None = None, target: str | None = None
) -> Response:
    found = await reading(reg, reg.deployments.find, actor, namespace, model=model, target=target)
    return wire.ok({"items": [wire.deployment(d) for d in found]})


@router.post(MODEL + "/aliases/{alias}/rollback")
def rollback(
    reg: Reg, actor: Deployer, namespace: str, model: str, alias: str, body: Body
) -> Response:
    """Move the alias back (``{to: N}``, or the previous eligible version) and record it."""
    to = _fields(body, {"to"}, "a rollback").get("to")
    if to is not None and (type(to) is not int or to < 1):
        raise InvalidInput("to is a version number")
    version, deployment = reg.deployments.rollback(actor, namespace, model, alias, to)
    return wire.ok({"version": wire.version(version), "deployment": wire.deployment(deployment)})


@router.post("/namespaces/{namespace}/retention")
def apply_retention(reg: Reg, actor: Admin, namespace: str, body: Body) -> Response:
    """Run a retention round now: archive, plan deletions, delete what was planned at least
    the grace period before (``{dry_run: true}``: list, change nothing)."""
    dry_run = _fields(body, {"dry_run"}, "a retention run").get("dry_run", False)
    if type(dry_run) is not bool:
        raise InvalidInput("dry_run is true or false")
    actions = reg.retention.apply(actor, namespace, dry_run=dry_run)
    return wire.ok(
        {
            "dry_run": dry_run,
            "actions": [{"action": a.action, "ref": a.ref, "reason": a.reason} for a in actions],
        }
    )

"""Promotion through the policy's gates, approvals, validations, policies, deployments,
rollback and retention."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response

from cairn.api.bodies import StrictBodyRoute, ok
from cairn.api.deps import Admin, Approver, Deployer, Reader, RowId, Svc, Writer, reading
from cairn.api.params import AliasName, ModelName, NamespaceName, Selector
from cairn.api.routes import API_PREFIX
from cairn.api.routes.models import MODEL
from cairn.api.routes.versions import VERSION, version_ref
from cairn.domain.references import parse_reference
from cairn.errors import InvalidInput
from cairn.services.lifecycle import Promotion as Promoted
from cairn.wire.base import Items
from cairn.wire.deployments import Deployment, NewDeployment, Rollback, RolledBack
from cairn.wire.policies import (
    DefaultPolicy,
    PolicyDocument,
    PolicyTest,
    StoredPolicy,
    policy_in_force,
)
from cairn.wire.promotions import (
    ApprovalRequest,
    Decision,
    NewPromotion,
    Promotion,
    Review,
    Reviewed,
    Target,
)
from cairn.wire.retention import RetentionReport, RetentionRun, RetentionStep
from cairn.wire.validations import NewValidation, NewWaiver
from cairn.wire.versions import Validation, Version

router = APIRouter(route_class=StrictBodyRoute, prefix=API_PREFIX, tags=["lifecycle"])
Policy = StoredPolicy | DefaultPolicy


def _promotion(p: Promoted) -> Promotion:
    return Promotion.of(p.decision, p.version, p.request, p.applied)


@router.post(VERSION + "/promote", response_model=Promotion)
def promote_version(
    svc: Svc,
    actor: Writer,
    namespace: NamespaceName,
    model: ModelName,
    selector: Selector,
    body: NewPromotion,
) -> Response:
    """Move the version to ``target`` if its policy allows it now. When only approvals are
    missing, an approval request is opened (``request``) and the version stays. ``check``
    answers without acting. A denial is a 409 ``policy_violation`` listing every reason."""
    ref = version_ref(namespace, model, selector)
    done = svc.lifecycle.promote(actor, ref, body.target, body.reason, check=body.check)
    return ok(_promotion(done))


@router.get(VERSION + "/decision", response_model=Promotion)
async def get_promotion_decision(
    svc: Svc,
    actor: Reader,
    namespace: NamespaceName,
    model: ModelName,
    selector: Selector,
    target: Target,
) -> Response:
    """What the policy would decide for promoting the version to ``target`` now."""
    ref = version_ref(namespace, model, selector)
    done = await reading(svc, svc.lifecycle.promote, actor, ref, target, check=True)
    return ok(_promotion(done))


@router.post(VERSION + "/validations", status_code=201, response_model=Validation)
def add_validation(
    svc: Svc,
    actor: Reader,
    namespace: NamespaceName,
    model: ModelName,
    selector: Selector,
    body: NewValidation,
) -> Response:
    """Record a result from CI or a validator; each post is a new run, the newest counts.
    Cairn's built-in validations are refused (403 ``reserved_validation``), and so is a poster the
    policy does not allow (403 ``validator_not_allowed``); the policy decides who else."""
    added = svc.validations.add(actor, version_ref(namespace, model, selector), body.model_dump())
    return ok(Validation.of(added), 201)


@router.post(VERSION + "/validations/{name}/rerun", status_code=201, response_model=Validation)
def rerun_validation(
    svc: Svc,
    actor: Writer,
    namespace: NamespaceName,
    model: ModelName,
    selector: Selector,
    name: str,
) -> Response:
    """Run one of Cairn's built-in validations again: integrity, completeness, signature, scan."""
    ref = version_ref(namespace, model, selector)
    return ok(Validation.of(svc.validations.rerun(actor, ref, name)), 201)


@router.post(VERSION + "/scan/waivers", status_code=201, response_model=Validation)
def waive_finding(
    svc: Svc,
    actor: Approver,
    namespace: NamespaceName,
    model: ModelName,
    selector: Selector,
    body: NewWaiver,
) -> Response:
    """Waive one finding of the version's scan, with a reason (an approver, not the version's
    author; audited): the answer is the new scan result, whose status no longer counts it."""
    ref = version_ref(namespace, model, selector)
    return ok(Validation.of(svc.waivers.waive(actor, ref, body.finding, body.reason)), 201)


@router.get("/namespaces/{namespace}/approvals", response_model=Items[ApprovalRequest])
async def list_approval_requests(
    svc: Svc, actor: Reader, namespace: NamespaceName, status: str | None = "open"
) -> Response:
    """The namespace's approval requests in ``status`` (open, completed, rejected, expired;
    empty: all of them)."""
    found = await reading(svc, svc.lifecycle.requests, actor, namespace, status or None)
    return ok(Items[ApprovalRequest](items=[ApprovalRequest.of(r) for r in found]))


@router.post("/approvals/{request_id}/{verdict}", response_model=Reviewed)
def review_approval_request(
    svc: Svc,
    actor: Approver,
    request_id: RowId,
    verdict: Literal["approve", "reject"],
    body: Review,
) -> Response:
    """Approve or reject an open approval request; an approval that satisfies the policy
    completes the promotion (``promotion``)."""
    request, done = svc.lifecycle.review(actor, request_id, verdict, body.comment)
    promotion = _promotion(done) if done else None
    return ok(Reviewed(request=ApprovalRequest.of(request), promotion=promotion))


@router.get("/namespaces/{namespace}/policy", response_model=Policy)
async def get_namespace_policy(svc: Svc, actor: Reader, namespace: NamespaceName) -> Response:
    """The namespace's policy: its newest stored revision, else the default."""
    found = await reading(svc, svc.lifecycle.policy, actor, namespace, None)
    return ok(policy_in_force(found))


@router.put("/namespaces/{namespace}/policy", response_model=StoredPolicy)
def set_namespace_policy(
    svc: Svc, actor: Admin, namespace: NamespaceName, body: PolicyDocument
) -> Response:
    """Store a new revision of the namespace's policy (the body is the policy document)."""
    return ok(StoredPolicy.of(svc.lifecycle.set_policy(actor, namespace, None, body.root)))


@router.get(MODEL + "/policy", response_model=Policy)
async def get_model_policy(
    svc: Svc, actor: Reader, namespace: NamespaceName, model: ModelName
) -> Response:
    """The policy in force for the model: its override, else its namespace's, else the default."""
    found = await reading(svc, svc.lifecycle.policy, actor, namespace, model)
    return ok(policy_in_force(found))


@router.put(MODEL + "/policy", response_model=StoredPolicy)
def set_model_policy(
    svc: Svc, actor: Admin, namespace: NamespaceName, model: ModelName, body: PolicyDocument
) -> Response:
    """Store a new revision of the model's own policy, which overrides its namespace's."""
    return ok(StoredPolicy.of(svc.lifecycle.set_policy(actor, namespace, model, body.root)))


@router.post("/namespaces/{namespace}/policy/test", response_model=Decision)
def test_policy(svc: Svc, actor: Reader, namespace: NamespaceName, body: PolicyTest) -> Response:
    """What a policy not yet stored would decide for a version of this namespace."""
    ref = parse_reference(body.ref)
    if ref.namespace != namespace:
        raise InvalidInput("test a version of this namespace")
    found = svc.lifecycle.test_policy(actor, ref, body.target, body.document.root)
    return ok(Decision.of(found))


@router.post(VERSION + "/deployments", status_code=201, response_model=Deployment)
def record_deployment(
    svc: Svc,
    actor: Deployer,
    namespace: NamespaceName,
    model: ModelName,
    selector: Selector,
    body: NewDeployment,
) -> Response:
    """Record a step of a rollout of the version, as an orchestrator sees it."""
    ref = version_ref(namespace, model, selector)
    return ok(Deployment.of(svc.deployments.record(actor, ref, body.model_dump())), 201)


@router.get(VERSION + "/deployments", response_model=Items[Deployment])
async def list_version_deployments(
    svc: Svc, actor: Reader, namespace: NamespaceName, model: ModelName, selector: Selector
) -> Response:
    """The version's deployments, newest first."""
    ref = version_ref(namespace, model, selector)
    found = await reading(svc, svc.deployments.find, actor, namespace, ref=ref)
    return ok(Items[Deployment](items=[Deployment.of(d) for d in found]))


@router.get("/namespaces/{namespace}/deployments", response_model=Items[Deployment])
async def list_deployments(
    svc: Svc,
    actor: Reader,
    namespace: NamespaceName,
    model: str | None = None,
    target: str | None = None,
) -> Response:
    """The namespace's deployments, newest first: of one ``model``, on one ``target``."""
    found = await reading(svc, svc.deployments.find, actor, namespace, model=model, target=target)
    return ok(Items[Deployment](items=[Deployment.of(d) for d in found]))


@router.post(MODEL + "/aliases/{alias}/rollback", response_model=RolledBack)
def rollback_alias(
    svc: Svc,
    actor: Deployer,
    namespace: NamespaceName,
    model: ModelName,
    alias: AliasName,
    body: Rollback,
) -> Response:
    """Move the alias back (to version ``to``, or the previous eligible version), archive the
    production version it leaves, and record it as a deployment."""
    version, deployment = svc.deployments.rollback(actor, namespace, model, alias, body.to)
    return ok(RolledBack(version=Version.of(version), deployment=Deployment.of(deployment)))


@router.post("/namespaces/{namespace}/retention", response_model=RetentionReport)
def apply_retention(
    svc: Svc, actor: Admin, namespace: NamespaceName, body: RetentionRun
) -> Response:
    """Run a retention round now: archive, plan deletions, delete what was planned at least
    the grace period before (``dry_run``: list, change nothing)."""
    actions = svc.retention.apply(actor, namespace, dry_run=body.dry_run)
    steps = [RetentionStep(action=a.action, ref=a.ref, reason=a.reason) for a in actions]
    return ok(RetentionReport(dry_run=body.dry_run, actions=steps))

"""The approvals inbox (each request with its policy explained, and a review form for those
who may approve) and the deployments, grouped by target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cairn.api.deps import RowId, Svc
from cairn.api.pages.render import page
from cairn.api.pages.session import Acting, Form, Looking, Viewer
from cairn.domain.lifecycle import Check, Decision, Gate
from cairn.domain.records import Deployment, PolicyRevision
from cairn.services.lifecycle import REQUEST_STATUSES, Explained

router = APIRouter(include_in_schema=False)
REQUESTS_SHOWN = 25
DEPLOYMENTS_SHOWN = 100
OTHER_CHECKS = {"transition": "a move the lifecycle allows"}


@router.get("/approvals", name="approvals_page")
def approvals(
    request: Request,
    svc: Svc,
    viewer: Looking,
    status: str = "open",
    cursor: str | None = None,
    done: int | None = None,
) -> HTMLResponse:
    found = svc.lifecycle.inbox(viewer.actor, status, cursor or None, REQUESTS_SHOWN)
    items = [_explained(e, viewer) for e in found.items]
    more = _query(status=status, cursor=found.next_cursor) if found.next_cursor else None
    return page(request, "approvals.html", viewer, showing=status, statuses=REQUEST_STATUSES,
                items=items, more=more, done=done)  # fmt: skip


@router.post("/approvals/{request_id}/review", name="review_approval")
def review_approval(request_id: RowId, svc: Svc, viewer: Acting, form: Form) -> Response:
    verdict, comment = form.get("decision", ""), form.get("comment", "")
    svc.lifecycle.review(viewer.actor, request_id, verdict, comment)
    return RedirectResponse(f"/approvals?done={request_id}", status_code=303)


@router.get("/deployments", name="deployments_page")
def deployments(
    request: Request, svc: Svc, viewer: Looking, target: str = "", cursor: str | None = None
) -> HTMLResponse:
    found = svc.deployments.recent(viewer.actor, target or None, cursor or None, DEPLOYMENTS_SHOWN)
    more = _query(target=target, cursor=found.next_cursor) if found.next_cursor else None
    return page(request, "deployments.html", viewer, target=target, groups=_by_target(found.items),
                more=more, shown=DEPLOYMENTS_SHOWN)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Requirement:
    """One thing the policy asks, in plain words, and whether this version meets it now
    (``passed`` None: not evaluated, the request is closed)."""

    text: str
    expr: str | None = None
    passed: bool | None = None
    reason: str = ""


def _explained(found: Explained, viewer: Viewer) -> dict[str, Any]:
    request, version = found.request, found.version
    reviewed = {a.approver for a in request.approvals}
    own = viewer.actor.name in {version.author, request.requested_by}
    may = viewer.signed_in and viewer.may("approve", version.namespace)
    return {
        "e": found,
        "path": version_path(request.ref),
        "source": _source(found.policy),
        "requirements": requirements(found.gate, found.decision),
        "may_review": may and request.status == "open" and not found.lapsed,
        "own": own and found.gate.separation_of_duties,
        "reviewed": viewer.actor.name in reviewed,
    }


def requirements(gate: Gate, decision: Decision | None) -> list[Requirement]:
    """What ``gate`` asks in plain words, each with its check in ``decision`` (None: not
    evaluated), then any other check the decision made (the transition, a failed validation)."""
    checks: dict[str, Check] = {c.check: c for c in decision.checks} if decision else {}
    asked: list[tuple[str, str, str | None]] = []  # (check, plain words, CEL expression)
    needed = "no approval" if not gate.approvals else (
        f"{gate.approvals} approval{'s' if gate.approvals > 1 else ''} from approvers"
        + (", not the version's author or the requester" if gate.separation_of_duties else "")
    )  # fmt: skip
    asked.append(("approvals", f"needs {needed}", None))
    asked.extend((f"rule {r.name}", f"rule “{r.name}”", r.expr) for r in gate.rules)
    asked.extend((f"validation {v}", f"validation {v} passed", None)
                 for v in gate.required_validations)  # fmt: skip
    if gate.require_signature:
        asked.append(("signature", "a verified signature", None))
    if gate.require_clean_scan:
        clean = "clean (warnings accepted)" if gate.accept_scan_warnings else "clean"
        asked.append(("scan", f"a finished, {clean} scan", None))
    named = {check for check, _, _ in asked}
    asked.extend(
        (c.check, OTHER_CHECKS.get(c.check, c.check), None)
        for c in checks.values()
        if c.check not in named
    )
    return [
        Requirement(text, expr, checks[c].passed, checks[c].reason)
        if c in checks
        else Requirement(text, expr)
        for c, text, expr in asked
    ]


def _source(policy: PolicyRevision | None) -> str:
    if policy is None:
        return "Cairn's default policy (no policy is stored for this namespace or model)"
    whose = f"the model {policy.model}'s own" if policy.model else f"namespace {policy.namespace}'s"
    return f"{whose} policy, revision {policy.revision}, set by {policy.created_by}"


def _by_target(found: list[Deployment]) -> list[tuple[str, list[tuple[Deployment, str]]]]:
    """The deployments grouped by target, the most recently used target first."""
    groups: dict[str, list[tuple[Deployment, str]]] = {}
    for d in found:
        groups.setdefault(d.target, []).append((d, version_path(d.ref)))
    return list(groups.items())


def version_path(ref: str) -> str:
    """The page of the version ``namespace/model:number``."""
    namespace, _, rest = ref.partition("/")
    model, _, number = rest.rpartition(":")
    return f"/models/{quote(namespace, safe='')}/{quote(model, safe='')}/versions/{number}"


def _query(**values: str | None) -> str:
    return "?" + urlencode({k: v for k, v in values.items() if v})

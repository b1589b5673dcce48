"""A namespace (its models and policy), a model (card, versions, aliases, a metric across
versions) and an alias's history.

A model's page reads one page of its versions (``?cursor=``), never all of them: the metric
names offered, the key metrics shown and the chart all come from that page, so a model with
100,000 versions draws as fast as one with ten.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from cairn.api.deps import Svc
from cairn.api.pages.charts import Point, line_chart
from cairn.api.pages.markdown import render_markdown
from cairn.api.pages.render import page
from cairn.api.pages.session import Looking
from cairn.api.params import AliasName, ModelName, NamespaceName
from cairn.domain.lifecycle import DEFAULT_POLICY, Gate, parse_policy
from cairn.domain.records import PolicyRevision, Version
from cairn.errors import AliasNotFound
from cairn.services.auth import Actor
from cairn.services.container import Services

router = APIRouter(include_in_schema=False)
MODELS_SHOWN = 50
VERSIONS_SHOWN = 25
KEY_METRICS = 4  # columns of metrics in the versions table; the chart can show any of them

Cursor = Annotated[str | None, Query(max_length=200, description="Where the page starts.")]
MetricName = Annotated[str | None, Query(max_length=500, description="The metric to chart.")]


@router.get("/namespaces/{namespace}", name="namespace_page")
def namespace_page(
    request: Request, svc: Svc, viewer: Looking, namespace: NamespaceName, cursor: Cursor = None
) -> HTMLResponse:
    actor = viewer.actor
    found = svc.namespaces.get(actor, namespace)
    models = svc.models.page(actor, found.name, None, cursor, MODELS_SHOWN)
    policy = policy_summary(svc.lifecycle.policy(actor, found.name, None))
    return page(request, "namespace.html", viewer, namespace=found, models=models, policy=policy)


@router.get("/models/{namespace}/{model}", name="model_page")
def model_page(
    request: Request,
    svc: Svc,
    viewer: Looking,
    namespace: NamespaceName,
    model: ModelName,
    cursor: Cursor = None,
    metric: MetricName = None,
) -> HTMLResponse:
    seen = model_view(svc, viewer.actor, namespace, model, cursor, metric)
    return page(request, "model.html", viewer, cursor=cursor, **seen)


@router.get("/models/{namespace}/{model}/aliases/{alias}", name="alias_page")
def alias_page(
    request: Request,
    svc: Svc,
    viewer: Looking,
    namespace: NamespaceName,
    model: ModelName,
    alias: AliasName,
) -> HTMLResponse:
    found = svc.models.get(viewer.actor, namespace, model)
    events = svc.aliases.history(viewer.actor, found.namespace, found.name, alias)
    name = events[0].alias if events else alias
    if not events and name not in found.aliases:
        raise AliasNotFound(f"{found.ref} has no alias @{alias} and never had one")
    newest_first = list(reversed(events))
    return page(request, "alias.html", viewer, model=found, alias=name, events=newest_first,
                current=found.aliases.get(name))  # fmt: skip


def model_view(
    svc: Services, actor: Actor, namespace: str, model: str, cursor: str | None, metric: str | None
) -> dict[str, Any]:
    """What a model's page shows, from the model and one page of its versions."""
    found = svc.models.get(actor, namespace, model)
    versions = svc.versions.page(actor, found.namespace, found.name, cursor, VERSIONS_SHOWN)
    names = sorted({name for v in versions.items for name in v.metrics})
    chosen = metric if metric in names else (names[0] if names else None)
    key_metrics = ([chosen] if chosen else []) + [n for n in names if n != chosen]
    return {
        "model": found,
        "versions": versions,
        "metric_names": names,
        "metric": chosen,
        "key_metrics": key_metrics[:KEY_METRICS],
        "chart": metric_chart(chosen, versions.items) if chosen else None,
        "card": render_markdown(found.card),
        "aliases": sorted(found.aliases.items()),
    }


def metric_chart(metric: str, versions: list[Version]) -> Any:
    """``metric`` across ``versions`` (a page, newest first), drawn oldest to newest."""
    points = [
        Point(f"v{v.number}", v.metrics[metric], version_url(v.namespace, v.model, v.number))
        for v in reversed(versions)
        if metric in v.metrics
    ]
    return line_chart(f"{metric} across versions", points)


def version_url(namespace: str, model: str, number: int) -> str:
    return f"/models/{quote(namespace, safe='')}/{quote(model, safe='')}/versions/{number}"


def policy_summary(revision: PolicyRevision | None) -> dict[str, Any]:
    """The namespace's policy in a few words: what each state's gate asks, which aliases are
    bound to a state. (Rules are counted, not shown: the policy's own page explains them.)"""
    policy = parse_policy(revision.document if revision else DEFAULT_POLICY)
    return {
        "revision": revision,
        "gates": [(target, _gate_words(gate)) for target, gate in sorted(policy.gates.items())],
        "protected_aliases": sorted(policy.protected_aliases.items()),
    }


def _gate_words(gate: Gate) -> list[str]:
    words = []
    if gate.approvals:
        several = "s" if gate.approvals > 1 else ""
        others = " from others than the requester" if gate.separation_of_duties else ""
        words.append(f"{gate.approvals} approval{several}{others}")
    if gate.require_signature:
        words.append("a verified signature")
    if gate.require_clean_scan:
        words.append("a clean scan" + (" (warnings accepted)" if gate.accept_scan_warnings else ""))
    if gate.required_validations:
        words.append("validations passed: " + ", ".join(gate.required_validations))
    for rule in gate.rules:
        words.append(f"rule “{rule.name}”")
    return words or ["nothing beyond the state machine"]

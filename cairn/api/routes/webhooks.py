"""Webhook subscriptions, their deliveries, tests and replays."""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from cairn.api import wire
from cairn.api.bodies import StrictBodyRoute
from cairn.api.deps import Admin, Body, Reg, RowId
from cairn.api.routes import API_PREFIX
from cairn.errors import InvalidInput

router = APIRouter(route_class=StrictBodyRoute, prefix=API_PREFIX, tags=["webhooks"])


@router.post("/namespaces/{namespace}/webhooks", status_code=201)
def add_webhook(reg: Reg, actor: Admin, namespace: str, body: Body) -> Response:
    """``{url, event_types?}``; namespace ``*``: every namespace. The secret is shown once."""
    if not isinstance(body, dict) or set(body) - {"url", "event_types"}:
        raise InvalidInput("a webhook is {url, event_types}")
    types = body.get("event_types", [])
    if not isinstance(types, list):
        raise InvalidInput("event_types is a list")
    hook, secret = reg.webhooks.add(actor, namespace, body.get("url"), types)
    return wire.ok({"webhook": wire.webhook(hook), "secret": secret}, 201)


@router.get("/namespaces/{namespace}/webhooks")
def list_webhooks(reg: Reg, actor: Admin, namespace: str) -> Response:
    found = reg.webhooks.of_namespace(actor, namespace)
    return wire.ok({"items": [wire.webhook(h) for h in found]})


@router.delete("/webhooks/{webhook_id}", status_code=204)
def remove_webhook(reg: Reg, actor: Admin, webhook_id: RowId) -> Response:
    reg.webhooks.remove(actor, webhook_id)
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/enable")
def enable_webhook(reg: Reg, actor: Admin, webhook_id: RowId) -> Response:
    return wire.ok(wire.webhook(reg.webhooks.enable(actor, webhook_id)))


@router.post("/webhooks/{webhook_id}/test")
async def test_webhook(reg: Reg, actor: Admin, webhook_id: RowId) -> Response:
    """Send a ``webhook.test`` event now; the delivery with its attempt."""
    sent = await run_in_threadpool(reg.webhooks.test, actor, webhook_id)
    return wire.ok(wire.delivery(sent))


@router.get("/webhooks/{webhook_id}/deliveries")
def list_deliveries(reg: Reg, actor: Admin, webhook_id: RowId, limit: int = 100) -> Response:
    """The delivery log, newest first, with every attempt."""
    found = reg.webhooks.deliveries(actor, webhook_id, limit)
    return wire.ok({"items": [wire.delivery(d) for d in found]})


@router.post("/deliveries/{delivery_id}/replay", status_code=201)
def replay_delivery(reg: Reg, actor: Admin, delivery_id: RowId) -> Response:
    """Send the delivery's event again, as a new delivery due now."""
    return wire.ok(wire.delivery(reg.webhooks.replay(actor, delivery_id)), 201)

"""Webhook subscriptions, their deliveries, tests and replays."""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from cairn.api.bodies import StrictBodyRoute, ok
from cairn.api.deps import Admin, RowId, Svc
from cairn.api.params import Scope
from cairn.api.routes import API_PREFIX
from cairn.wire.base import Items
from cairn.wire.webhooks import CreatedWebhook, Delivery, NewWebhook, Webhook

router = APIRouter(route_class=StrictBodyRoute, prefix=API_PREFIX, tags=["webhooks"])


@router.post("/namespaces/{namespace}/webhooks", status_code=201, response_model=CreatedWebhook)
def add_webhook(svc: Svc, actor: Admin, namespace: Scope, body: NewWebhook) -> Response:
    """Subscribe a URL to a namespace's events (namespace ``*``: every namespace's). The secret
    that signs the deliveries is in this response only."""
    hook, secret = svc.webhooks.add(actor, namespace, body.url, body.event_types)
    return ok(CreatedWebhook.of(hook, secret), 201)


@router.get("/namespaces/{namespace}/webhooks", response_model=Items[Webhook])
def list_webhooks(svc: Svc, actor: Admin, namespace: Scope) -> Response:
    found = svc.webhooks.of_namespace(actor, namespace)
    return ok(Items[Webhook](items=[Webhook.of(h) for h in found]))


@router.delete("/webhooks/{webhook_id}", status_code=204)
def remove_webhook(svc: Svc, actor: Admin, webhook_id: RowId) -> Response:
    svc.webhooks.remove(actor, webhook_id)
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/enable", response_model=Webhook)
def enable_webhook(svc: Svc, actor: Admin, webhook_id: RowId) -> Response:
    """Deliver to a webhook again after the server disabled it."""
    return ok(Webhook.of(svc.webhooks.enable(actor, webhook_id)))


@router.post("/webhooks/{webhook_id}/test", response_model=Delivery)
async def test_webhook(svc: Svc, actor: Admin, webhook_id: RowId) -> Response:
    """Send a ``webhook.test`` event now; the delivery with its attempt."""
    sent = await run_in_threadpool(svc.webhooks.test, actor, webhook_id)
    return ok(Delivery.of(sent))


@router.get("/webhooks/{webhook_id}/deliveries", response_model=Items[Delivery])
def list_deliveries(svc: Svc, actor: Admin, webhook_id: RowId, limit: int = 100) -> Response:
    """The delivery log, newest first, with every attempt."""
    found = svc.webhooks.deliveries(actor, webhook_id, limit)
    return ok(Items[Delivery](items=[Delivery.of(d) for d in found]))


@router.post("/deliveries/{delivery_id}/replay", status_code=201, response_model=Delivery)
def replay_delivery(svc: Svc, actor: Admin, delivery_id: RowId) -> Response:
    """Send the delivery's event again, as a new delivery due now."""
    return ok(Delivery.of(svc.webhooks.replay(actor, delivery_id)), 201)

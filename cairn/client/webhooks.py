"""The SDK's calls about webhooks. ``Client`` has them all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cairn.client.http import Http
from cairn.wire import paths


class WebhookCalls:
    http: Http

    def add_webhook(
        self, namespace: str, url: str, event_types: Sequence[str] = ()
    ) -> dict[str, Any]:
        """``cairn.add_webhook("risk", "https://ci.example/hook", ["version.*"])``: returns the
        subscription and its signing ``secret`` (shown this once)."""
        path = paths.webhooks(namespace)
        body = {"url": url, "event_types": list(event_types)}
        result: dict[str, Any] = self.http.json("POST", path, json=body)
        return result

    def webhooks(self, namespace: str) -> list[dict[str, Any]]:
        path = paths.webhooks(namespace)
        items: list[dict[str, Any]] = self.http.json("GET", path)["items"]
        return items

    def remove_webhook(self, webhook_id: int) -> None:
        self.http.request("DELETE", paths.webhook(webhook_id))

    def enable_webhook(self, webhook_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self.http.json("POST", paths.enable_webhook(webhook_id))
        return result

    def test_webhook(self, webhook_id: int) -> dict[str, Any]:
        """Send a ``webhook.test`` event now; the delivery, with its attempt."""
        result: dict[str, Any] = self.http.json("POST", paths.try_webhook(webhook_id))
        return result

    def deliveries(self, webhook_id: int, limit: int = 100) -> list[dict[str, Any]]:
        path = paths.webhook_deliveries(webhook_id)
        items: list[dict[str, Any]] = self.http.json("GET", path, params={"limit": limit})["items"]
        return items

    def replay(self, delivery_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self.http.json("POST", paths.replay_delivery(delivery_id))
        return result

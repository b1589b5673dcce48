"""The SDK's calls about webhooks. ``Client`` has them all; each answers the
``cairn.wire.webhooks`` record its route declares."""

from __future__ import annotations

from collections.abc import Sequence

from cairn.client.http import Http
from cairn.wire import paths
from cairn.wire.webhooks import CreatedWebhook, Delivery, Webhook


class WebhookCalls:
    http: Http

    def add_webhook(
        self, namespace: str, url: str, event_types: Sequence[str] = ()
    ) -> CreatedWebhook:
        """Subscribe a URL to a namespace's events (``"*"``: every namespace's); answers the
        subscription and the secret that signs its deliveries, shown this once:

        >>> hook = "https://ci.example/hook"  # doctest: +SKIP
        >>> done = cairn.add_webhook("risk", hook, ["version.*"])  # doctest: +SKIP
        >>> done.webhook.id, done.secret  # doctest: +SKIP
        (3, 'whsec_…')
        """
        path = paths.webhooks(namespace)
        body = {"url": url, "event_types": list(event_types)}
        return self.http.record(CreatedWebhook, "POST", path, json=body)

    def webhooks(self, namespace: str) -> list[Webhook]:
        """A namespace's subscriptions (``"*"``: those to every namespace's events):

        >>> [(h.id, h.url, h.enabled) for h in cairn.webhooks("risk")]  # doctest: +SKIP
        [(3, 'https://ci.example/hook', True)]
        """
        return self.http.records(Webhook, "GET", paths.webhooks(namespace))

    def remove_webhook(self, webhook_id: int) -> None:
        """Remove a subscription; nothing more is delivered to it:

        >>> cairn.remove_webhook(3)  # doctest: +SKIP
        """
        self.http.request("DELETE", paths.webhook(webhook_id))

    def enable_webhook(self, webhook_id: int) -> Webhook:
        """Enable again a subscription the server disabled for failing:

        >>> cairn.enable_webhook(3).consecutive_failures  # doctest: +SKIP
        0
        """
        return self.http.record(Webhook, "POST", paths.enable_webhook(webhook_id))

    def test_webhook(self, webhook_id: int) -> Delivery:
        """Send a ``webhook.test`` event now; answers the delivery, with its attempt:

        >>> sent = cairn.test_webhook(3)  # doctest: +SKIP
        >>> sent.status, sent.last_status  # doctest: +SKIP
        ('succeeded', 200)
        """
        return self.http.record(Delivery, "POST", paths.try_webhook(webhook_id))

    def deliveries(self, webhook_id: int, limit: int = 100) -> list[Delivery]:
        """A subscription's delivery log, each event with its status and attempts:

        >>> [(d.event_type, d.status) for d in cairn.deliveries(3)]  # doctest: +SKIP
        [('version.register', 'succeeded')]
        """
        path = paths.webhook_deliveries(webhook_id)
        return self.http.records(Delivery, "GET", path, params={"limit": limit})

    def replay(self, delivery_id: int) -> Delivery:
        """Send a delivery's event again, as a new delivery:

        >>> cairn.replay(17).status  # doctest: +SKIP
        'pending'
        """
        return self.http.record(Delivery, "POST", paths.replay_delivery(delivery_id))

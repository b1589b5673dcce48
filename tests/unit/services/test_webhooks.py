"""The webhook sender over real storage: a test delivery is sent once, by the request that
asked for it, even if the background sender sweeps while it is on the wire."""

from __future__ import annotations

from cairn.services.auth import LOCAL_ADMIN
from cairn.services.container import Services
from cairn.services.webhooks import Sent


class SweepingTransport:
    """Answers 204, and while each request is 'on the wire' lets the background sender run."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.posts: list[str] = []
        self.swept: list[int] = []

    def post(self, url: str, headers: dict[str, str], body: bytes, timeout: float) -> Sent:
        self.posts.append(headers["webhook-id"])
        self.swept.append(self.services.webhooks.send_due())
        return Sent(204)


def test_a_test_delivery_is_not_also_taken_by_the_background_sender(
    services: Services,
) -> None:
    services.webhooks.resolve = lambda host, port: ["93.184.216.34"]  # a public address
    hook, _ = services.webhooks.add(LOCAL_ADMIN, "default", "https://hooks.example.com/x")
    transport = SweepingTransport(services)
    services.webhooks.transport = transport
    sent = services.webhooks.test(LOCAL_ADMIN, hook.id)
    assert (sent.status, sent.attempts) == ("succeeded", 1)
    assert transport.swept == [0] and len(transport.posts) == 1
    assert services.webhooks.send_due() == 0  # and nothing is left for later either

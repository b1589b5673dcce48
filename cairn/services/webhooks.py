"""Events to webhooks: subscriptions, fan-out from the outbox, signed delivery with retries.

Every mutation writes an event in its own transaction (the ``events`` outbox). ``dispatch``
fans undispatched events out to the subscriptions that want them (a delivery row each) and
marks them dispatched, in one transaction; ``send_due`` claims due deliveries in a short
transaction (a lease: a claim whose process dies is taken again when the lease runs out),
sends them outside it, and records the attempt. Both run from the database in every server
process (``SKIP LOCKED`` on PostgreSQL), so several processes share the work and none is lost.
Delivery is at least once: a receiver dedupes on ``webhook-id`` (the event's id).

Secrets are shown once and stored encrypted with a key kept outside the database
(``CAIRN_WEBHOOK_KEY_FILE``), because signing needs them back.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import orjson
from cryptography.fernet import Fernet, InvalidToken

from cairn.domain.audit import entry_time
from cairn.domain.names import normalize_name
from cairn.domain.records import Delivery, Webhook
from cairn.domain.webhooks import (
    DISABLE_AFTER_FAILURES,
    MAX_ATTEMPTS,
    Network,
    backoff,
    check_url,
    event_namespace,
    matches,
    new_secret,
    parse_retry_after,
    sign,
    target_refusal,
)
from cairn.errors import ConfigError, InvalidInput, NotFound, WebhookTargetRefused
from cairn.services.auth import EVERYWHERE, SYSTEM, Actor, Permission, authorize
from cairn.services.keyfiles import load_or_create
from cairn.services.uow import Database, UnitOfWork

log = logging.getLogger("cairn.webhooks")
LEASE = timedelta(seconds=60)
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Sent:
    """What a receiver answered; ``status`` None when no answer came (``error`` says why).
    ``permanent``: trying again cannot help (the SSRF guard refused the target), so the
    delivery fails now instead of being retried."""

    status: int | None
    retry_after: str | None = None
    error: str | None = None
    permanent: bool = False


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to now; none if it does not resolve."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in found})


class WebhookTransport(Protocol):
    """Sends one signed POST; never raises for the receiver's failures, it reports them."""

    def post(self, url: str, headers: dict[str, str], body: bytes, timeout: float) -> Sent: ...


class SecretBox:
    """Encrypts webhook secrets with a key file outside the database (created on first use,
    mode 0600, exclusively: several processes starting at once agree)."""

    def __init__(self, path: Path) -> None:
        key = load_or_create(path, Fernet.generate_key)
        try:
            self._fernet = Fernet(key)
        except ValueError as exc:
            raise ConfigError(
                f"CAIRN_WEBHOOK_KEY_FILE: {path} holds no key", setting="CAIRN_WEBHOOK_KEY_FILE"
            ) from exc

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except InvalidToken as exc:
            raise ConfigError(
                "CAIRN_WEBHOOK_KEY_FILE: this key did not seal the stored webhook secrets",
                setting="CAIRN_WEBHOOK_KEY_FILE",
            ) from exc


class WebhookService:
    def __init__(
        self,
        db: Database,
        box: SecretBox,
        max_attempts: int = MAX_ATTEMPTS,
        disable_after: int = DISABLE_AFTER_FAILURES,
        timeout: float = TIMEOUT_SECONDS,
        allow: Sequence[Network] = (),
        resolve: Callable[[str, int], list[str]] = resolve_host,
    ) -> None:
        self.db = db
        self.box = box
        self.allow = list(allow)  # CAIRN_WEBHOOK_ALLOW: what the guard lets through anyway
        self.resolve = resolve
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.disable_after = disable_after
        self.transport: WebhookTransport | None = None  # set by the server (api layer)

    # ------------------------------------------------------------------ subscriptions
    def add(
        self, actor: Actor, namespace: str, url: object, event_types: Sequence[str] = ()
    ) -> tuple[Webhook, str]:
        """Subscribe ``url`` to ``namespace``'s events (``*``: every namespace, global admins)
        of ``event_types`` (empty: all; ``version.*``: a family). The secret is returned once.
        A URL whose host resolves only to addresses the SSRF guard refuses is refused now
        (``WebhookTargetRefused``), not at its first delivery; each connection is still
        checked, since the name may resolve elsewhere later."""
        target = self._check_target(check_url(url))
        scope = (
            namespace if namespace == EVERYWHERE else normalize_name(namespace, kind="namespace")
        )
        types = list(event_types)
        if len(types) > 50 or not all(isinstance(t, str) and 0 < len(t) <= 100 for t in types):
            raise InvalidInput("event types are at most 50 names like version.register")
        secret = new_secret()
        with self.db.write(actor, Permission.ADMIN, scope) as uow:
            webhook_id = uow.store.webhooks.add(
                {
                    "namespace": scope,
                    "url": target,
                    "event_types": types,
                    "secret": self.box.seal(secret),
                    "enabled": True,
                    "disabled_reason": None,
                    "consecutive_failures": 0,
                    "created_by": actor.name,
                    "created_at": uow.now,
                }
            )
            subject = f"webhook/{webhook_id}"
            uow.record("webhook.add", subject, namespace=scope, url=target, event_types=types)
            return self._get(uow, webhook_id)[0], secret

    def of_namespace(self, actor: Actor, namespace: str) -> list[Webhook]:
        with self.db.read(actor, namespace, Permission.ADMIN) as store:
            return store.webhooks.find(namespace)

    def remove(self, actor: Actor, webhook_id: int) -> None:
        with self.db.write(actor, Permission.READ, None) as uow:
            found = self._authorised(uow, actor, webhook_id)
            uow.store.webhooks.remove(found.id)
            uow.record("webhook.remove", f"webhook/{found.id}", namespace=found.namespace)

    def enable(self, actor: Actor, webhook_id: int) -> Webhook:
        """Enable a subscription again (after it was disabled for failing); its URL passes the
        SSRF guard again first, as when it was added."""
        with self.db.read(actor, None) as store:
            hook = store.webhooks.get(webhook_id)
        if hook is not None:
            authorize(actor, Permission.ADMIN, hook[0].namespace)
            self._check_target(hook[0].url)
        with self.db.write(actor, Permission.READ, None) as uow:
            found = self._authorised(uow, actor, webhook_id)
            uow.store.webhooks.update(
                found.id, enabled=True, disabled_reason=None, consecutive_failures=0
            )
            uow.record("webhook.enable", f"webhook/{found.id}")
            return self._get(uow, found.id)[0]

    def deliveries(self, actor: Actor, webhook_id: int, limit: int = 100) -> list[Delivery]:
        with self.db.write(actor, Permission.READ, None) as uow:
            found = self._authorised(uow, actor, webhook_id)
            return uow.store.webhooks.deliveries(
                webhook_id=found.id, limit=max(1, min(limit, 1000)), with_log=True
            )

    def replay(self, actor: Actor, delivery_id: int) -> Delivery:
        """Send a delivery's event again (a new delivery, due now; same ``webhook-id``)."""
        with self.db.write(actor, Permission.READ, None) as uow:
            original = uow.store.webhooks.delivery(delivery_id)
            if original is None:
                raise NotFound(f"no delivery {delivery_id}", delivery=delivery_id)
            self._authorised(uow, actor, original.webhook_id)
            self._queue(uow, original.webhook_id, original.event_id)
            uow.record("webhook.replay", f"webhook/{original.webhook_id}", delivery=delivery_id)
            return uow.store.webhooks.deliveries(webhook_id=original.webhook_id, limit=1)[0]

    def test(self, actor: Actor, webhook_id: int) -> Delivery:
        """Queue a ``webhook.test`` event for this subscription alone and send it now."""
        with self.db.write(actor, Permission.READ, None) as uow:
            found = self._authorised(uow, actor, webhook_id)
            # Audited without an outbox event: the test event is queued for this one hook.
            uow.record("webhook.test", f"webhook/{found.id}", event=False)
            event_id = uow.store.journal.add_event(
                at=uow.now,
                type="webhook.test",
                subject=f"{found.namespace}/webhook-test",
                payload={"actor": actor.name, "webhook": found.id},
                dispatched=True,
            )
            # Queued already claimed (the lease of ``send_due``), so the background sender
            # cannot take it too while it is being sent here.
            self._queue(uow, found.id, event_id, leased=True)
            delivery = uow.store.webhooks.deliveries(webhook_id=found.id, limit=1)[0]
        self._send(delivery.id)
        with self.db.read_unchecked() as store:
            sent = store.webhooks.delivery(delivery.id)
        assert sent is not None
        return sent

    def _check_target(self, url: str) -> str:
        """``url``, unless its host resolves now only to addresses the guard refuses."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        refusal = target_refusal(host, self.resolve(host, port), self.allow)
        if refusal is not None:
            raise WebhookTargetRefused(refusal, host=host[:200])
        return url

    def _authorised(self, uow: UnitOfWork, actor: Actor, webhook_id: int) -> Webhook:
        found = self._get(uow, webhook_id)[0]
        authorize(actor, Permission.ADMIN, found.namespace)
        return found

    def _get(self, uow: UnitOfWork, webhook_id: int) -> tuple[Webhook, str]:
        found = uow.store.webhooks.get(webhook_id)
        if found is None:
            raise NotFound(f"no webhook {webhook_id}", webhook=webhook_id)
        return found

    @staticmethod
    def _queue(uow: UnitOfWork, webhook_id: int, event_id: int, *, leased: bool = False) -> None:
        uow.store.webhooks.add_deliveries(
            [
                {
                    "webhook_id": webhook_id,
                    "event_id": event_id,
                    "status": "sending" if leased else "pending",
                    "attempts": 0,
                    "next_attempt_at": uow.now + LEASE if leased else uow.now,
                    "created_at": uow.now,
                    "updated_at": uow.now,
                }
            ]
        )

    # ------------------------------------------------------------------ background
    def dispatch(self, limit: int = 500) -> int:
        """Fan undispatched events out to the subscriptions that want them."""
        with self.db.read_unchecked() as store:  # the usual case when idle: no write lock
            if not store.webhooks.any_undispatched():
                return 0
        with self.db.write(SYSTEM, Permission.ADMIN, EVERYWHERE) as uow:
            pending = uow.store.webhooks.undispatched(limit)
            if not pending:
                return 0
            hooks = uow.store.webhooks.find(enabled_only=True)
            rows = []
            for event in pending:
                namespace = event_namespace(event["subject"])
                for hook in hooks:
                    in_scope = hook.namespace in (EVERYWHERE, namespace)
                    if in_scope and matches(hook.event_types, event["type"]):
                        rows.append((hook.id, event["id"]))
            for webhook_id, event_id in rows:
                self._queue(uow, webhook_id, event_id)
            uow.store.webhooks.mark_dispatched([e["id"] for e in pending], uow.now)
            return len(pending)

    def send_due(self, limit: int = 20) -> int:
        """Attempt the deliveries that are due; how many were attempted."""
        if self.transport is None:
            return 0
        with self.db.read_unchecked() as store:
            if not store.webhooks.any_due(self.db.clock()):
                return 0
        with self.db.write(SYSTEM, Permission.ADMIN, EVERYWHERE) as uow:
            due = uow.store.webhooks.due(uow.now, limit)
            for delivery_id in due:  # the lease: nobody else takes them for a while
                uow.store.webhooks.set_delivery(
                    delivery_id, status="sending", next_attempt_at=uow.now + LEASE
                )
        for delivery_id in due:
            self._send(delivery_id)
        return len(due)

    def _send(self, delivery_id: int) -> None:
        with self.db.read_unchecked() as store:
            delivery = store.webhooks.delivery(delivery_id)
            if delivery is None:
                return
            hook, sealed = store.webhooks.get(delivery.webhook_id) or (None, "")
            event = store.webhooks.event(delivery.event_id)
        if hook is None or self.transport is None:
            return
        body = orjson.dumps(
            {
                "type": event["type"],
                "timestamp": entry_time(event["at"]),
                "data": {"subject": event["subject"], **event["payload"]},
            }
        )
        message_id = f"evt_{event['id']}"
        stamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": "cairn-webhooks",
            "webhook-id": message_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(self.box.open(sealed), message_id, stamp, body),
        }
        started = time.perf_counter()
        try:
            sent = self.transport.post(hook.url, headers, body, self.timeout)
        except Exception as exc:  # a transport bug must not lose the delivery: it is retried
            log.exception("webhook %s: sending failed", hook.id)
            sent = Sent(None, error=f"{type(exc).__name__}: {exc}"[:500])
        self._record(delivery, hook, sent, (time.perf_counter() - started) * 1000)

    def _record(self, delivery: Delivery, hook: Webhook, sent: Sent, duration_ms: float) -> None:
        ok = sent.status is not None and 200 <= sent.status < 300
        with self.db.write(SYSTEM, Permission.ADMIN, EVERYWHERE) as uow:
            attempts = delivery.attempts + 1
            uow.store.webhooks.add_attempt(
                {
                    "delivery_id": delivery.id,
                    "at": uow.now,
                    "status": sent.status,
                    "error": sent.error,
                    "duration_ms": duration_ms,
                }
            )
            values: dict[str, Any] = {
                "attempts": attempts,
                "last_status": sent.status,
                "last_error": sent.error,
                "updated_at": uow.now,
            }
            if ok:
                values["status"] = "succeeded"
                uow.store.webhooks.update(hook.id, consecutive_failures=0)
            elif sent.permanent or attempts >= self.max_attempts:
                values["status"] = "failed"
                self._count_failure(uow, hook)
            else:
                wait = backoff(attempts, parse_retry_after(sent.retry_after, uow.now))
                values["status"] = "pending"
                values["next_attempt_at"] = uow.now + timedelta(seconds=wait)
            uow.store.webhooks.set_delivery(delivery.id, **values)

    def _count_failure(self, uow: UnitOfWork, hook: Webhook) -> None:
        current = uow.store.webhooks.get(hook.id)  # as it is now, not when the send began
        failures = (current[0] if current else hook).consecutive_failures + 1
        if failures >= self.disable_after and hook.enabled:
            reason = f"disabled after {failures} deliveries in a row failed every attempt"
            uow.store.webhooks.update(
                hook.id, consecutive_failures=failures, enabled=False, disabled_reason=reason
            )
            uow.record("webhook.disable", f"webhook/{hook.id}", reason=reason)
        else:
            uow.store.webhooks.update(hook.id, consecutive_failures=failures)

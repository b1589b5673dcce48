"""Webhooks as the Standard Webhooks specification has them, and the rules around sending.

Signing: the secret is ``whsec_`` + base64 of 32 random bytes; each message carries
``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` =
``v1,`` + base64(HMAC-SHA256(secret bytes, f"{id}.{timestamp}.{body}")). A receiver recomputes
it and rejects old timestamps. Retries back off exponentially with full jitter, and a
``Retry-After`` from the receiver is honoured (within a cap). The SSRF guard refuses addresses a
webhook must not reach — loopback, private, link-local (cloud metadata), multicast, reserved —
unless an allow-list names them; it is applied to the resolved address of every connection.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import random
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from cairn.errors import InvalidInput

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 3600.0
MAX_ATTEMPTS = 12
DISABLE_AFTER_FAILURES = 50  # consecutive failed deliveries: the subscription is disabled
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header for one message."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(secret: str, message_id: str, timestamp: int, body: bytes, header: str) -> bool:
    """What a receiver checks (used by Cairn's tests and offered to its users)."""
    expected = sign(secret, message_id, timestamp, body)
    return any(hmac.compare_digest(expected, part) for part in header.split())


def backoff(attempts: int, retry_after: float | None, rng: random.Random | None = None) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: the receiver's
    ``Retry-After`` if it gave one (capped), else exponential with full jitter."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), BACKOFF_CAP_SECONDS)
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return (rng or random).uniform(ceiling / 2, ceiling)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header in seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - now).total_seconds(), 0.0)


def check_url(raw: object) -> str:
    """A webhook target: an absolute http(s) URL without credentials."""
    if not isinstance(raw, str) or len(raw) > 2000:
        raise InvalidInput("a webhook URL is an http or https URL")
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("a webhook URL is an http or https URL", url=raw[:200])
    if parts.username or parts.password:
        raise InvalidInput("a webhook URL carries no credentials; the payload is signed")
    try:
        parts.port  # noqa: B018 (read for its check: a port past 65535 raises)
    except ValueError:
        raise InvalidInput("a webhook URL's port is a number from 0 to 65535") from None
    return raw


def parse_allow_list(raw: str) -> list[Network]:
    """``CAIRN_WEBHOOK_ALLOW``: comma-separated addresses or networks (``127.0.0.1``,
    ``10.0.0.0/8``) that webhooks may reach although the guard would refuse them."""
    found: list[Network] = []
    for item in (i.strip() for i in raw.split(",")):
        if item:
            found.append(ipaddress.ip_network(item, strict=False))
    return found


def address_allowed(address: str, allow: Iterable[Network]) -> bool:
    """Whether a resolved address may be connected to."""
    return refusal_rule(address, allow) is None


def refusal_rule(address: str, allow: Iterable[Network]) -> str | None:
    """The guard's rule that refuses ``address`` (``"loopback"``, ``"private"``, …), or None
    if a webhook may connect to it."""
    ip: IpAddress = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in allow):
        return None
    # Most specific first: a loopback address is also "private" to Python.
    rules = [
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("shared (carrier-grade NAT)", isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ]
    return next((name for name, applies in rules if applies), None)


def target_refusal(host: str, addresses: Sequence[str], allow: Iterable[Network]) -> str | None:
    """Why the guard refuses a target whose host resolved to ``addresses`` — every one of them
    refused, as the connection would find — or None if it may be reached. An empty list (the
    name does not resolve now) is no reason: the guard checks again at every connection."""
    allowed = list(allow)
    rules = {address: refusal_rule(address, allowed) for address in addresses}
    if not rules or any(rule is None for rule in rules.values()):
        return None
    named = ", ".join(f"{a} ({rule})" for a, rule in sorted(rules.items()))
    return (
        f"{host} resolves to {named}, which webhooks may not reach: the SSRF guard refuses "
        "loopback, private, link-local, multicast, reserved and shared addresses; "
        "CAIRN_WEBHOOK_ALLOW can allow one"
    )


_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, not private by name


def event_namespace(subject: str) -> str:
    """The namespace an event is about (``risk/fraud:3`` → ``risk``)."""
    return subject.split("/", 1)[0].split("@", 1)[0].split(":", 1)[0]


def matches(event_types: list[str], event_type: str) -> bool:
    """An empty filter takes every event; ``version.*`` takes a family."""
    if not event_types:
        return True
    for wanted in event_types:
        if wanted == event_type or (wanted.endswith(".*") and event_type.startswith(wanted[:-1])):
            return True
    return False

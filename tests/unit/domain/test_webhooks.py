"""Signing as the Standard Webhooks specification defines it, checked against an HMAC computed
here from the definition; back-off, Retry-After, the SSRF guard's address rules, filters."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from datetime import UTC, datetime

import pytest

from cairn.domain.webhooks import (
    BACKOFF_CAP_SECONDS,
    address_allowed,
    backoff,
    check_url,
    event_namespace,
    matches,
    new_secret,
    parse_allow_list,
    parse_retry_after,
    sign,
    verify,
)
from cairn.errors import InvalidInput


def test_the_signature_is_hmac_sha256_of_id_timestamp_and_body_with_the_decoded_secret() -> None:
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    body = b'{"type":"version.register"}'
    expected = base64.b64encode(
        hmac.new(key, b"evt_1.1700000000." + body, hashlib.sha256).digest()
    ).decode()
    assert sign(secret, "evt_1", 1700000000, body) == "v1," + expected
    assert verify(secret, "evt_1", 1700000000, body, "v1,bogus v1," + expected)
    assert not verify(secret, "evt_2", 1700000000, body, "v1," + expected)
    assert not verify(new_secret(), "evt_1", 1700000000, body, "v1," + expected)


def test_secrets_are_fresh_and_well_formed() -> None:
    first, second = new_secret(), new_secret()
    assert first != second and first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_back_off_grows_with_jitter_and_honours_retry_after() -> None:
    rng = random.Random(7)
    for attempts in range(1, 12):
        ceiling = min(BACKOFF_CAP_SECONDS, 2.0 * 2 ** (attempts - 1))
        assert ceiling / 2 <= backoff(attempts, None, rng) <= ceiling
    assert backoff(3, 5.0) == 5.0
    assert backoff(3, 10**9) == BACKOFF_CAP_SECONDS
    now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    assert parse_retry_after("30", now) == 30.0
    assert parse_retry_after("Thu, 26 Nov 2026 08:01:00 GMT", now) == 60.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
    ],
)
def test_the_guard_refuses_internal_addresses(address: str, allowed: bool) -> None:
    assert address_allowed(address, []) is allowed


def test_an_allow_list_opens_exactly_what_it_names() -> None:
    allow = parse_allow_list("127.0.0.1, 10.0.0.0/8")
    assert address_allowed("127.0.0.1", allow)
    assert address_allowed("10.200.0.1", allow)
    assert not address_allowed("127.0.0.2", allow)
    assert not address_allowed("192.168.0.1", allow)
    with pytest.raises(ValueError):
        parse_allow_list("not-an-address")


def test_urls_filters_and_namespaces() -> None:
    assert check_url("https://ci.example/hook") == "https://ci.example/hook"
    for bad in ["ftp://x/y", "https://", "http://u:p@x/", 42, "x" * 3000]:
        with pytest.raises(InvalidInput):
            check_url(bad)
    assert matches([], "anything")
    assert matches(["version.*"], "version.register")
    assert not matches(["version.*"], "model.create")
    assert matches(["alias.set"], "alias.set") and not matches(["alias.set"], "alias.delete")
    assert event_namespace("risk/fraud:3") == "risk"
    assert event_namespace("risk/fraud@production") == "risk"
    assert event_namespace("risk") == "risk"

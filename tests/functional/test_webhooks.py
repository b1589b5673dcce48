"""Webhooks through a real server and a real receiver: signed deliveries filtered by type,
a receiver down for a while gets every event once it is back, replays, a subscription that
keeps failing is disabled, and the SSRF guard on every connection and redirect."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.domain.webhooks import verify
from tests.conftest import LiveServer, free_port, start_live_server
from tests.functional import run_cli, wait_for

API = "/api/v1"


class Receiver:
    """An HTTP endpoint that records what it is sent and answers as told."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.answer: tuple[int, dict[str, str]] = (204, {})
        self.delay = 0.0  # seconds to wait before answering
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                status, headers = receiver.answer
                time.sleep(receiver.delay)
                receiver.received.append(
                    {
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                        "status": status,
                    }
                )
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def accepted(self) -> list[dict[str, Any]]:
        return [r for r in self.received if 200 <= r["status"] < 300]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path, CAIRN_WEBHOOK_ALLOW="127.0.0.1/32")
    yield live
    live.stop()


def _add(server: LiveServer, url: str, *events: str, namespace: str = "default") -> tuple[int, str]:
    args = ["--json", "webhook", "add", namespace, url, *[f"--event={e}" for e in events]]
    result = run_cli(server.url, *args)
    assert result.returncode == 0, result.stderr
    done = json.loads(result.stdout)
    return int(done["webhook"]["id"]), str(done["secret"])


def _register(server: LiveServer, model: str = "m") -> None:
    digest = "sha256:" + hashlib.sha256(b"w").hexdigest()
    httpx.put(
        f"{server.url}{API}/namespaces/default/blobs/{digest}", content=b"w", headers=server.headers
    )
    body = {"manifest": {"files": [{"path": "w", "digest": digest, "size": 1}]}}
    response = httpx.post(
        f"{server.url}{API}/models/default/{model}/versions", json=body, headers=server.headers
    )
    assert response.status_code == 201, response.text


def test_events_arrive_signed_and_filtered(server: LiveServer, receiver: Receiver) -> None:
    _, secret = _add(server, receiver.url, "version.*")
    _register(server)
    got = wait_for(lambda: receiver.accepted(), "the delivery")
    message = got[0]
    headers, body = message["headers"], message["body"]
    assert verify(
        secret,
        headers["webhook-id"],
        int(headers["webhook-timestamp"]),
        body,
        headers["webhook-signature"],
    )
    assert not verify(
        secret,
        headers["webhook-id"],
        int(headers["webhook-timestamp"]),
        body + b" ",
        headers["webhook-signature"],
    )
    event = json.loads(body)
    assert event["type"] == "version.register"
    assert event["data"]["subject"] == "default/m:1"
    assert event["data"]["actor"] == "admin"
    # model.create (the same push) was filtered out: only version.* events come.
    assert {json.loads(r["body"])["type"] for r in receiver.received} == {"version.register"}


def test_a_receiver_down_for_a_while_gets_every_event_once_it_is_back(
    server: LiveServer, receiver: Receiver
) -> None:
    webhook_id, _ = _add(server, receiver.url, "version.register")
    receiver.answer = (503, {"Retry-After": "1"})
    for _ in range(3):
        _register(server)
    wait_for(lambda: len(receiver.received) >= 3, "failed attempts while the receiver is down")
    receiver.answer = (204, {})
    done = wait_for(
        lambda: len({r["headers"]["webhook-id"] for r in receiver.accepted()}) == 3, "every event"
    )
    assert done
    subjects = {json.loads(r["body"])["data"]["subject"] for r in receiver.accepted()}
    assert subjects == {"default/m:1", "default/m:2", "default/m:3"}
    log = json.loads(run_cli(server.url, "--json", "webhook", "deliveries", str(webhook_id)).stdout)
    assert {d["status"] for d in log} == {"succeeded"}
    retried = [d for d in log if d["attempts"] > 1]
    assert retried and all(d["log"][0]["status"] == 503 for d in retried)
    # A replay sends the same event again, under the same webhook-id (receivers dedupe on it).
    first = log[-1]
    replayed = run_cli(server.url, "--json", "webhook", "replay", str(first["id"]))
    assert replayed.returncode == 0, replayed.stderr
    message_id = f"evt_{first['event']}"
    wait_for(
        lambda: sum(r["headers"]["webhook-id"] == message_id for r in receiver.accepted()) >= 2,
        "the replay",
    )


def test_a_subscription_that_keeps_failing_is_disabled_and_says_so(tmp_path: Path) -> None:
    live = start_live_server(
        tmp_path,
        CAIRN_WEBHOOK_ALLOW="127.0.0.1/32",
        CAIRN_WEBHOOK_MAX_ATTEMPTS="1",
        CAIRN_WEBHOOK_DISABLE_AFTER="2",
    )
    try:
        closed = f"http://127.0.0.1:{free_port()}/nobody-listens"
        webhook_id, _ = _add(live, closed, "version.register")
        _register(live)
        _register(live)

        def disabled() -> dict[str, Any] | None:
            url = f"{live.url}{API}/namespaces/default/webhooks"
            hook: dict[str, Any] = httpx.get(url, headers=live.headers).json()["items"][0]
            return hook if not hook["enabled"] else None

        hook = wait_for(disabled, "the subscription to be disabled")
        assert "in a row" in hook["disabled_reason"]
        assert run_cli(live.url, "webhook", "enable", str(webhook_id)).returncode == 0
    finally:
        live.stop()


def test_the_ssrf_guard_refuses_an_internal_target_when_it_is_added(
    tmp_path: Path, receiver: Receiver
) -> None:
    live = start_live_server(tmp_path)  # no allow-list
    try:
        for url, rule in [
            (receiver.url, "loopback"),
            ("http://169.254.169.254/latest", "link-local"),
            ("http://10.1.2.3/x", "private"),
            ("http://[::1]:9/x", "loopback"),
            ("http://localhost:9/x", "loopback"),
        ]:
            result = run_cli(live.url, "webhook", "add", "default", url)
            assert result.returncode == 2, (url, result.stdout, result.stderr)
            assert "webhook_target_refused" in result.stderr, result.stderr
            assert f"({rule})" in result.stderr and "CAIRN_WEBHOOK_ALLOW" in result.stderr
        hooks = httpx.get(f"{live.url}{API}/namespaces/default/webhooks", headers=live.headers)
        assert hooks.json()["items"] == []
        assert receiver.received == []
    finally:
        live.stop()


def test_a_delivery_the_guard_refuses_fails_at_once_and_is_not_retried(
    tmp_path: Path, receiver: Receiver
) -> None:
    live = start_live_server(tmp_path, CAIRN_WEBHOOK_ALLOW="127.0.0.1/32")
    try:
        webhook_id, _ = _add(live, receiver.url, "version.register")
        # The operator takes the receiver's address out of the allow-list and restarts.
        live.stop()
        del live.env["CAIRN_WEBHOOK_ALLOW"]
        live.start()
        _register(live)

        def settled() -> dict[str, Any] | None:
            url = f"{live.url}{API}/webhooks/{webhook_id}/deliveries"
            items: list[dict[str, Any]] = httpx.get(url, headers=live.headers).json()["items"]
            return items[0] if items and items[0]["status"] not in ("pending", "sending") else None

        delivery = wait_for(settled, "the refused delivery to be recorded")
        assert delivery["status"] == "failed" and delivery["attempts"] == 1, delivery
        assert (
            "SSRF guard" in delivery["log"][0]["error"] and "(loopback)" in delivery["last_error"]
        )
        assert receiver.received == []
        enabled = run_cli(live.url, "webhook", "enable", str(webhook_id))
        assert enabled.returncode == 2 and "webhook_target_refused" in enabled.stderr
    finally:
        live.stop()


def test_a_redirect_to_an_internal_address_is_refused(
    server: LiveServer, receiver: Receiver
) -> None:
    receiver.answer = (307, {"Location": "http://10.9.8.7/steal"})
    webhook_id, _ = _add(server, receiver.url)
    sent = json.loads(run_cli(server.url, "--json", "webhook", "test", str(webhook_id)).stdout)
    assert len(receiver.received) == 1  # the allowed hop was made, the redirect was not
    assert "SSRF guard" in sent["last_error"] and "10.9.8.7" in sent["last_error"]
    assert (sent["status"], sent["attempts"]) == ("failed", 1)  # not retried as if transient


def test_a_bad_webhook_url_is_refused(server: LiveServer) -> None:
    for url in [
        "ftp://example.com/x",
        "not a url",
        "http://user:pw@example.com/",
        "http://example.com:99999/",
    ]:
        result = run_cli(server.url, "webhook", "add", "default", url)
        assert result.returncode == 2, (url, result.stderr)


def test_deliveries_are_retried_after_a_500_and_after_a_timeout(
    tmp_path: Path, receiver: Receiver
) -> None:
    live = start_live_server(
        tmp_path, CAIRN_WEBHOOK_ALLOW="127.0.0.1/32", CAIRN_WEBHOOK_TIMEOUT_SECONDS="0.5"
    )
    try:
        webhook_id, _ = _add(live, receiver.url, "version.register")
        receiver.answer = (500, {})
        _register(live)
        wait_for(lambda: len(receiver.received) >= 1, "a first attempt answered 500")
        receiver.answer, receiver.delay = (204, {}), 2.0  # now it answers, but too slowly
        wait_for(lambda: len(receiver.received) >= 2, "a second attempt that times out")
        receiver.delay = 0.0

        def delivered() -> list[dict[str, Any]] | None:
            url = f"{live.url}{API}/webhooks/{webhook_id}/deliveries"
            found = httpx.get(url, headers=live.headers).json()["items"][0]
            return found["log"] if found["status"] == "succeeded" else None

        attempts = wait_for(delivered, "the delivery to succeed")
        assert attempts[0]["status"] == 500
        assert attempts[1]["status"] is None and "Timeout" in attempts[1]["error"]
        assert attempts[-1]["status"] == 204
    finally:
        live.stop()

"""Prometheus metrics for one app: latency by route, bytes in and out, errors by code.

A pure ASGI middleware (no per-request task or body copy) so it costs next to nothing on the
upload and download paths. Each app has its own ``CollectorRegistry``: no global state.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram(
            "cairn_http_request_duration_seconds",
            "HTTP request latency by route.",
            ["method", "route", "status"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.bytes_in = Counter(
            "cairn_http_request_bytes",
            "Request body bytes received, by route.",
            ["route"],
            registry=self.registry,
        )
        self.bytes_out = Counter(
            "cairn_http_response_bytes",
            "Response body bytes sent, by route.",
            ["route"],
            registry=self.registry,
        )
        self.errors = Counter(
            "cairn_http_errors",
            "Error responses by error code.",
            ["code"],
            registry=self.registry,
        )


# Methods counted by name; any other a client makes up is counted as "OTHER".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self._series: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        seen: dict[str, Any] = {"in": 0, "out": 0, "status": 500}

        async def counting_receive() -> Message:
            message = await receive()
            seen["in"] += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name == b"cairn-error-code":
                        seen["code"] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                seen["out"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            latency, bytes_in, bytes_out = self.series(method, route, seen["status"])
            latency.observe(time.perf_counter() - started)
            bytes_in.inc(seen["in"])
            bytes_out.inc(seen["out"])
            if seen["status"] >= 400:
                self.metrics.errors.labels(seen.get("code", f"http_{seen['status']}")).inc()

    def series(self, method: str, route: str, status: int) -> tuple[Any, Any, Any]:
        """The three series a request of this kind counts in, looked up once (prometheus's
        ``labels`` takes a lock and builds a key on every call). Routes are the app's
        templates (or "unmatched"), methods those of ``METHODS`` or "OTHER", statuses HTTP's:
        the table stays small."""
        key = (method, route, status)
        found = self._series.get(key)
        if found is None:
            m = self.metrics
            found = (
                m.latency.labels(method, route, str(status)),
                m.bytes_in.labels(route),
                m.bytes_out.labels(route),
            )
            self._series[key] = found
        return found

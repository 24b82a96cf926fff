"""Prometheus metrics and the ``/metrics`` endpoint.

Metrics are process-wide singletons (prometheus_client's default registry). With several
uvicorn workers, ``alertgate serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder
before the workers start, and ``/metrics`` then aggregates every worker's values through
prometheus_client's multiprocess collector.
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

ALERTS_RECEIVED = Counter(
    "alertgate_alerts_received_total",
    "Alerts accepted at Integration URLs, by integration type and engine outcome.",
    ["type", "outcome"],
)
DELIVERIES_REJECTED = Counter(
    "alertgate_deliveries_rejected_total",
    "Deliveries refused at Integration URLs, by reason (the error code).",
    ["reason"],
)
INCIDENTS_OPENED = Counter("alertgate_incidents_opened_total", "Incidents opened.")
INCIDENTS_RESOLVED = Counter(
    "alertgate_incidents_resolved_total",
    "Incidents resolved, automatically by an alert or by hand.",
    ["by"],
)
REQUEST_LATENCY = Histogram(
    "alertgate_http_request_duration_seconds",
    "HTTP request latency by route template, method and status code.",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


# Labelled children, looked up once: ``labels()`` takes a lock and builds a key on every
# call, a measurable share of the Integration URL's own work. The label sets are small and
# bounded (types, outcomes, statuses), so the caches are too.
@functools.lru_cache(maxsize=1024)
def _alerts_received(integration_type: str, outcome: str) -> Any:
    return ALERTS_RECEIVED.labels(integration_type, outcome)


@functools.lru_cache(maxsize=256)
def request_latency(route: str, method: str, status: str) -> Any:
    """The latency histogram child for a route template, method and status code."""
    return REQUEST_LATENCY.labels(route, method, status)


_RESOLVED_BY_ALERT = INCIDENTS_RESOLVED.labels("alert")


def record_outcomes(integration_type: str, outcomes: list[str]) -> None:
    for outcome in outcomes:
        _alerts_received(integration_type, outcome).inc()
        if outcome == "opened":
            INCIDENTS_OPENED.inc()
        elif outcome == "resolved":
            _RESOLVED_BY_ALERT.inc()


async def metrics_endpoint(_request: Request) -> Response:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        data = generate_latest(registry)
    else:
        data = generate_latest()
    return Response(data, media_type=CONTENT_TYPE_LATEST)


class LatencyMiddleware:
    """Observe every HTTP request's duration, labelled by route template, never by path
    (paths hold integration keys and ids)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            request_latency(template, scope["method"], str(status)).observe(
                time.perf_counter() - start
            )

"""``POST /integrations/{key}``: the Integration URL, alertgate's hot path.

Order of work, cheapest refusal first: key lookup (cached), body read under a hard size
limit, plugin parse (on the event loop for types with ``parses_inline``, else, or when the
parse needs network I/O such as an SNS certificate download, in a worker thread; see
:mod:`alertgate.blocking`), then the engine's durable commit. A 2xx is sent only
after the commit; any failure before it is a 5xx so the sender (SNS) retries.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from alertgate import jsonfast
from alertgate.blocking import DEFERRED, attempt_inline
from alertgate.engine import Delivery, IngestEngine, StorageUnavailable
from alertgate.errors import DeliveryRejected, PluginHookError
from alertgate.hookcall import log_plugin_error
from alertgate.models import InboundRequest, ParseContext, ParseResult
from alertgate.registry import Plugins, UnknownIntegrationType
from alertgate.server import keys, metrics
from alertgate.server.errors import error_body
from alertgate.server.logbuffer import message_writer
from alertgate.server.memory import MemoryReleaser, trim_heap
from alertgate.server.protocol import READ_PAUSE
from alertgate.server.ratelimit import RateLimiter
from alertgate.storage.schema import Integration

log = logging.getLogger("alertgate.delivery")

MAX_CACHE_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class IntegrationRecord:
    """What a delivery needs to know about its integration, cached per key hash."""

    id: int
    service_id: int
    type: str
    enabled: bool
    settings: BaseModel | None
    """Validated settings; ``None`` when the stored settings no longer validate."""
    settings_error: str = ""
    unavailable: str = ""
    """Why the type's plugin is not loaded (broken, or installed after start); else empty."""
    state: dict[str, Any] = field(default_factory=dict)
    rate_limit_per_minute: int | None = None
    """The integration's own limit; ``None`` takes the server's default."""


class KeyCache:
    """Short-lived cache of key-hash lookups, unknown keys included (bounded)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, IntegrationRecord | None]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> tuple[bool, IntegrationRecord | None]:
        entry = self._entries.get(key_hash)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, key_hash: str, record: IntegrationRecord | None) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= MAX_CACHE_ENTRIES:
                self._entries.clear()
            self._entries[key_hash] = (time.monotonic() + self.ttl, record)

    def clear(self) -> None:
        """Forget everything: called after a key rotation, disable or settings change."""
        with self._lock:
            self._entries.clear()

    def forget_integration(self, integration_id: int) -> None:
        with self._lock:
            for key_hash, (_, record) in list(self._entries.items()):
                if record is not None and record.id == integration_id:
                    del self._entries[key_hash]


def load_record(
    sessions: sessionmaker[Session], plugins: Plugins, key_hash: str
) -> IntegrationRecord | None:
    with sessions() as session:
        row = session.execute(
            select(
                Integration.id,
                Integration.service_id,
                Integration.type,
                Integration.enabled,
                Integration.settings,
                Integration.state,
                Integration.rate_limit_per_minute,
            ).where(Integration.key_hash == key_hash)
        ).first()
    if row is None:
        return None
    settings: BaseModel | None = None
    error = unavailable = ""
    try:
        settings = plugins.validate_settings(row.type, row.settings, known_keys_only=False)
    except UnknownIntegrationType:
        unavailable = plugins.unavailable_message(row.type)
    except Exception as exc:  # settings drifted from the plugin's model
        error = str(exc).splitlines()[0]
    return IntegrationRecord(
        id=row.id,
        service_id=row.service_id,
        type=row.type,
        enabled=row.enabled,
        settings=settings,
        settings_error=error,
        unavailable=unavailable,
        state=dict(row.state or {}),
        rate_limit_per_minute=row.rate_limit_per_minute,
    )


class BodyTooLarge(Exception):
    pass


async def read_body(receive: Receive, declared_length: str | None, limit: int) -> bytes:
    """The request body, refusing past ``limit`` bytes while reading.

    Reads the ASGI messages itself rather than through Starlette's ``Request.stream()``: an
    async generator per request costs measurable CPU on the hot path (the event loop
    registers every one in a weak set).
    """
    if declared_length is not None and declared_length.isdigit() and int(declared_length) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


Answer = tuple[int, bytes]
"""An HTTP status and a JSON body: what the Integration URL answers."""

RETRY_AFTER_SECONDS = "30"
"""Sent with every 503 (storage or a plugin unavailable): a hint for senders that read it;
SNS retries on its own schedule."""

RETRY_AFTER = "alertgate.retry_after"
"""Scope key under which a 429 leaves its ``Retry-After`` seconds for the response."""


def retry_after(status: int, scope: Scope) -> dict[str, str] | None:
    """The headers a ``status`` answer adds: ``Retry-After`` on 503, and on 429 the
    seconds until the integration's rate limit lets a delivery through again."""
    if status == 503:
        return {"Retry-After": RETRY_AFTER_SECONDS}
    if status == 429:
        return {"Retry-After": str(scope.get(RETRY_AFTER, 1))}
    return None


class IngestEndpoint:
    """The ASGI-level handler behind the Integration URL route."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        plugins: Plugins,
        engine: IngestEngine,
        cache: KeyCache,
        max_body_bytes: int,
        rate_limit_per_minute: int = 0,
        parse_threads: int = 8,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.plugins = plugins
        # Built once (plugin settings, SNS certificate cache...): every delivery shares it.
        self.plugin_context = plugins.context
        self.engine = engine
        self.cache = cache
        self.max_body_bytes = max_body_bytes
        self.rate_limit_per_minute = rate_limit_per_minute
        """The default limit of integrations without their own (0: unlimited)."""
        self.limiter = RateLimiter()
        self._loading: dict[str, asyncio.Future[IntegrationRecord | None]] = {}
        """Key lookups in flight, by key hash (see :meth:`_lookup`)."""
        # Large bodies leave cached pages and heap behind: given back once a burst ends.
        self.memory = MemoryReleaser(lambda: engine.shrink_memory(then=trim_heap))
        self.now = now
        # Logging is configured before the app is built (uvicorn, then the factory).
        self._log_delivery = message_writer(log)
        # A dedicated pool: plain run_in_executor hops cost a fraction of anyio's, and
        # parsing must not queue behind the admin API's threads.
        self.executor = ThreadPoolExecutor(max_workers=parse_threads, thread_name_prefix="parse")

    async def handle(self, request: Request) -> Response:
        """The endpoint as a Starlette route (the server itself calls :meth:`answer`)."""
        status, body = await self.answer(request.scope, request.receive)
        return Response(
            body,
            status_code=status,
            media_type="application/json",
            headers=retry_after(status, request.scope),
        )

    async def answer(self, scope: Scope, receive: Receive) -> Answer:
        """Handle one delivery; ``scope["path_params"]["key"]`` is the integration key."""
        start = time.perf_counter()
        fields: dict[str, Any] = {}
        status, body = await self._handle(scope, receive, fields)
        fields["status"] = status
        fields["duration_ms"] = round((time.perf_counter() - start) * 1000, 2)
        if log.isEnabledFor(logging.INFO):
            self._log_delivery(jsonfast.dumps({"event": "delivery", **fields}))
        return status, body

    def _reject(self, fields: dict[str, Any], status: int, code: str, message: str) -> Answer:
        metrics.DELIVERIES_REJECTED.labels(code).inc()
        fields["outcome"] = "rejected"
        fields["reason"] = code
        return status, error_body(code, message)

    async def _lookup(self, key: str) -> IntegrationRecord | None:
        if not key or len(key) > keys.MAX_SECRET_LENGTH:
            return None
        key_hash = keys.hash_secret(key)
        hit, record = self.cache.get(key_hash)
        if hit:
            return record
        # One lookup per key at a time: when a busy key's cache entry expires, every
        # request of that loop turn misses at once (a flood over 128 connections made 128
        # database lookups in threads every few seconds, holding up other integrations).
        loading = self._loading.get(key_hash)
        if loading is None:
            loading = asyncio.ensure_future(self._load(key_hash))
            self._loading[key_hash] = loading
            loading.add_done_callback(lambda _: self._loading.pop(key_hash, None))
        return await asyncio.shield(loading)

    async def _load(self, key_hash: str) -> IntegrationRecord | None:
        record = await anyio.to_thread.run_sync(load_record, self.sessions, self.plugins, key_hash)
        self.cache.put(key_hash, record)
        return record

    async def _parse(self, context: ParseContext, inbound: InboundRequest) -> ParseResult:
        """Parse on the event loop when the type allows it, else (or when the parse needs
        I/O after all) in the parse pool; see :mod:`alertgate.blocking`."""
        if self._parses_inline(context.integration_type):
            result = attempt_inline(self.plugins.parse, context, inbound)
            if result is not DEFERRED:
                return result  # type: ignore[return-value]  # not DEFERRED: a ParseResult
        return await asyncio.get_running_loop().run_in_executor(
            self.executor, self.plugins.parse, context, inbound
        )

    def _parses_inline(self, slug: str) -> bool:
        registered = self.plugins.types.get(slug)
        return registered is not None and registered.type.parses_inline

    async def _handle(self, scope: Scope, receive: Receive, fields: dict[str, Any]) -> Answer:
        try:
            record = await self._lookup(scope["path_params"]["key"])
        except SQLAlchemyError as exc:
            log.warning("integration lookup failed: %r", exc)
            return self._reject(
                fields, 503, "storage_unavailable", "storage is unavailable; retry later"
            )
        if record is None:
            return self._reject(fields, 404, "integration_not_found", "unknown Integration URL")
        fields["integration_id"] = record.id
        fields["type"] = record.type
        if not record.enabled:
            return self._reject(fields, 410, "integration_disabled", "this integration is disabled")
        if record.unavailable:
            log.error("integration %s: %s", record.id, record.unavailable)
            return self._reject(fields, 503, "plugin_unavailable", record.unavailable)
        limit = record.rate_limit_per_minute
        limit = self.rate_limit_per_minute if limit is None else limit
        wait = self.limiter.check(record.id, limit)
        if wait:
            scope[RETRY_AFTER] = wait
            # The connection is not read again before then (alertgate.server.protocol).
            scope[READ_PAUSE] = wait
            metrics.DELIVERIES_REJECTED.labels("rate_limited").inc()
            fields["outcome"] = "rejected"
            fields["reason"] = "rate_limited"
            return 429, rate_limited_body(record.id, limit, wait)
        if record.settings is None:
            log.error("integration %s is misconfigured: %s", record.id, record.settings_error)
            return self._reject(
                fields,
                500,
                "integration_misconfigured",
                f"integration settings are invalid: {record.settings_error}",
            )
        # ASGI header names are lower-case; a repeated header keeps its last value.
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body = await read_body(receive, headers.get("content-length"), self.max_body_bytes)
        except BodyTooLarge:
            return self._reject(
                fields,
                413,
                "payload_too_large",
                f"request body exceeds {self.max_body_bytes} bytes",
            )
        except ClientDisconnect:
            return self._reject(fields, 400, "client_disconnected", "client went away")
        self.memory.note(len(body))
        client = scope.get("client")
        inbound = InboundRequest(
            body=body,
            headers=headers,
            content_type=headers.get("content-type", ""),
            remote_addr=client[0] if client else None,
        )
        context = ParseContext(
            integration_id=record.id,
            integration_type=record.type,
            settings=record.settings,
            state=record.state,
            plugin_context=self.plugin_context,
        )
        try:
            result = await self._parse(context, inbound)
        except DeliveryRejected as exc:
            return self._reject(fields, exc.status_code, exc.code, exc.message)
        except PluginHookError as exc:
            # A plugin bug, not the sender's: 5xx so the delivery is retried once fixed.
            log_plugin_error(exc, integration_id=record.id, type=record.type)
            fields["plugin"] = exc.plugin
            fields["hook"] = exc.hook
            return self._reject(fields, 500, "plugin_error", f"{exc.public_message}; retry later")
        except Exception:
            log.exception("parsing a delivery to integration %s failed", record.id)
            return self._reject(fields, 500, "internal_error", "parsing failed; retry later")
        if result.note:
            fields["note"] = result.note
        outcomes: list[dict[str, Any]] = []
        if result.alerts or result.state_updates:
            delivery = Delivery(
                integration_id=record.id,
                service_id=record.service_id,
                alerts=result.alerts,
                received_at=self.now(),
                state_updates=result.state_updates,
            )
            try:
                report = await self.engine.ingest_async(delivery)
            except (StorageUnavailable, SQLAlchemyError) as exc:
                log.warning("ingest failed for integration %s: %r", record.id, exc)
                return self._reject(
                    fields, 503, "storage_unavailable", "storage is unavailable; retry later"
                )
            except Exception:
                log.exception("ingest failed for integration %s", record.id)
                return self._reject(fields, 500, "internal_error", "ingest failed; retry later")
            if result.state_updates:
                # The state this worker cached is now out of date (e.g. a pinned topic).
                self.cache.forget_integration(record.id)
            outcomes = [
                {
                    "outcome": str(o.outcome),
                    "alert_id": o.alert_id,
                    "incident_id": o.incident_id,
                }
                for o in report.outcomes
            ]
            metrics.record_outcomes(record.type, [o["outcome"] for o in outcomes])
        fields["outcome"] = ",".join(o["outcome"] for o in outcomes) or "accepted"
        fields["alerts"] = len(result.alerts)
        fields["incident_ids"] = sorted(
            {o["incident_id"] for o in outcomes if o["incident_id"] is not None}
        )
        if result.response is not None:
            fields["outcome"] = "handshake" if not outcomes else fields["outcome"]
            return result.response.status_code, jsonfast.dumps_bytes(dict(result.response.body))
        body_out = {"status": "accepted", "alerts": len(result.alerts), "outcomes": outcomes}
        return 200, jsonfast.dumps_bytes(body_out)


def rate_limited_body(integration_id: int, limit: int, retry_after: int) -> bytes:
    """The 429 body: which integration, which limit, when to come back."""
    message = (
        f"integration {integration_id} is limited to {limit} deliveries a minute per server "
        f"worker; retry after {retry_after} s"
    )
    return jsonfast.dumps_bytes(
        {
            "code": "rate_limited",
            "message": message,
            "integration_id": integration_id,
            "rate_limit_per_minute": limit,
            "retry_after_seconds": retry_after,
        }
    )


INGEST_PREFIX = "/integrations/"
INGEST_ROUTE = "/integrations/{key}"


class IngestFastPath:
    """Sends ``POST /integrations/<key>`` straight to the endpoint, as plain ASGI.

    The Integration URL is the hot path (thousands of deliveries a second); Starlette's
    middleware stack, router, request wrapper and response class cost more than the rest
    of the server's own work there. The app (:class:`alertgate.server.app.AlertgateApp`) asks
    :meth:`matches` before anything else; every other request, and every other method on
    this path (405), goes through Starlette as usual, where the route stays declared so
    it is visible and answers those.
    """

    def __init__(self, endpoint: IngestEndpoint) -> None:
        self.endpoint = endpoint

    @staticmethod
    def matches(scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "POST":
            return False
        path: str = scope["path"]
        return (
            path.startswith(INGEST_PREFIX)
            and len(path) > len(INGEST_PREFIX)
            and "/" not in path[len(INGEST_PREFIX) :]
        )

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        scope["path_params"] = {"key": scope["path"][len(INGEST_PREFIX) :]}
        try:
            status, body = await self.endpoint.answer(scope, receive)
        except Exception:
            # The endpoint answers every failure it expects itself; this is a bug. Answer
            # like Starlette's ServerErrorMiddleware would, so the sender retries.
            log.exception("unexpected error on the Integration URL")
            status, body = 500, error_body("internal_error", "internal server error")
        headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
        ]
        extra = retry_after(status, scope)
        if extra:
            headers.extend((k.lower().encode(), v.encode()) for k, v in extra.items())
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        metrics.request_latency(INGEST_ROUTE, "POST", str(status)).observe(
            time.perf_counter() - start
        )

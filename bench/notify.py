"""The notifications phase: the same load with a rule that notifies a local webhook on every
opened and resolved incident, so its rate can be set against the plain throughput phase
(DESIGN.md target: at least 90 % of it).

A :class:`WebhookReceiver` on 127.0.0.1 answers every POST with 204 and records the
idempotency keys; :func:`add_rule` creates the channel (no rate limit, so nothing is folded
into digests) and the rule through the CLI, as an operator would. After the load,
:func:`wait_drained` waits for the dispatchers to empty the outbox and reports how long
that took and whether every notification arrived exactly once.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from typing import Any, Self

from cryptography.fernet import Fernet
from sqlalchemy import Engine, func, select

from alertgate.storage.schema import Notification

SECRET_KEY_ENV = "ALERTGATE_SECRET_KEY"


class WebhookReceiver:
    """A local webhook endpoint that counts deliveries by idempotency key.

    A bare asyncio server (keep-alive, ``204`` for every POST) on its own thread: it runs on
    the same cores as alertgate, so it must cost little, or the figure measures it rather
    than alertgate (``http.server`` with a thread per request cost about as much as the
    sending).
    """

    def __init__(self) -> None:
        self.keys: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0)
        )
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/hook"
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                await reader.readexactly(int(headers.get("content-length") or 0))
                with self._lock:
                    self.keys[headers.get("x-alertgate-idempotency-key", "")] += 1
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # closed, or cancelled at shutdown: the connection simply ends
        finally:
            writer.close()

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _shutdown(self) -> None:
        self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def received(self) -> dict[str, int]:
        """Deliveries so far, by idempotency key."""
        with self._lock:
            return dict(self.keys)


def server_env() -> dict[str, str]:
    """Environment the server needs for channels with secrets."""
    return {SECRET_KEY_ENV: Fernet.generate_key().decode()}


def add_rule(run: Any, env: dict[str, str], url: str, service: str = "bench") -> None:
    """A webhook channel to ``url`` and a rule on ``service`` for opened and resolved."""
    settings = json.dumps({"url": url, "secret": "bench-secret"})
    run(["channels", "create", "--type", "webhook", "--name", "bench-hook",
         "--settings", settings, "--rate-limit", "0"], env)  # fmt: skip
    run(["rules", "create", "--service", service, "--channel", "bench-hook",
         "--events", "opened,resolved"], env)  # fmt: skip


def wait_drained(db: Engine, receiver: WebhookReceiver, timeout: float = 300.0) -> dict[str, Any]:
    """Wait until no notification is pending; what the outbox and the receiver hold then."""
    t0 = time.monotonic()
    by_status: dict[str, int] = {}
    while time.monotonic() - t0 < timeout:
        with db.connect() as conn:
            rows = conn.execute(
                select(Notification.status, func.count()).group_by(Notification.status)
            ).all()
        by_status = {str(status): int(count) for status, count in rows}
        if not any(s in by_status for s in ("pending", "sending")):
            break
        time.sleep(0.5)
    keys = receiver.received()
    with db.connect() as conn:
        waits = sorted(
            (delivered - created).total_seconds()
            for created, delivered in conn.execute(
                select(Notification.created_at, Notification.delivered_at).where(
                    Notification.delivered_at.is_not(None)
                )
            )
        )
    return {
        "seconds_to_drain_after_load": round(time.monotonic() - t0, 1),
        # From the commit that queued a notification to its delivery.
        "queued_to_delivered_s": _percentiles(waits),
        "outbox_by_status": by_status,
        "received": sum(keys.values()),
        "received_distinct_keys": len(keys),
        "received_twice": sum(1 for n in keys.values() if n > 1),
    }


def _percentiles(values: list[float]) -> dict[str, float]:
    """p50, p99 and max of sorted ``values`` (seconds)."""
    if not values:
        return {}
    pick = lambda q: round(values[min(len(values) - 1, int(q * len(values)))], 2)  # noqa: E731
    return {"p50": pick(0.5), "p99": pick(0.99), "max": round(values[-1], 2)}

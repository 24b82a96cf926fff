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

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from cryptography.fernet import Fernet
from sqlalchemy import Engine, func, select

from alertgate.storage.schema import Notification

SECRET_KEY_ENV = "ALERTGATE_SECRET_KEY"


class WebhookReceiver:
    """A local webhook endpoint that counts deliveries by idempotency key."""

    def __init__(self) -> None:
        self.keys: Counter[str] = Counter()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver._lock:
                    receiver.keys[self.headers.get("x-alertgate-idempotency-key", "")] += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Self:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


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
    with receiver._lock:
        keys = dict(receiver.keys)
    return {
        "seconds_to_drain_after_load": round(time.monotonic() - t0, 1),
        "outbox_by_status": by_status,
        "received": sum(keys.values()),
        "received_distinct_keys": len(keys),
        "received_twice": sum(1 for n in keys.values() if n > 1),
    }

"""Notification test helpers: a local HTTP receiver that records what it is sent, and a
channel + rule set up through the same admin functions the API and CLI use."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alertgate.server import notify_admin
from alertgate.storage.schema import Organization, Service

SECRET_KEY = Fernet.generate_key().decode()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every POST; answers ``statuses`` in turn (then 200), after ``delay`` s."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"received {len(self.received)} of {count} notifications")


@contextlib.contextmanager
def http_receiver(delay: float = 0.0, statuses: list[int] | None = None) -> Iterator[Receiver]:
    receiver = Receiver(statuses=list(statuses or []), delay=delay)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if receiver.delay:
                time.sleep(receiver.delay)
            with receiver.lock:
                receiver.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
            try:
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
            except OSError:  # the sender died mid-request (the crash test)
                pass

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def route_to_channel(
    engine: Engine,
    plugins: Any,
    service_id: int,
    type_slug: str,
    settings: dict[str, Any],
    *,
    name: str = "hook",
    events: list[str] | None = None,
    min_severity: str = "info",
    cache: Any = None,
    rate_limit_per_minute: int = 20,
) -> int:
    """Create a channel and a rule sending the service's events to it; the channel id."""
    with Session(engine) as session, session.begin():
        service = session.get(Service, service_id)
        assert service is not None
        org = session.get(Organization, service.organization_id)
        assert org is not None
        channel = notify_admin.create_channel(
            session, plugins, SecretStr(SECRET_KEY), org, type_slug, name, settings, cache,
            rate_limit_per_minute, actor="test",
        )  # fmt: skip
        notify_admin.create_rule(
            session, org.id, service, channel, events, min_severity, cache, actor="test"
        )
        return channel.id


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition never became true")


__all__ = ["SECRET_KEY", "Receiver", "http_receiver", "route_to_channel", "wait_until"]


def run_story(
    db_engine: Engine,
    plugins: Any,
    service_id: int,
    integration_id: int,
    type_slug: str,
    settings: dict[str, Any],
) -> int:
    """Open, acknowledge and resolve one incident with the service routed to a new channel
    of ``type_slug``, delivering every notification; returns the incident id."""
    from alertgate.engine import Delivery, IngestEngine
    from alertgate.models import Action, Alert, Severity
    from alertgate.notify.dispatcher import Dispatcher
    from alertgate.notify.outbox import Outbox
    from alertgate.notify.routing import RoutingCache
    from alertgate.settings import Settings

    route_to_channel(db_engine, plugins, service_id, type_slug, settings, name=type_slug)
    engine = IngestEngine(db_engine, plugins, outbox=Outbox(RoutingCache(0)))
    dispatcher = Dispatcher(
        db_engine,
        plugins,
        Settings(public_url="http://alertgate.test", secret_key=SECRET_KEY, notify_max_attempts=1),
    )

    def alert(action: Action) -> Alert:
        return Alert(
            title="Disk full on db-1",
            source_time=datetime.now(UTC),
            severity=Severity.CRITICAL,
            fingerprint="disk",
            action=action,
        )

    def drain() -> None:
        while dispatcher.run_once():
            pass

    try:
        report = engine.ingest(Delivery(integration_id, service_id, [alert(Action.TRIGGER)]))
        incident_id = report.outcomes[0].incident_id
        assert incident_id is not None
        drain()
        engine.acknowledge(incident_id, "bob")
        drain()
        engine.ingest(Delivery(integration_id, service_id, [alert(Action.RESOLVE)]))
        drain()
    finally:
        dispatcher.stop()
        engine.close()
    return incident_id

"""Real ``alertgate serve`` processes on SQLite and PostgreSQL: kill -9 while notifications
are pending, and after a restart every one is delivered and no notification reaches the
receiver under two different idempotency keys; and two servers on one database send each
notification once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from alertgate.plugins.aws_cloudtrail.demo import TOPIC_ARN, alarm_message
from alertgate.plugins.aws_sns.signer import SnsSigner
from tests.core.cli.test_server_demo import ALERTGATE, clean_env
from tests.core.server.test_server_serve import wait_ready
from tests.live import free_port
from tests.notify_support import SECRET_KEY, Receiver, http_receiver, wait_until

ALARMS = 8


@dataclass
class Setup:
    """A database with a service routed to a webhook receiver, and a way to start servers."""

    tmp_path: Path
    env: dict[str, str]
    integration_path: str
    db: Engine

    def serve(self, port: int, log_name: str) -> subprocess.Popen[str]:
        env = {**self.env, "ALERTGATE_PUBLIC_URL": f"http://127.0.0.1:{port}"}
        with open(self.tmp_path / log_name, "w") as log:
            proc = subprocess.Popen(
                [ALERTGATE, "serve", "--port", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
            )
        wait_ready(f"http://127.0.0.1:{port}", proc)
        return proc

    def send_alarms(self, count: int, ports: list[int]) -> None:
        """POST ``count`` signed alarms, to each server's integration URL in turn."""
        certs = Path(self.env["ALERTGATE_SNS_CERT_DIR"])
        signer = SnsSigner(certs, name=f"crash-{uuid.uuid4().hex}")
        for n in range(count):
            message = alarm_message("ALARM", "OK", datetime.now(UTC)).replace(
                "CloudTrail-UnauthorizedAPICalls", f"alarm-{n}"
            )
            doc = signer.notification(message, topic_arn=TOPIC_ARN)
            url = f"http://127.0.0.1:{ports[n % len(ports)]}{self.integration_path}"
            r = httpx.post(url, content=SnsSigner.body(doc), headers=SnsSigner.headers(doc))
            assert r.status_code == 200, r.text

    def statuses(self) -> list[str]:
        with self.db.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT status FROM notifications"))]

    def keys(self) -> dict[str, int]:
        """Idempotency key -> incident id of every notification row."""
        with self.db.connect() as conn:
            query = text("SELECT idempotency_key, incident_id FROM notifications")
            return {str(key): int(incident) for key, incident in conn.execute(query)}


@contextmanager
def routed_database(
    tmp_path: Path, db_url: str, receiver: Receiver, lease_seconds: str
) -> Iterator[Setup]:
    certs = tmp_path / "certs"
    env = clean_env(tmp_path)
    env.update(
        ALERTGATE_DATABASE_URL=db_url,
        ALERTGATE_SNS_CERT_DIR=str(certs),
        ALERTGATE_SECRET_KEY=SECRET_KEY,
        ALERTGATE_NOTIFY_LEASE_SECONDS=lease_seconds,
        ALERTGATE_NOTIFY_POLL_SECONDS="0.1",
        ALERTGATE_NOTIFY_CACHE_SECONDS="0",
    )

    def run(*args: str) -> str:
        return subprocess.run(
            [ALERTGATE, *args], env=env, capture_output=True, text=True, timeout=60, check=True
        ).stdout

    run("services", "create", "api")
    created = json.loads(
        run("integrations", "create", "--service", "api", "--type", "aws_cloudwatch", "--json")
    )
    settings = json.dumps({"url": f"{receiver.url}/hook", "secret": "s"})
    # No rate limit: every alarm is its own message, so the counts below are exact.
    run("channels", "create", "--type", "webhook", "--name", "hook", "--settings", settings,
        "--rate-limit", "0")  # fmt: skip
    run("rules", "create", "--service", "api", "--channel", "hook")
    engine = create_engine(db_url)
    try:
        yield Setup(tmp_path, env, urlsplit(created["integration_url"]).path, engine)
    finally:
        engine.dispose()


def keys_by_incident(receiver: Receiver) -> dict[int, set[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    for got in receiver.received:
        found[got.json()["incident"]["id"]].add(got.headers["x-alertgate-idempotency-key"])
    return found


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)


@pytest.mark.slow
def test_sigkill_with_pending_notifications_loses_and_doubles_none(
    tmp_path: Path, db_url: str
) -> None:
    port = free_port()
    # A slow receiver: the dispatcher is mid-send when the server dies.
    with (
        http_receiver(delay=0.4) as receiver,
        routed_database(tmp_path, db_url, receiver, lease_seconds="1") as setup,
    ):
        proc = setup.serve(port, "first.log")
        try:
            setup.send_alarms(ALARMS, [port])
            receiver.wait_for(2)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

        assert len(setup.statuses()) == ALARMS
        assert set(setup.statuses()) != {"delivered"}, "nothing was pending at the kill"

        proc = setup.serve(port, "second.log")
        try:
            wait_until(lambda: setup.statuses() == ["delivered"] * ALARMS, timeout=60)
        finally:
            stop(proc)
        rows = setup.keys()

    found = keys_by_incident(receiver)
    assert set(found) == set(rows.values())
    assert all(len(keys) == 1 for keys in found.values()), found
    assert {k for keys in found.values() for k in keys} == set(rows)


@pytest.mark.slow
def test_two_servers_on_one_database_send_each_notification_once(
    tmp_path: Path, db_url: str
) -> None:
    """Both servers' dispatchers poll the same outbox; a lease far longer than a send
    means any second delivery would be a double claim, not a retry."""
    with (
        http_receiver(delay=0.05) as receiver,
        routed_database(tmp_path, db_url, receiver, lease_seconds="60") as setup,
    ):
        ports = [free_port(), free_port()]
        servers: list[subprocess.Popen[str]] = []
        try:
            servers.extend(setup.serve(port, f"server-{port}.log") for port in ports)
            setup.send_alarms(ALARMS * 2, ports)
            wait_until(lambda: setup.statuses() == ["delivered"] * ALARMS * 2, timeout=60)
        finally:
            for proc in servers:
                stop(proc)
        rows = setup.keys()

    sent = Counter(got.headers["x-alertgate-idempotency-key"] for got in receiver.received)
    assert set(sent) == set(rows)
    assert set(sent.values()) == {1}, sent.most_common(3)

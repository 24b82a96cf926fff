"""kill -9 while notifications are pending: after a restart every one is delivered, and no
notification reaches the receiver under two different idempotency keys."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from alertgate.plugins.aws_cloudtrail.demo import TOPIC_ARN, alarm_message
from alertgate.plugins.aws_sns.signer import SnsSigner
from tests.core.cli.test_server_demo import ALERTGATE, clean_env
from tests.core.server.test_server_serve import wait_ready
from tests.live import free_port
from tests.notify_support import SECRET_KEY, http_receiver, wait_until

ALARMS = 8


@pytest.mark.slow
def test_sigkill_with_pending_notifications_loses_and_doubles_none(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    certs = tmp_path / "certs"
    db = tmp_path / "crash.db"
    env = clean_env(tmp_path)
    env.update(
        ALERTGATE_DATABASE_URL=f"sqlite:///{db}",
        ALERTGATE_PUBLIC_URL=base,
        ALERTGATE_SNS_CERT_DIR=str(certs),
        ALERTGATE_SECRET_KEY=SECRET_KEY,
        ALERTGATE_NOTIFY_LEASE_SECONDS="1",
        ALERTGATE_NOTIFY_POLL_SECONDS="0.1",
        ALERTGATE_NOTIFY_CACHE_SECONDS="0",
    )

    def run(*args: str) -> str:
        return subprocess.run(
            [ALERTGATE, *args], env=env, capture_output=True, text=True, timeout=60, check=True
        ).stdout

    def serve(log_name: str) -> subprocess.Popen[str]:
        with open(tmp_path / log_name, "w") as log:
            return subprocess.Popen(
                [ALERTGATE, "serve", "--port", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
            )

    # A slow receiver: the dispatcher is mid-send when the server dies.
    with http_receiver(delay=0.4) as receiver:
        run("services", "create", "api")
        created = json.loads(
            run("integrations", "create", "--service", "api", "--type", "aws_cloudwatch", "--json")
        )
        settings = json.dumps({"url": f"{receiver.url}/hook", "secret": "s"})
        run("channels", "create", "--type", "webhook", "--name", "hook", "--settings", settings)
        run("rules", "create", "--service", "api", "--channel", "hook")
        proc = serve("first.log")
        try:
            wait_ready(base, proc)
            signer = SnsSigner(certs, name=f"crash-{uuid.uuid4().hex}")
            for n in range(ALARMS):
                message = alarm_message("ALARM", "OK", datetime.now(UTC)).replace(
                    "CloudTrail-UnauthorizedAPICalls", f"alarm-{n}"
                )
                doc = signer.notification(message, topic_arn=TOPIC_ARN)
                r = httpx.post(
                    created["integration_url"],
                    content=SnsSigner.body(doc),
                    headers=SnsSigner.headers(doc),
                )
                assert r.status_code == 200, r.text
            receiver.wait_for(2)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

        engine = create_engine(f"sqlite:///{db}")

        def statuses() -> list[str]:
            with engine.connect() as conn:
                return [r[0] for r in conn.execute(text("SELECT status FROM notifications"))]

        assert len(statuses()) == ALARMS
        assert set(statuses()) != {"delivered"}, "nothing was pending at the kill"

        proc = serve("second.log")
        try:
            wait_ready(base, proc)
            wait_until(lambda: statuses() == ["delivered"] * ALARMS, timeout=60)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
        with engine.connect() as conn:
            query = text("SELECT idempotency_key, incident_id FROM notifications")
            rows = {str(key): int(incident) for key, incident in conn.execute(query)}
        engine.dispose()

    keys_by_incident: dict[int, set[str]] = defaultdict(set)
    for got in receiver.received:
        keys_by_incident[got.json()["incident"]["id"]].add(
            got.headers["x-alertgate-idempotency-key"]
        )
    assert set(keys_by_incident) == set(rows.values())
    assert all(len(keys) == 1 for keys in keys_by_incident.values()), keys_by_incident
    assert {k for keys in keys_by_incident.values() for k in keys} == set(rows)

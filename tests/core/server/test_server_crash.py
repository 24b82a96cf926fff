"""Crash safety of the real server: SIGKILL under a retrying sender, restart, exact result.

A sender posts a fixed story of signed alarms (each alarm fires, then clears) and, like
Amazon SNS, retries a delivery until it gets a 2xx. The server (`alertgate serve`, a real
process) is killed with SIGKILL mid-story and started again on the same port. At the end
the database holds exactly the expected alerts (each message once) and incidents (one per
alarm, resolved, one triggering alert each). SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alertgate.plugins.aws_cloudtrail.demo import TOPIC_ARN, alarm_message
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.plugins.aws_sns.testing import sns_headers
from alertgate.storage.database import make_engine
from alertgate.storage.schema import Alert, Incident
from tests.core.cli.test_server_demo import ALERTGATE, clean_env
from tests.core.server.test_server_serve import wait_ready
from tests.live import free_port

ALARMS = 15
KILL_AFTER = 12
"""Acknowledged deliveries before the kill: mid-story."""


@pytest.mark.slow
def test_sigkill_under_a_retrying_sender_loses_and_duplicates_nothing(
    db_url: str, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_env(tmp_path)
    env.update(
        ALERTGATE_DATABASE_URL=db_url,
        ALERTGATE_PUBLIC_URL=base,
        ALERTGATE_SNS_CERT_DIR=str(tmp_path / "certs"),
    )
    procs: list[subprocess.Popen[bytes]] = []

    def serve() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [ALERTGATE, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(proc)
        wait_ready(base, proc)  # type: ignore[arg-type]
        return proc

    def cli(*args: str) -> str:
        return subprocess.run(
            [ALERTGATE, *args], env=env, capture_output=True, text=True, timeout=60, check=True
        ).stdout

    signer = SnsSigner(tmp_path / "certs", name=f"crash-{uuid.uuid4().hex}")
    story: list[dict[str, object]] = []
    for n in range(ALARMS):
        for state, previous in (("ALARM", "OK"), ("OK", "ALARM")):
            message = alarm_message(state, previous, datetime.now(UTC)).replace(
                "CloudTrail-UnauthorizedAPICalls", f"crash-{n}"
            )
            story.append(signer.notification(message, topic_arn=TOPIC_ARN))
    acknowledged: list[str] = []
    retries = 0
    try:
        server = serve()
        cli("services", "create", "crash")
        created = json.loads(
            cli(
                "integrations", "create", "--service", "crash", "--type", "aws_cloudwatch", "--json"
            )
        )
        url = created["integration_url"]

        def sender() -> None:
            nonlocal retries
            with httpx.Client(timeout=10) as client:
                for doc in story:
                    deadline = time.monotonic() + 120
                    while time.monotonic() < deadline:
                        try:
                            r = client.post(
                                url, content=SnsSigner.body(doc), headers=sns_headers(doc)
                            )
                            if r.status_code == 200:
                                acknowledged.append(str(doc["MessageId"]))
                                break
                            assert r.status_code >= 500, r.text  # never a 4xx for these
                        except httpx.TransportError:
                            pass
                        retries += 1
                        time.sleep(0.1)

        thread = threading.Thread(target=sender)
        thread.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < KILL_AFTER and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        time.sleep(0.5)  # the sender meets the dead server and retries
        serve()
        thread.join(timeout=180)
        assert not thread.is_alive()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    assert acknowledged == [str(doc["MessageId"]) for doc in story]
    assert retries > 0, "the kill never met the sender: the test proved nothing"
    engine = make_engine(db_url)
    try:
        with Session(engine) as s:
            stored = sorted(s.scalars(select(Alert.dedupe_key)).all())
            incidents = s.execute(
                select(Incident.fingerprint, Incident.status, Incident.alert_count)
            ).all()
    finally:
        engine.dispose()
    assert stored == sorted(str(doc["MessageId"]) for doc in story)  # each exactly once
    # One incident per alarm (grouped by its ARN), resolved by its OK, one trigger each.
    assert sorted((fp.rsplit(":", 1)[1], status, count) for fp, status, count in incidents) == (
        sorted((f"crash-{n}", "resolved", 1) for n in range(ALARMS))
    )

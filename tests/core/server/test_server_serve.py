"""`alertgate serve` as deployed: a subprocess with workers, migrations at start, one JSON
log line per delivery (never the key), metrics aggregated across workers, /readyz."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from alertgate.plugins.aws_cloudtrail.demo import TOPIC_ARN, alarm_message
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.server.app import create_app
from alertgate.settings import Settings
from tests.core.cli.test_server_demo import ALERTGATE, clean_env
from tests.live import free_port, serve_app
from tests.paths import ROOT_DIR


def wait_ready(base: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "serve exited early"
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("serve never became ready")


def test_serve_with_two_workers(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    certs = tmp_path / "certs"
    env = clean_env(tmp_path)
    env.update(
        ALERTGATE_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        ALERTGATE_PUBLIC_URL=base,
        ALERTGATE_SNS_CERT_DIR=str(certs),
    )
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [ALERTGATE, "serve", "--port", str(port), "--workers", "2"],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
    try:
        wait_ready(base, proc)

        def run(*args: str) -> str:
            return subprocess.run(
                [ALERTGATE, *args], env=env, capture_output=True, text=True, timeout=60, check=True
            ).stdout

        run("services", "create", "api")
        created = json.loads(
            run("integrations", "create", "--service", "api", "--type", "aws_cloudwatch", "--json")
        )
        signer = SnsSigner(certs, name=f"serve-{uuid.uuid4().hex}")
        statuses = []
        for n in range(6):
            message = alarm_message("ALARM", "OK", datetime.now(UTC)).replace(
                "CloudTrail-UnauthorizedAPICalls", f"alarm-{n % 2}"
            )
            doc = signer.notification(message, topic_arn=TOPIC_ARN)
            r = httpx.post(
                created["integration_url"],
                content=SnsSigner.body(doc),
                headers=SnsSigner.headers(doc),
            )
            statuses.append(r.status_code)
        assert statuses == [200] * 6
        httpx.post(f"{base}/integrations/nope", content=b"{}")

        # Metrics from both workers, summed (multiprocess mode).
        text = httpx.get(f"{base}/metrics").text
        received = [
            line
            for line in text.splitlines()
            if line.startswith("alertgate_alerts_received_total{")
        ]
        total = sum(float(line.rsplit(" ", 1)[1]) for line in received)
        assert total == 6, received
        assert 'outcome="opened"' in "".join(received)
        assert "alertgate_deliveries_rejected_total" in text
        latency = 'alertgate_http_request_duration_seconds_count{method="POST",'
        assert f'{latency}route="/integrations/{{key}}",status="200"}} 6.0' in text
        assert created["key"] not in text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)

    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    deliveries = [line for line in lines if line.get("event") == "delivery"]
    assert len(deliveries) == 7
    accepted = [d for d in deliveries if d["status"] == 200]
    assert {d["outcome"] for d in accepted} == {"opened", "attached"}
    assert all(d["integration_id"] == created["id"] for d in accepted)
    assert all(d["type"] == "aws_cloudwatch" and d["incident_ids"] for d in accepted)
    assert all("duration_ms" in d for d in deliveries)
    rejected = [d for d in deliveries if d["status"] == 404]
    assert rejected[0]["reason"] == "integration_not_found"
    assert created["key"] not in log_path.read_text()
    assert "nope" not in log_path.read_text()


def test_readyz_reports_an_unmigrated_database(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}"))
    with serve_app(app) as base:
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        r = httpx.get(f"{base}/readyz")
        assert r.status_code == 503
        assert r.json()["code"] == "migrations_pending"
        assert "alertgate db upgrade" in r.json()["message"]


def test_readyz_reports_an_unreachable_database(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "x.db"
    app = create_app(Settings(database_url=f"sqlite:///{missing}"))
    with serve_app(app) as base:
        r = httpx.get(f"{base}/readyz")
        assert r.status_code == 503
        assert r.json()["code"] == "database_unreachable"
    assert not os.path.exists(missing)


def test_serve_factory_tunes_the_garbage_collector(tmp_path: Path) -> None:
    # In a fresh interpreter, as each `alertgate serve` worker calls it.
    script = (
        "import gc\n"
        "from alertgate.server.app import GC_THRESHOLDS, serve_app\n"
        "before = gc.get_threshold()\n"
        "serve_app()\n"
        "print(before != GC_THRESHOLDS, gc.get_threshold() == GC_THRESHOLDS,"
        " gc.get_freeze_count() > 1000)\n"
    )
    env = {**os.environ, "ALERTGATE_DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT_DIR,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "True"]

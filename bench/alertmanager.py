"""Prometheus Alertmanager as a reference point: the same mix, one alert per POST.

Alertmanager (Debian's ``prometheus-alertmanager``) runs on loopback with a throw-away
config (one route to a receiver that does nothing) and storage folder, clustering off.
Each workload delivery becomes ``POST /api/v2/alerts`` with a one-alert array: labels from
the alarm, ``endsAt`` set for OK (resolved), unsigned and in memory — it does strictly less
than alertgate (no signature, no durable commit), which is what makes it a ceiling.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from bench.workload import Workload, _alarm_identity

BINARY = "prometheus-alertmanager"

CONFIG = """\
route:
  receiver: blackhole
  group_by: [alertname]
receivers:
  - name: blackhole
"""


def available() -> bool:
    return shutil.which(BINARY) is not None


def body_for(alarm: int, state: str, when_iso: str) -> bytes:
    ident = _alarm_identity(alarm)
    alert = {
        "labels": {
            "alertname": ident["AlarmName"],
            "account": ident["AWSAccountId"],
            "region": ident["AlarmArn"].split(":")[3],
            "alarm_arn": ident["AlarmArn"],
            "severity": "error",
        },
        "annotations": {"summary": f"{state}: {ident['AlarmName']}"},
        "startsAt": when_iso,
    }
    if state == "OK":
        alert["endsAt"] = when_iso
    return json.dumps([alert], separators=(",", ":")).encode()


def write_requests(workload: Workload, out: Path) -> None:
    """The workload as Alertmanager requests, in the same file format as the SNS bodies."""
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with out.open("wb") as f:
        for d in workload.deliveries:
            body = body_for(d.alarm, d.state, when)
            f.write(f"/api/v2/alerts\n{len(body)}\n".encode())
            f.write(body)


class Alertmanager:
    """A running Alertmanager on 127.0.0.1:``port`` (context manager)."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir, self.port = workdir, port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> Alertmanager:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "alertmanager.yml"
        config.write_text(CONFIG)
        log = (self.workdir / "alertmanager.log").open("wb")
        self.proc = subprocess.Popen(
            [
                BINARY,
                f"--config.file={config}",
                f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}-/ready", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("alertmanager did not become ready")

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)

    def alert_count(self) -> int:
        with urllib.request.urlopen(
            f"{self.url}api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true",
            timeout=30,
        ) as r:
            return len(json.loads(r.read()))

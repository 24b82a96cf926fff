"""RSS of an `alertgate serve` worker before, during and after many large bodies (issue 22, item 7).

Usage: PYTHONPATH=. python scripts/rss_large_bodies.py [NAME=VALUE ...]  (extra environment,
e.g. ALERTGATE_DATABASE_URL=...); CONC and N set the senders and the number of ~250 KB
signed SNS messages. Not a test: it prints figures (see docs/performance.md).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from alertgate.plugins.aws_sns.signer import SnsSigner
from tests.live import free_port

tmp = Path(tempfile.mkdtemp())
port = free_port()
base = f"http://127.0.0.1:{port}"
env = {
    **os.environ,
    "ALERTGATE_DATABASE_URL": f"sqlite:///{tmp}/rss.db",
    "ALERTGATE_PUBLIC_URL": base,
    "ALERTGATE_SNS_CERT_DIR": str(tmp / "certs"),
    "ALERTGATE_LOG_LEVEL": "warning",
}
env.update(dict(a.split("=", 1) for a in sys.argv[1:]))
ag = str(Path(sys.executable).with_name("alertgate"))
proc = subprocess.Popen(  # noqa: S603 - our own entry point
    [ag, "serve", "--port", str(port)],
    env=env,
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)


def rss():
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024


try:
    for _ in range(200):
        try:
            if httpx.get(base + "/readyz").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    subprocess.run([ag, "services", "create", "rss"], env=env, check=True, capture_output=True)  # noqa: S603 - our own entry point
    out = subprocess.run(  # noqa: S603 - our own entry point
        [
            ag,
            "integrations",
            "create",
            "--service",
            "rss",
            "--type",
            "aws_sns",
            "--json",
            "--rate-limit-per-minute",
            "0",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    url = json.loads(out)["integration_url"]
    signer = SnsSigner(tmp / "certs", name=f"rss-{uuid.uuid4().hex}")
    warm = [
        json.dumps(signer.notification("small", topic_arn="arn:aws:sns:us-east-1:123456789012:t"))
        for _ in range(50)
    ]
    for b in warm:
        httpx.post(url, content=b)
    time.sleep(2)
    before = rss()
    bodies = [
        json.dumps(
            signer.notification(
                "x" * 250_000 + str(i), topic_arn="arn:aws:sns:us-east-1:123456789012:t"
            )
        )
        for i in range(int(os.environ.get("N", "400")))
    ]
    peak = [0]

    def send(b):
        r = httpx.post(url, content=b, timeout=120)
        peak[0] = max(peak[0], rss())
        return r.status_code

    with ThreadPoolExecutor(int(os.environ.get("CONC", "32"))) as pool:
        statuses = list(pool.map(send, bodies))
    time.sleep(10)
    after = rss()
    print(
        f"statuses={sorted(set(statuses))} rss_before={before}MB peak={peak[0]}MB "
        f"after_10s={after}MB"
    )
finally:
    proc.terminate()
    proc.wait(timeout=30)

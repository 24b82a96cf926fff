"""RSS of an ``alertgate serve`` worker before, at the peak of and after a burst of large
deliveries (issue 22: memory returns after large bodies).

    python -m bench.memory [--messages 400] [--senders 32] [--idle 10] [--postgres URL]

One worker (``--workers 1``: the server process is the worker) on a fresh database, set up
through the CLI. After 50 small warm-up deliveries and 2 s of rest, its ``VmRSS`` is the
baseline; then ``--messages`` signed SNS notifications of ~250 KB each (near Amazon SNS's
256 KiB message limit, a ~256 KB body) arrive from ``--senders`` concurrent clients, RSS
sampled every 0.25 s (the peak); then nothing for ``--idle`` seconds, and RSS again. A
figure; ``tests/bench/test_memory_bench.py`` holds the server to a bound.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from alertgate.server.runner import free_port
from bench import server
from bench.procs import Sampler, rss_bytes

MB = 1024 * 1024
TOPIC = "arn:aws:sns:us-east-1:123456789012:alertgate-bench-memory"


def _post(url: str, body: bytes) -> int:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "text/plain; charset=UTF-8"}
    )
    with urllib.request.urlopen(request, timeout=120) as r:
        r.read()
        return int(r.status)


def measure(
    workdir: Path,
    *,
    messages: int = 400,
    senders: int = 32,
    idle: float = 10.0,
    postgres: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run the burst against a fresh server; RSS in MB before, at the peak, after."""
    from alertgate.plugins.aws_sns.signer import SnsSigner

    cert_dir = workdir / "certs"
    signer = SnsSigner(cert_dir, name="alertgate-bench-memory")
    small = [SnsSigner.body(signer.notification("small", topic_arn=TOPIC)) for _ in range(50)]
    large = [
        SnsSigner.body(signer.notification("x" * 250_000 + str(i), topic_arn=TOPIC))
        for i in range(messages)
    ]
    pg = server.PostgresDatabase(postgres) if postgres else None
    url = pg.__enter__().url if pg else f"sqlite:///{workdir / 'alertgate.db'}"
    port = free_port()
    env = server.base_env(
        url, cert_dir, port, {"ALERTGATE_LOG_LEVEL": "warning", **(extra_env or {})}
    )
    try:
        server.run_cli(["db", "upgrade"], env)
        # aws_sns (a plain SNS topic) stores any message; unlimited: this is no flood.
        server.run_cli(["services", "create", "memory"], env)
        created = server.run_cli(
            ["integrations", "create", "--service", "memory", "--type", "aws_sns",
             "--rate-limit-per-minute", "0", "--json"], env,
        )  # fmt: skip
        path = "/" + json.loads(created)["integration_url"].split("/", 3)[3]
        with server.Alertgate(env, port, 1, workdir / "alertgate.log") as ag:
            target = ag.url.rstrip("/") + path
            pid = ag.worker_pids()[0]
            statuses = [_post(target, body) for body in small]
            time.sleep(2)
            before = rss_bytes(pid)
            with Sampler([pid]) as sampler, ThreadPoolExecutor(senders) as pool:
                statuses += pool.map(lambda body: _post(target, body), large)
            time.sleep(idle)
            after = rss_bytes(pid)
    finally:
        if pg is not None:
            pg.__exit__(None, None, None)
    return {
        "database": "postgresql" if postgres else "sqlite",
        "messages": messages,
        "body_bytes": len(large[0]) if large else 0,
        "senders": senders,
        "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
        "rss_mb_before": round(before / MB, 1),
        "rss_mb_peak": round(max(sampler.peak.get(pid, 0), before) / MB, 1),
        f"rss_mb_after_{idle:g}s": round(after / MB, 1),
        "rss_mb_after": round(after / MB, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    p.add_argument("--messages", type=int, default=400, help="large deliveries (400)")
    p.add_argument("--senders", type=int, default=32, help="concurrent clients (32)")
    p.add_argument("--idle", type=float, default=10.0, help="seconds of rest before (10)")
    p.add_argument("--postgres", metavar="URL", help="a fresh database on this server")
    args = p.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="alertgate-memory-"))
    try:
        result = measure(
            workdir,
            messages=args.messages,
            senders=args.senders,
            idle=args.idle,
            postgres=args.postgres,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result))
    return 0 if set(result["statuses"]) == {"200"} else 1


if __name__ == "__main__":
    sys.exit(main())

"""One integration flooded, another one's latency: does a rate limit protect the others?

    python -m bench.flood [--workers 2] [--rate 200] [--seconds 20] [--rounds 2] ...

Issue 22: a flood on one integration must leave other integrations' p99 within 3x of
normal. ``alertgate serve --workers N`` on a fresh database (SQLite, or ``--postgres URL``),
set up through the CLI as an operator would: integration *B* (service ``steady``, the
server's default rate limit) and integration *A* (service ``flooded``,
``--rate-limit-per-minute`` ``--flood-limit``). Two phases, alternating order per round:

- ``normal``: B alone, signed CloudWatch alarm deliveries at a constant ``--rate``
  (open loop, :func:`bench.loadgen.constant_rate`: latency from each request's due time);
- ``flood``: the same stream to B (fresh messages) while wrk hammers A with signed
  deliveries over ``--connections`` keep-alive connections, as fast as alertgate answers
  (closed loop, ``bench/flood.lua``), far beyond A's limit.

Reports B's p50/p99 in both phases and their ratio (the median over rounds), A's answers
by status (429s and what got through), the workers' CPU. A figure, not a test: nothing
here asserts a timing; the exit status is 1 only when B got an answer other than 200.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from alertgate.server.runner import free_port
from bench import loadgen, server
from bench.procs import cpu_seconds, machine
from bench.run import alternating, warmup_bodies
from bench.workload import Params, generate, write_requests

LUA = Path(__file__).with_name("flood.lua")
RAMP_SECONDS = 3.0
"""The flood runs this long before B's stream starts: B meets it at full strength, and A has
spent the burst its limit allows (a minute's worth per worker at once, as fast as alertgate
takes it), which is allowed traffic, not the flood beyond the limit that is measured."""


QUIET_LATENESS_MS = 10.0
"""A pair of phases counts as quiet when the client sent on time (see :func:`summarize`)."""


def _log(message: str) -> None:
    print(f"[flood {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def create_integration(env: dict[str, str], service: str, limit: int | None) -> str:
    """A service with an ``aws_cloudwatch`` integration (``limit``: its own rate limit,
    ``None``: the server's default); the Integration URL's path."""
    server.run_cli(["services", "create", service], env)
    args = ["integrations", "create", "--service", service, "--type", "aws_cloudwatch", "--json"]
    if limit is not None:
        args += ["--rate-limit-per-minute", str(limit)]
    return "/" + json.loads(server.run_cli(args, env))["integration_url"].split("/", 3)[3]


class Flood:
    """wrk flooding one Integration URL until stopped (context manager)."""

    def __init__(self, url: str, requests_file: Path, threads: int, connections: int) -> None:
        self.cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", "3600",
                    "--timeout", "30s", "-s", str(LUA), url, "--", str(requests_file)]  # fmt: skip
        self.proc: subprocess.Popen[str] | None = None
        self.statuses: dict[int, int] = {}
        self.errors: dict[str, int] = {}
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    def __enter__(self) -> Flood:
        self.proc = subprocess.Popen(
            self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self._t0 = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.cpu_seconds = cpu_seconds(self.proc.pid)
        self.seconds = time.monotonic() - self._t0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        output, _ = self.proc.communicate(timeout=60)
        for line in output.splitlines():
            if line.startswith("BENCH flood"):
                for code, count in re.findall(r"s(\d+)=(\d+)", line):
                    self.statuses[int(code)] = self.statuses.get(int(code), 0) + int(count)
            elif line.startswith("BENCH errors"):
                self.errors = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line) if int(v)}
        if not self.statuses:
            raise RuntimeError(f"wrk reported nothing:\n{output}")

    def as_dict(self) -> dict[str, Any]:
        total = sum(self.statuses.values())
        return {
            "requests": total,
            "rate_per_s": round(total / self.seconds, 1) if self.seconds else 0,
            "statuses": dict(sorted(self.statuses.items())),
            "socket_errors": self.errors,
            "wrk_cpu_share_of_one_core": round(self.cpu_seconds / self.seconds, 3)
            if self.seconds
            else None,
        }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.flood",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--workers", type=int, default=2, help="alertgate worker processes (2)")
    p.add_argument("--rate", type=float, default=200.0, help="B's deliveries a second (200)")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each phase (20)")
    p.add_argument("--rounds", type=int, default=2, help="normal/flood pairs, order flipping (2)")
    p.add_argument(
        "--flood-limit",
        type=int,
        default=600,
        help="A's rate_limit_per_minute (per worker, as every limit; 600)",
    )
    p.add_argument("--connections", type=int, default=256, help="wrk connections on A (256)")
    p.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (1)")
    p.add_argument("--flood-bodies", type=int, default=1000, help="distinct bodies sent to A")
    p.add_argument("--postgres", metavar="URL", help="run on a fresh database on this server")
    p.add_argument("--log-level", default="info", help="ALERTGATE_LOG_LEVEL of the server")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--out", type=Path, help="write all figures as JSON here")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    return p.parse_args(argv)


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from alertgate.plugins.aws_sns.signer import SnsSigner

    cert_dir = workdir / "certs"
    signer = SnsSigner(cert_dir, name="alertgate-bench-flood")
    per_phase = max(1, int(args.rate * args.seconds))
    steady = generate(Params(messages=per_phase * 2 * args.rounds, gap=20, seed=args.seed), signer)
    flood = generate(Params(messages=args.flood_bodies, gap=10, seed=args.seed + 1), signer)
    _log(f"signed {len(steady.deliveries):,} + {len(flood.deliveries):,} deliveries")
    pg = server.PostgresDatabase(args.postgres) if args.postgres else None
    url = pg.__enter__().url if pg else f"sqlite:///{workdir / 'alertgate.db'}"
    port = free_port()
    env = server.base_env(url, cert_dir, port, {"ALERTGATE_LOG_LEVEL": args.log_level})
    report: dict[str, Any] = {"machine": machine(), "argv": sys.argv[1:], "phases": []}
    try:
        server.run_cli(["db", "upgrade"], env)
        b_path = create_integration(env, "steady", None)
        a_path = create_integration(env, "flooded", args.flood_limit)
        warm_path, _ = server.create_integration(env, "warmup")
        flood_file = workdir / "flood.bin"
        write_requests(flood, a_path, flood_file)
        bodies = iter(d.body for d in steady.deliveries)
        with server.Alertgate(env, port, args.workers, workdir / "alertgate.log") as ag:
            server.warm_up(ag.url, warm_path, warmup_bodies(steady, cert_dir))
            pids = ag.worker_pids()
            for pair in alternating(("normal", "flood"), args.rounds):
                for label in pair:
                    requests = [(b_path, next(bodies)) for _ in range(per_phase)]
                    phase: dict[str, Any] = {"phase": label}
                    cpu0, t0 = sum(cpu_seconds(p) for p in pids), time.monotonic()
                    if label == "flood":
                        with Flood(
                            ag.url, flood_file, args.wrk_threads, args.connections
                        ) as flooding:
                            time.sleep(RAMP_SECONDS)
                            result = loadgen.constant_rate(ag.url, requests, args.rate)
                        phase["flood"] = flooding.as_dict()
                    else:
                        result = loadgen.constant_rate(ag.url, requests, args.rate)
                    phase["steady"] = result.as_dict()
                    cpu = sum(cpu_seconds(p) for p in pids) - cpu0
                    phase["server_cpu_cores_busy"] = round(cpu / (time.monotonic() - t0), 2)
                    phase["server_cpu_seconds"] = round(cpu, 2)
                    lat = result.latency_ms
                    _log(
                        f"{label}: B p50 {lat.get('p50')} ms, p99 {lat.get('p99')} ms, "
                        f"statuses {result.statuses}"
                        + (f"; A {phase['flood']['statuses']}" if label == "flood" else "")
                    )
                    report["phases"].append(phase)
    finally:
        if pg is not None:
            pg.__exit__(None, None, None)
    report["summary"] = summarize(report["phases"], args)
    return report


def summarize(phases: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """B's latency per phase, the flood-to-normal p99 ratio per round and their median."""
    normal = [p for p in phases if p["phase"] == "normal"]
    flooded = [p for p in phases if p["phase"] == "flood"]
    ratios = [
        round(f["steady"]["latency_ms"]["p99"] / max(n["steady"]["latency_ms"]["p99"], 1e-3), 2)
        for n, f in zip(normal, flooded, strict=True)
    ]
    # What the flood added to the workers' CPU, per request sent to A (the B stream's own
    # CPU taken out as measured in the same round's normal phase).
    flood_cpu_us = [
        round(1e6 * (f["server_cpu_seconds"] - n["server_cpu_seconds"]) / f["flood"]["requests"])
        for n, f in zip(normal, flooded, strict=True)
    ]
    # Pairs in which the load client itself kept time (p99 of its send lateness under
    # QUIET_LATENESS_MS in both phases): on a machine shared with other work, a stalled
    # client or server shows as latency in whichever phase it fell, whatever the flood did.
    late = [p["steady"]["client_send_lateness_ms"].get("p99", 0.0) for p in phases]
    quiet = [
        r
        for r, n, f in zip(ratios, normal, flooded, strict=True)
        if max(late[phases.index(n)], late[phases.index(f)]) < QUIET_LATENESS_MS
    ]
    b_ok = all(set(p["steady"]["statuses"]) == {200} and not p["steady"]["errors"] for p in phases)
    return {
        "b_rate_per_s": args.rate,
        "a_rate_limit_per_minute_per_worker": args.flood_limit,
        "workers": args.workers,
        "b_latency_ms_normal": [p["steady"]["latency_ms"] for p in normal],
        "b_latency_ms_flood": [p["steady"]["latency_ms"] for p in flooded],
        # How late the client itself sent B's requests (p99): a loaded machine shows here.
        "b_client_lateness_p99_ms": {
            "normal": [p["steady"]["client_send_lateness_ms"].get("p99") for p in normal],
            "flood": [p["steady"]["client_send_lateness_ms"].get("p99") for p in flooded],
        },
        "a_flood": [p["flood"] for p in flooded],
        "server_cpu_cores_busy": {
            "normal": [p["server_cpu_cores_busy"] for p in normal],
            "flood": [p["server_cpu_cores_busy"] for p in flooded],
        },
        "server_cpu_us_per_flood_request": flood_cpu_us,
        "p99_ratios_flood_to_normal": ratios,
        "p99_ratio_flood_to_normal": statistics.median(ratios) if ratios else None,
        "p99_ratios_quiet_pairs": quiet,
        "p99_ratio_quiet_pairs": statistics.median(quiet) if quiet else None,
        "b_all_answered_200": b_ok,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="alertgate-flood-"))
    try:
        report = run(args, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report["summary"], indent=2))
    return 0 if report["summary"]["b_all_answered_200"] else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""The benchmark in one command: ``python -m bench [options]`` (see docs/performance.md).

Phases (each on a fresh database, each followed by the correctness check):

1. throughput: every message of the workload through wrk as fast as alertgate answers;
   RSS of each worker sampled throughout;
2. latency: a prefix of the workload offered at a constant rate (default 1,000/s);
3. ``--alertmanager``: the same mix, one alert per POST, against Prometheus Alertmanager;
   ``--bare``: the same requests against a bare Starlette + sqlite3 handler that only
   verifies and inserts (the design's second reference point, :mod:`bench.bare`);
4. ``--growth``: the throughput phase again with N alerts pre-stored (default 1,000,000)
   next to a fresh empty-database run, and the ratio of the two (``--growth-rounds K``:
   K such pairs in alternating order, and the median ratio);
5. ``--postgres URL``: phases 1 (and 4) on PostgreSQL too.

Prints a summary and writes every figure as JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from alertgate.server.runner import free_port
from alertgate.storage.database import make_engine
from bench import alertmanager, bare, calibrate, growth, loadgen, profile, server
from bench import notify as notify_bench
from bench.check import check_database
from bench.procs import Sampler, cpu_seconds, machine
from bench.workload import Params, Workload, generate, write_requests

MB = 1024 * 1024


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Bench:
    def __init__(
        self, args: argparse.Namespace, workdir: Path, workload: Workload, cert_dir: Path
    ) -> None:
        self.args, self.workdir, self.workload, self.cert_dir = args, workdir, workload, cert_dir
        self.runs = 0
        self.warmup_bodies = warmup_bodies(workload, cert_dir)

    def _replay(
        self,
        url: str,
        requests_file: Path,
        count: int,
        workdir: Path,
        content_type: str = "text/plain; charset=UTF-8",
    ) -> loadgen.ReplayResult:
        """wrk with this run's settings (threads, connections) over ``requests_file``."""
        return loadgen.replay(
            url,
            requests_file,
            count,
            threads=self.args.wrk_threads,
            connections=self.args.connections,
            content_type=content_type,
            workdir=workdir,
        )

    def _database(self, postgres: str | None) -> tuple[str, Any]:
        self.runs += 1
        if postgres:
            pg = server.PostgresDatabase(postgres)
            pg.__enter__()
            return pg.url, pg
        path = self.workdir / f"run{self.runs}" / "alertgate.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}", None

    def ingest_run(
        self,
        label: str,
        *,
        postgres: str | None = None,
        prestore: int = 0,
        rate: float | None = None,
        count: int | None = None,
        notify: bool = False,
    ) -> dict[str, Any]:
        """One phase: fresh database, alertgate up, load, alertgate down, check.

        :param notify: Also a rule notifying a local webhook on every opened and resolved
            incident (see :mod:`bench.notify`); the outbox is drained and checked after.
        """
        args = self.args
        deliveries = self.workload.deliveries[: count or len(self.workload.deliveries)]
        url, pg = self._database(postgres)
        port = free_port()
        extra = {"ALERTGATE_LOG_LEVEL": args.log_level}
        if notify:
            extra.update(notify_bench.server_env())
            if args.notify_defer is not None:
                extra["ALERTGATE_NOTIFY_DEFER_MAX_SECONDS"] = str(args.notify_defer)
        env = server.base_env(url, self.cert_dir, port, extra)
        out: dict[str, Any] = {
            "phase": label,
            "database": "postgresql" if postgres else "sqlite",
            "workers": args.workers,
            "deliveries": len(deliveries),
        }
        receiver = notify_bench.WebhookReceiver() if notify else None
        try:
            path, integration_id, warmup_path = server.prepare(env)
            if receiver is not None:
                receiver.__enter__()
                notify_bench.add_rule(server.run_cli, env, receiver.url)
            db = make_engine(url)
            if prestore:
                _log(f"{label}: pre-storing {prestore:,} alerts by SQL")
                out["prestored"] = growth.prestore(db, prestore)
            run_dir = self.workdir / f"run{self.runs}"
            run_dir.mkdir(parents=True, exist_ok=True)
            with server.Alertgate(env, port, args.workers, run_dir / "alertgate.log") as ag:
                server.warm_up(ag.url, warmup_path, self.warmup_bodies)
                pids = ag.worker_pids()
                commits0 = _pg_commits(db) if postgres else None
                # The machine's speed right before the load (see bench/calibrate.py).
                out["python_speed_ms_before"] = calibrate.speed_ms()
                cpu0 = {pid: cpu_seconds(pid) for pid in pids}
                _log(f"{label}: alertgate up ({len(pids)} worker(s)); sending {len(deliveries):,}")
                profilers = profile.start(pids, run_dir) if args.profile else []
                with Sampler(pids) as sampler:
                    if rate is None:
                        requests_file = run_dir / "requests.bin"
                        write_requests(
                            Workload(
                                self.workload.params,
                                deliveries,
                                self.workload.expected,
                                self.workload.generated_at,
                            ),
                            path,
                            requests_file,
                        )
                        result = self._replay(ag.url, requests_file, len(deliveries), run_dir)
                        requests_file.unlink()
                        out["load"] = result.as_dict()
                        statuses = result.statuses
                        seconds = result.seconds
                    else:
                        rresult = loadgen.constant_rate(
                            ag.url, [(path, d.body) for d in deliveries], rate
                        )
                        out["load"] = rresult.as_dict()
                        statuses = rresult.statuses
                        seconds = rresult.seconds
                if profilers:
                    out["profile"] = profile.stop(profilers)
                out["rss_mb_peak_per_worker"] = [
                    round(sampler.peak.get(p, 0) / MB, 1) for p in pids
                ]
                out["rss_mb_end_per_worker"] = [round(sampler.last.get(p, 0) / MB, 1) for p in pids]
                if commits0 is not None:
                    # Transactions committed in this database during the load (the
                    # workers' batches plus a few key lookups): how well group commit works.
                    commits = _pg_commits(db) - commits0
                    out["postgres_commits"] = commits
                    out["deliveries_per_commit"] = round(len(deliveries) / max(commits, 1), 2)
                cpu = sum(cpu_seconds(p) - cpu0[p] for p in pids)
                out["server_cpu_seconds"] = round(cpu, 1)
                out["server_cpu_ms_per_delivery"] = round(1000 * cpu / len(deliveries), 3)
                out["server_cpu_cores_busy"] = round(cpu / seconds, 2) if seconds else None
                out["python_speed_ms_after"] = calibrate.speed_ms()
                if receiver is not None:
                    out["notifications"] = notify_bench.wait_drained(db, receiver)
                    # Sends deferred past the load cost CPU too: count them.
                    cpu = sum(cpu_seconds(p) - cpu0[p] for p in pids)
                    out["server_cpu_ms_per_delivery_incl_drain"] = round(
                        1000 * cpu / len(deliveries), 3
                    )
            check = check_database(db, deliveries, integration_id, statuses)
            out["check"] = check.as_dict()
            db.dispose()
            verdict = "OK" if check.ok else "FAILED: " + "; ".join(check.problems[:3])
            load = out["load"]
            figure = (
                f"{load['rate_per_s']:,.0f}/s"
                if rate is None
                else f"p50 {load['latency_ms'].get('p50')} ms, "
                f"p99 {load['latency_ms'].get('p99')} ms"
            )
            _log(f"{label}: {figure}; check {verdict}")
        finally:
            if receiver is not None:
                receiver.__exit__(None, None, None)
            if pg is not None:
                pg.__exit__(None, None, None)
            elif not self.args.keep:
                shutil.rmtree(self.workdir / f"run{self.runs}", ignore_errors=True)
        return out

    def alertmanager_run(self) -> dict[str, Any]:
        port = free_port()
        am_dir = self.workdir / "alertmanager"
        requests_file = self.workdir / "alertmanager.bin"
        alertmanager.write_requests(self.workload, requests_file)
        with alertmanager.Alertmanager(am_dir, port) as am:
            assert am.proc is not None
            with Sampler([am.proc.pid]) as sampler:
                result = self._replay(
                    am.url,
                    requests_file,
                    len(self.workload.deliveries),
                    am_dir,
                    content_type="application/json",
                )
            active = am.alert_count()
        out = {
            "phase": "alertmanager",
            "load": result.as_dict(),
            "active_alerts_after": active,
            "rss_mb_peak": round(sampler.peak.get(am.proc.pid, 0) / MB, 1),
        }
        _log(f"alertmanager: {result.rate:,.0f}/s")
        return out

    def bare_run(self) -> dict[str, Any]:
        """The same signed requests against :mod:`bench.bare`, same workers and load."""
        run_dir = self.workdir / "bare"
        run_dir.mkdir(parents=True, exist_ok=True)
        db_path = run_dir / "bare.db"
        requests_file = run_dir / "requests.bin"
        write_requests(self.workload, "/integrations/bare", requests_file)
        with bare.BareServer(
            db_path, self.cert_dir, free_port(), self.args.workers, run_dir / "bare.log"
        ) as handler:
            server.warm_up(handler.url, "/integrations/warmup", self.warmup_bodies)
            rows_before = bare.row_count(db_path)
            pids = handler.worker_pids()
            cpu0 = {pid: cpu_seconds(pid) for pid in pids}
            result = self._replay(
                handler.url, requests_file, len(self.workload.deliveries), run_dir
            )
            cpu = sum(cpu_seconds(p) - cpu0[p] for p in pids)
        stored = bare.row_count(db_path) - rows_before
        expected = len({d.message_id for d in self.workload.deliveries})
        problems = []
        if result.statuses != {200: len(self.workload.deliveries)}:
            problems.append(f"statuses {result.statuses}")
        if stored != expected:
            problems.append(f"{stored:,} rows stored, {expected:,} distinct messages sent")
        out = {
            "phase": "bare",
            "load": result.as_dict(),
            "server_cpu_ms_per_delivery": round(1000 * cpu / len(self.workload.deliveries), 3),
            "server_cpu_cores_busy": round(cpu / result.seconds, 2) if result.seconds else None,
            "check": {"ok": not problems, "problems": problems},
        }
        _log(f"bare handler: {result.rate:,.0f}/s; check {'; '.join(problems) or 'OK'}")
        if not self.args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
        return out


def _pg_commits(db: Any) -> int:
    from sqlalchemy import text

    with db.connect() as conn:
        return int(
            conn.execute(
                text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
            ).scalar_one()
        )


def warmup_bodies(workload: Workload, cert_dir: Path, count: int = 32) -> list[bytes]:
    """Signed deliveries for the warm-up integration: other alarms, other MessageIds."""
    from alertgate.plugins.aws_sns.signer import SnsSigner

    signer = SnsSigner(cert_dir, name="alertgate-bench-warmup")
    params = Params(messages=count, gap=1, seed=workload.params.seed + 1000)
    return [d.body for d in generate(params, signer, processes=1).deliveries]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--workers", type=int, default=2, help="alertgate worker processes (2)")
    p.add_argument("--messages", type=int, default=100_000, help="deliveries in the workload")
    p.add_argument(
        "--gap", type=int, default=1_000, help="min. positions between deliveries of one alarm"
    )
    p.add_argument(
        "--v2-rate", type=float, default=0.0, help="share signed with SignatureVersion 2"
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--connections", type=int, default=64, help="wrk connections")
    p.add_argument(
        "--wrk-threads",
        type=int,
        default=1,
        help="wrk threads (1: one thread keeps the file's order; it is far from busy)",
    )
    p.add_argument(
        "--latency-rate", type=float, default=1000.0, help="offered rate of the latency phase"
    )
    p.add_argument("--latency-seconds", type=float, default=30.0)
    p.add_argument("--no-latency", action="store_true", help="skip the latency phase")
    p.add_argument("--no-throughput", action="store_true", help="skip the SQLite throughput phase")
    p.add_argument("--no-sqlite", action="store_true", help="skip every SQLite phase")
    p.add_argument("--alertmanager", action="store_true", help="also drive Prometheus Alertmanager")
    p.add_argument(
        "--bare",
        action="store_true",
        help="also drive a bare Starlette + sqlite3 verify-and-insert handler (bench/bare.py)",
    )
    p.add_argument(
        "--bare-rounds",
        type=int,
        default=1,
        help="with --bare: SQLite throughput / bare handler pairs to run, in alternating "
        "order (alertgate first, then the bare handler first, ...); the summary's ratio is "
        "their median (1)",
    )
    p.add_argument(
        "--notify",
        action="store_true",
        help="also run with a rule notifying a local webhook on every opened/resolved incident",
    )
    p.add_argument(
        "--notify-rounds", type=int, default=1, help="pairs of notify and plain phases (1)"
    )
    p.add_argument(
        "--notify-defer",
        type=float,
        help="ALERTGATE_NOTIFY_DEFER_MAX_SECONDS of the notify phases (default: the "
        "server's default; 0: dispatch never waits for ingest)",
    )
    p.add_argument("--growth", action="store_true", help="also run with alerts pre-stored")
    p.add_argument("--growth-alerts", type=int, default=1_000_000)
    p.add_argument(
        "--growth-rounds",
        type=int,
        default=1,
        help="SQLite growth pairs to run, in alternating order (empty first, then pre-stored "
        "first, ...); the summary's ratio is their median (1)",
    )
    p.add_argument(
        "--postgres",
        metavar="URL",
        help="also run on PostgreSQL (a fresh database "
        "is created on this server per phase and dropped after)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="py-spy every worker during the load phases (summary in the JSON; "
        "collapsed stacks kept with --keep)",
    )
    p.add_argument("--log-level", default="info", help="ALERTGATE_LOG_LEVEL of the server (info)")
    p.add_argument("--out", type=Path, help="write all figures as JSON here")
    p.add_argument("--workdir", type=Path, help="keep files here (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep databases and logs")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="alertgate-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "machine": machine(),
        "python": calibrate.interpreter(),
        "argv": sys.argv[1:],
        "phases": [],
    }
    try:
        from alertgate.plugins.aws_sns.signer import SnsSigner

        cert_dir = workdir / "certs"
        signer = SnsSigner(cert_dir, name="alertgate-bench")
        params = Params(messages=args.messages, gap=args.gap, v2_rate=args.v2_rate, seed=args.seed)
        t0 = time.perf_counter()
        workload = generate(params, signer)
        _log(
            f"generated and signed {len(workload.deliveries):,} deliveries in "
            f"{time.perf_counter() - t0:.1f} s: {workload.expected}"
        )
        report["workload"] = workload.summary()
        bench = Bench(args, workdir, workload, cert_dir)
        phases: list[dict[str, Any]] = report["phases"]
        if not args.no_throughput and not args.no_sqlite:
            phases.append(bench.ingest_run("throughput"))
            if args.notify:
                # The first pair's plain phase ran above; the order flips every round.
                pairs = alternating(("throughput", "notify"), args.notify_rounds)
                for i, pair in enumerate(pairs):
                    for label in pair[1:] if i == 0 else pair:
                        phases.append(bench.ingest_run(label, notify=label == "notify"))
        if not args.no_latency and not args.no_sqlite:
            count = min(len(workload.deliveries), int(args.latency_rate * args.latency_seconds))
            phases.append(bench.ingest_run("latency", rate=args.latency_rate, count=count))
        if args.alertmanager and alertmanager.available():
            phases.append(bench.alertmanager_run())
        if args.bare:
            phases.append(bench.bare_run())
            if not args.no_throughput and not args.no_sqlite:
                # The first pair ran above; the order flips every further round.
                for pair in alternating(("throughput", "bare"), args.bare_rounds)[1:]:
                    for label in pair:
                        if label == "bare":
                            phases.append(bench.bare_run())
                        else:
                            phases.append(bench.ingest_run("throughput"))
        if args.growth and not args.no_sqlite:
            for pair in growth_order(args.growth_rounds):
                for label in pair:
                    prestore = args.growth_alerts if label == "growth-prestored" else 0
                    phases.append(bench.ingest_run(label, prestore=prestore))
        if args.postgres:
            phases.append(bench.ingest_run("throughput", postgres=args.postgres))
            if args.growth:
                phases.append(
                    bench.ingest_run(
                        "growth-prestored", postgres=args.postgres, prestore=args.growth_alerts
                    )
                )
        report["summary"] = summarize(phases)
    finally:
        if args.out:
            args.out.write_text(json.dumps(report, indent=2, default=str))
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(report["summary"], indent=2))
    return 0 if report["summary"]["all_checks_ok"] else 1


def alternating(pair: tuple[str, str], rounds: int) -> list[tuple[str, str]]:
    """``pair`` once per round, its order flipping every round: a machine whose speed drifts
    during the run then favours neither side."""
    return [pair if i % 2 == 0 else pair[::-1] for i in range(max(rounds, 1))]


def growth_order(rounds: int) -> list[tuple[str, str]]:
    """The growth phases, a pair per round (see :func:`alternating`)."""
    return alternating(("growth-empty", "growth-prestored"), rounds)


def _label(phase: dict[str, Any]) -> str:
    """A phase's name in the summary: ``<phase>_<database>``, or ``<phase>`` alone."""
    return f"{phase['phase']}_{phase['database']}" if "database" in phase else phase["phase"]


def paired_ratios(phases: list[dict[str, Any]], numerator: str, denominator: str) -> list[float]:
    """``numerator`` rate / ``denominator`` rate (labels as in the summary, e.g.
    ``throughput_sqlite``) for each pair of those phases, in run order; a pair is the next
    phase of each, whichever ran first, and phases of other labels in between are ignored."""
    ratios = []
    top: float | None = None
    bottom: float | None = None
    for p in phases:
        rate = p.get("load", {}).get("rate_per_s")
        if rate is None:
            continue
        label = _label(p)
        if label == numerator:
            top = rate
        elif label == denominator:
            bottom = rate
        else:
            continue
        if top is not None and bottom is not None:
            ratios.append(round(top / bottom, 3))
            top = bottom = None
    return ratios


def _median_of_pairs(out: dict[str, Any], key: str, ratios: list[float], list_key: str) -> None:
    """The pairs' median ratio under ``key``; with several pairs, every ratio under
    ``list_key``."""
    if ratios:
        out[key] = round(statistics.median(ratios), 3)
        if len(ratios) > 1:
            out[list_key] = ratios


def summarize(phases: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"all_checks_ok": all(p.get("check", {"ok": True})["ok"] for p in phases)}
    rates: dict[str, float] = {}
    for p in phases:
        key = _label(p)
        load = p["load"]
        if "rate_per_s" in load:
            rates[key] = load["rate_per_s"]
            out[f"{key}_per_s"] = load["rate_per_s"]
        if "latency_ms" in load:
            out[f"{key}_latency_ms"] = load["latency_ms"]
            out[f"{key}_client_lateness_p99_ms"] = load["client_send_lateness_ms"].get("p99")
        if "server_cpu_ms_per_delivery" in p:
            out[f"{key}_server_cpu_ms_per_delivery"] = p["server_cpu_ms_per_delivery"]
        if "python_speed_ms_before" in p:
            out[f"{key}_python_speed_ms"] = [
                p["python_speed_ms_before"],
                p["python_speed_ms_after"],
            ]
        if "rss_mb_peak_per_worker" in p:
            out[f"{key}_rss_mb_peak_per_worker"] = p["rss_mb_peak_per_worker"]
        if "check" in p and not p["check"]["ok"]:
            out[f"{key}_check_problems"] = p["check"]["problems"][:5]
    if "throughput_sqlite" in rates and "alertmanager" in rates:
        out["ratio_alertgate_sqlite_to_alertmanager"] = round(
            rates["throughput_sqlite"] / rates["alertmanager"], 3
        )
    # The design's reference points: 4,000/s for alertgate where this handler took
    # ~4,900/s, i.e. a ratio of 0.82 (docs/performance.md).
    _median_of_pairs(
        out,
        "ratio_alertgate_sqlite_to_bare",
        paired_ratios(phases, "throughput_sqlite", "bare"),
        "ratios_alertgate_sqlite_to_bare",
    )
    _median_of_pairs(
        out,
        "ratio_notify_to_plain_sqlite",
        paired_ratios(phases, "notify_sqlite", "throughput_sqlite"),
        "ratios_notify_to_plain_sqlite",
    )
    # Every notify phase's figures (several rounds would overwrite each other above).
    notify = [p for p in phases if "notifications" in p]
    if notify:
        plain = [
            p["server_cpu_ms_per_delivery"]
            for p in phases
            if p["phase"] == "throughput" and p["database"] == "sqlite"
        ]
        out["notify_phases"] = [
            {
                "rate_per_s": p["load"].get("rate_per_s"),
                "server_cpu_ms_per_delivery": p["server_cpu_ms_per_delivery"],
                "server_cpu_ms_per_delivery_incl_drain": p.get(
                    "server_cpu_ms_per_delivery_incl_drain"
                ),
                **p["notifications"],
            }
            for p in notify
        ]
        out["plain_server_cpu_ms_per_delivery"] = plain
        if plain:
            base = statistics.median(plain)
            out["notify_extra_cpu_ms_per_notification"] = [
                round(
                    (p["server_cpu_ms_per_delivery_incl_drain"] - base)
                    * p["deliveries"]
                    / max(p["notifications"]["received"], 1),
                    3,
                )
                for p in notify
            ]
    _median_of_pairs(
        out,
        "growth_ratio_sqlite",
        paired_ratios(phases, "growth-prestored_sqlite", "growth-empty_sqlite"),
        "growth_ratios_sqlite",
    )
    if "throughput_postgresql" in rates and "growth-prestored_postgresql" in rates:
        out["growth_ratio_postgresql"] = round(
            rates["growth-prestored_postgresql"] / rates["throughput_postgresql"], 3
        )
    return out

"""CPU cost of one delivery, per thread, with the real app driven in-process.

``python -m bench.inprocess [--messages N]`` builds the real Starlette app as each
``alertgate serve`` worker does (``serve_app``) on a fresh SQLite database prepared by the
CLI, and feeds it the signed workload through ASGI calls (32 in flight), with no sockets, no
uvicorn and no load generator competing for the CPU. It prints the CPU time per delivery of
each thread kind: ``main`` (event loop: routing, middleware, the endpoint, logging, metrics,
and on SQLite the engine's batches: SQL and commit), ``parse`` (plugin parse threads, used
when a parse has to wait for I/O), ``writer`` (the engine's group-commit thread: batches the
event loop handed over) and ``checkpoint`` (the SQLite WAL checkpointer's thread). Less
noisy than the HTTP benchmark on a shared machine; for a figure that does not move with the
machine's speed at all, :mod:`bench.instructions` runs this driver under callgrind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from alertgate.server.logbuffer import BatchingStreamHandler
from bench import notify as notify_bench
from bench import server
from bench.workload import Params, generate


def _thread_cpu() -> dict[str, float]:
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for t in threading.enumerate():
        try:
            raw = Path(f"/proc/self/task/{t.native_id}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        if t is threading.main_thread():
            kind = "main"
        elif "writer" in t.name:
            kind = "writer"
        elif "notifier" in t.name:
            kind = "notifier"
        elif "dispatcher" in t.name:
            kind = "dispatcher"
        elif "checkpoint" in t.name:
            kind = "checkpoint"
        else:
            kind = "parse"
        out[kind] = out.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


async def _drive(app: Any, path: str, bodies: list[bytes], concurrency: int) -> list[int]:
    async def one(body: bytes) -> int:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8080), "state": {},
            "headers": [
                (b"host", b"127.0.0.1:8080"),
                (b"content-type", b"text/plain; charset=UTF-8"),
                (b"content-length", str(len(body)).encode()),
                (b"x-amz-sns-message-type", b"Notification"),
            ],
        }  # fmt: skip
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        status: list[int] = []

        async def receive() -> dict[str, Any]:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(scope, receive, send)
        return status[0]

    gate = asyncio.Semaphore(concurrency)

    async def limited(body: bytes) -> int:
        async with gate:
            return await one(body)

    return list(await asyncio.gather(*(limited(b) for b in bodies)))


def measure(
    bodies: list[bytes],
    warm: list[bytes],
    cert_dir: Path,
    *,
    log_level: str = "info",
    concurrency: int = 32,
    extra_env: dict[str, str] | None = None,
    notify: bool = False,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Feed ``bodies`` (signed with the certificate in ``cert_dir``) to a fresh app on a
    fresh SQLite database, after ``warm`` to a second integration; the CPU they took.
    ``extra_env`` adds ``ALERTGATE_*`` settings.

    :param notify: Also a rule notifying a local webhook on every opened and resolved
        incident (as ``python -m bench --notify``); the dispatcher thread runs, and the
        outbox is drained before the CPU is read, so the figures include every send.
    :param profile: Write a cProfile of the dispatcher thread there (with ``notify``)."""
    work = Path(tempfile.mkdtemp(prefix="alertgate-inprocess-"))
    url = f"sqlite:///{work}/alertgate.db"
    env = server.base_env(
        url, cert_dir, 8080, {"ALERTGATE_LOG_LEVEL": log_level, **(extra_env or {})}
    )
    if notify:
        env.update(notify_bench.server_env())
    path, _integration_id, warmup_path = server.prepare(env)
    receiver = notify_bench.WebhookReceiver() if notify else None
    if receiver is not None:
        receiver.__enter__()
        notify_bench.add_rule(server.run_cli, env, receiver.url)
    os.environ.update(env)

    # The delivery log set up as `alertgate serve` sets it up, minus the terminal.
    sink = open(os.devnull, "w")  # noqa: SIM115 - closed after the run
    handler = BatchingStreamHandler(sink)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger("alertgate.delivery").addHandler(handler)
    logging.getLogger("alertgate.delivery").propagate = False
    logging.getLogger().setLevel(log_level.upper())

    from alertgate.server.app import serve_app

    # Built as each `alertgate serve` worker builds it, with the collector tuned: with
    # Python's defaults a full collection walked every object of the process about once a
    # second under this load (~15 us a delivery), a cost the server does not pay.
    app = serve_app()
    dispatcher = app.state.alertgate.dispatcher
    if receiver is not None:
        if profile is not None:
            _profile_thread(dispatcher, profile)
        dispatcher.start()
    try:
        import uvloop

        run: Any = uvloop.run
    except ImportError:  # pragma: no cover
        run = asyncio.run

    async def session() -> dict[str, Any]:
        await _drive(app, warmup_path, warm, concurrency)
        before, t0, c0 = _thread_cpu(), time.perf_counter(), time.process_time()
        statuses = await _drive(app, path, bodies, concurrency)
        wall = time.perf_counter() - t0
        drained = None
        if receiver is not None:
            # Wait for the dispatcher, so every send's CPU is in the figures.
            drained = await asyncio.to_thread(
                notify_bench.wait_drained, app.state.alertgate.db_engine, receiver
            )
        cpu, after = time.process_time() - c0, _thread_cpu()
        n = len(bodies)
        notifications = {}
        if drained is not None:
            sent = max(int(drained["received"]), 1)
            dispatcher_s = after.get("dispatcher", 0.0) - before.get("dispatcher", 0.0)
            notifications = {
                "notifications": drained,
                "notifications_per_delivery": round(drained["received"] / n, 3),
                "dispatcher_cpu_us_per_notification": round(dispatcher_s / sent * 1e6),
            }
        return {
            "deliveries": n,
            "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
            "cpu_us_per_delivery": round(cpu / n * 1e6),
            "per_thread_us": {
                k: round((after[k] - before.get(k, 0.0)) / n * 1e6) for k in sorted(after)
            },
            "wall_rate_per_s": round(n / wall),
            **notifications,
        }

    try:
        result: dict[str, Any] = run(session())
    finally:
        dispatcher.stop()
        if receiver is not None:
            receiver.__exit__(None, None, None)
        app.state.alertgate.engine.close()
        logging.getLogger("alertgate.delivery").removeHandler(handler)
        handler.close()  # flushes the last batch
        sink.close()
        shutil.rmtree(work, ignore_errors=True)
    return result


def _profile_thread(dispatcher: Any, out: Path) -> None:
    """Run the dispatcher's thread under cProfile, written to ``out`` when it stops."""
    import cProfile

    run = dispatcher._run

    def profiled() -> None:
        prof = cProfile.Profile(time.thread_time)  # CPU, not waits for the GIL or I/O
        try:
            prof.runcall(run)
        finally:
            prof.dump_stats(str(out))

    dispatcher._run = profiled


def sign_workload(messages: int, cert_dir: Path, seed: int = 11) -> tuple[list[bytes], list[bytes]]:
    """The measured bodies and the warm-up bodies, signed with a certificate in
    ``cert_dir``."""
    from alertgate.plugins.aws_sns.signer import SnsSigner

    signer = SnsSigner(cert_dir, name="inprocess")
    bodies = [
        d.body for d in generate(Params(messages=messages, gap=100, seed=seed), signer).deliveries
    ]
    warm = [d.body for d in generate(Params(messages=64, gap=1, seed=99), signer).deliveries]
    return bodies, warm


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.inprocess", description=__doc__)
    p.add_argument("--messages", type=int, default=6000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--log-level", default="info")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument(
        "--notify",
        action="store_true",
        help="with a rule notifying a local webhook on every opened/resolved incident",
    )
    p.add_argument(
        "--notify-defer",
        type=float,
        help="with --notify: ALERTGATE_NOTIFY_DEFER_MAX_SECONDS (0: dispatch never waits)",
    )
    p.add_argument(
        "--profile-dispatcher", type=Path, help="with --notify: cProfile the dispatcher to FILE"
    )
    args = p.parse_args(argv)

    certs = Path(tempfile.mkdtemp(prefix="alertgate-inprocess-certs-"))
    try:
        bodies, warm = sign_workload(args.messages, certs, args.seed)
        result = measure(
            bodies,
            warm,
            certs,
            log_level=args.log_level,
            concurrency=args.concurrency,
            notify=args.notify,
            extra_env=(
                {}
                if args.notify_defer is None
                else {"ALERTGATE_NOTIFY_DEFER_MAX_SECONDS": str(args.notify_defer)}
            ),
            profile=args.profile_dispatcher,
        )
    finally:
        shutil.rmtree(certs, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Load generators: wrk replaying a request file at full speed, and a constant-rate client.

``replay`` drives wrk (Debian's ``wrk``, LuaJIT) with ``replay.lua``: every request of the
file is sent exactly once and the throughput is measured from the first request sent to the
last response received, by the Lua script itself (wrk's own figure would include its idle
``-d`` time).

``constant_rate`` is an open-loop client in Python (asyncio, uvloop when present) for the
latency run: request *i* is due at ``t0 + i / rate`` and its latency is measured from that
due time, so a slow server cannot hide latency by slowing the client down (no coordinated
omission). It reports how late it sent requests, which shows whether it kept up.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.procs import cpu_seconds

LUA = Path(__file__).with_name("replay.lua")


@dataclass(slots=True)
class ReplayResult:
    requests: int
    seconds: float
    rate: float
    statuses: dict[int, int]
    wrk_cpu_seconds: float
    latency_ms: dict[str, float] = field(default_factory=dict)
    complete: bool = True
    errors: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rate_per_s": round(self.rate, 1),
            "statuses": self.statuses,
            "wrk_cpu_seconds": round(self.wrk_cpu_seconds, 2),
            "wrk_cpu_share_of_one_core": round(self.wrk_cpu_seconds / self.seconds, 3)
            if self.seconds
            else None,
            "latency_ms_under_max_load": self.latency_ms,
            "complete": self.complete,
            "socket_errors": self.errors,
        }


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _parse_wrk_latency(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M):
        out[f"p{pct}"] = round(float(value) * _UNITS[unit], 2)
    return out


def replay(
    base_url: str,
    requests_file: Path,
    total: int,
    *,
    threads: int = 2,
    connections: int = 64,
    content_type: str = "text/plain; charset=UTF-8",
    timeout_s: float = 900.0,
    max_stall_s: float = 30.0,
    workdir: Path,
) -> ReplayResult:
    """Send every request of ``requests_file`` once through wrk; wait for all responses.

    Stops early (``complete=False``) when wrk has been idle for ``max_stall_s`` with responses still
    missing (a request lost to a socket error or timeout) or after ``timeout_s``.
    """
    outdir = workdir / f"wrk-{time.monotonic_ns()}"
    outdir.mkdir(parents=True)
    threads = max(1, min(threads, total))
    connections = max(connections, threads)
    cmd = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        "3600",
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(LUA),
        base_url,
        "--",
        str(requests_file),
        str(threads),
        str(outdir),
        content_type,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout_s
    idle_since, last_cpu = time.monotonic(), -1.0
    try:
        while len(list(outdir.glob("done*"))) < threads:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"wrk exited early:\n{proc.stdout.read() if proc.stdout else ''}"
                )
            now, cpu = time.monotonic(), cpu_seconds(proc.pid)
            if cpu != last_cpu:
                idle_since, last_cpu = now, cpu
            if now > deadline or now - idle_since > max_stall_s:
                break
            time.sleep(0.05)
        wrk_cpu = cpu_seconds(proc.pid)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=120)
    (outdir / "wrk.out").write_text(output)
    starts, ends, statuses, received, errors = [], [], {}, 0, {}
    for line in output.splitlines():
        if not line.startswith("BENCH "):
            continue
        fields = dict(item.split("=") for item in line.split()[2:])
        if line.startswith("BENCH errors"):
            errors = {k: int(v) for k, v in fields.items() if int(v)}
            continue
        if float(fields["start"]):
            starts.append(float(fields["start"]))
            ends.append(float(fields["end"]))
        received += int(fields["received"])
        for key, value in fields.items():
            if key.startswith("s") and key[1:].isdigit():
                statuses[int(key[1:])] = statuses.get(int(key[1:]), 0) + int(value)
    seconds = (max(ends) - min(starts)) if starts else 0.0
    done = received
    return ReplayResult(
        requests=done,
        seconds=seconds,
        rate=done / seconds if seconds else 0.0,
        statuses=dict(sorted(statuses.items())),
        wrk_cpu_seconds=wrk_cpu,
        latency_ms=_parse_wrk_latency(output),
        complete=done == total,
        errors=errors,
    )


# -- constant rate ------------------------------------------------------------------------


@dataclass(slots=True)
class RateResult:
    offered_rate: float
    requests: int
    seconds: float
    statuses: dict[int, int]
    latency_ms: dict[str, float]
    send_lateness_ms: dict[str, float]
    client_cpu_seconds: float
    errors: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "offered_rate_per_s": self.offered_rate,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "achieved_rate_per_s": round(self.requests / self.seconds, 1) if self.seconds else 0,
            "statuses": self.statuses,
            "latency_ms": self.latency_ms,
            "client_send_lateness_ms": self.send_lateness_ms,
            "client_cpu_share_of_one_core": round(self.client_cpu_seconds / self.seconds, 3)
            if self.seconds
            else None,
            "errors": self.errors,
        }


def percentiles(
    values: list[float], points: tuple[float, ...] = (50, 90, 99, 99.9, 100)
) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    out = {}
    for p in points:
        k = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
        label = "max" if p == 100 else f"p{p:g}"
        out[label] = round(ordered[k], 2)
    return out


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.used = time.monotonic()

    async def roundtrip(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
        if m:
            await self.reader.readexactly(int(m.group(1)))
        self.used = time.monotonic()
        return status

    def close(self) -> None:
        self.writer.close()


# uvicorn closes keep-alive connections idle for 5 s; never reuse one that old.
MAX_IDLE_S = 3.0


async def _constant_rate(
    host: str, port: int, raws: list[bytes], rate: float, max_connections: int
) -> tuple[list[float], list[float], dict[int, int], int, float]:
    idle: list[_Conn] = []
    opened = 0
    latencies: list[float] = []
    lateness: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    gate = asyncio.Semaphore(max_connections)

    async def one(raw: bytes, due: float) -> None:
        nonlocal opened, errors
        # The client's own lag: how late this request starts, before any wait for the
        # server (the in-flight cap below is backpressure, counted in the latency).
        lateness.append((time.perf_counter() - due) * 1000)
        async with gate:
            conn = None
            while idle:
                candidate = idle.pop()
                if time.monotonic() - candidate.used < MAX_IDLE_S:
                    conn = candidate
                    break
                candidate.close()
            # A reused connection the server closed meanwhile fails before any response:
            # resend once on a fresh one, as HTTP clients do (a resent delivery that had
            # been processed would be a duplicate, which alertgate acknowledges and the
            # check accounts for).
            for attempt in range(2):
                try:
                    if conn is None:
                        opened += 1
                        conn = _Conn(*await asyncio.open_connection(host, port))
                    status = await conn.roundtrip(raw)
                    break
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    if conn is not None:
                        conn.close()
                    conn = None
                    if attempt == 1:
                        errors += 1
                        return
            latencies.append((time.perf_counter() - due) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
            idle.append(conn)

    tasks = []
    t0 = time.perf_counter() + 0.2
    for i, raw in enumerate(raws):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(raw, due)))
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - t0
    for conn in idle:
        conn.close()
    return latencies, lateness, statuses, errors, seconds


def constant_rate(
    base_url: str,
    requests: list[tuple[str, bytes]],
    rate: float,
    *,
    max_connections: int = 256,
    content_type: str = "text/plain; charset=UTF-8",
) -> RateResult:
    """Offer ``requests`` (path, body) at ``rate`` per second; latency from each due time."""
    m = re.match(r"http://([^:/]+):(\d+)", base_url)
    if not m:
        raise ValueError(f"need http://host:port, got {base_url}")
    host, port = m.group(1), int(m.group(2))
    raws = [
        (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n"
            f"x-amz-sns-message-type: Notification\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
        for path, body in requests
    ]
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        runner = asyncio.run
    cpu0 = time.process_time()
    latencies, lateness, statuses, errors, seconds = runner(
        _constant_rate(host, port, raws, rate, max_connections)
    )
    return RateResult(
        offered_rate=rate,
        requests=len(latencies),
        seconds=seconds,
        statuses=dict(sorted(statuses.items())),
        latency_ms=percentiles(latencies),
        send_lateness_ms=percentiles(lateness),
        client_cpu_seconds=time.process_time() - cpu0,
        errors=errors,
    )

"""py-spy on the server's workers during a load phase, summarized as text.

py-spy samples the running processes from outside (no code change, little overhead); its
``raw`` output is one collapsed stack per line with a sample count. The summary lists the
functions with the most samples *including* callees (where the time goes) and *on top of
the stack* (what burns it), each as a share of all samples.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def start(
    pids: list[int], outdir: Path, rate: int = 250
) -> list[tuple[subprocess.Popen[bytes], Path]]:
    if shutil.which("py-spy") is None:
        return []
    out = []
    for pid in pids:
        path = outdir / f"pyspy-{pid}.txt"
        proc = subprocess.Popen(
            [
                "py-spy",
                "record",
                "-p",
                str(pid),
                "-o",
                str(path),
                "--format",
                "raw",
                "-r",
                str(rate),
                "--nonblocking",
                "--threads",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        out.append((proc, path))
    return out


def stop(profilers: list[tuple[subprocess.Popen[bytes], Path]]) -> dict[str, Any]:
    for proc, _ in profilers:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    for proc, _ in profilers:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    stacks: Counter[str] = Counter()
    for _, path in profilers:
        if path.exists():
            for line in path.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if count.isdigit():
                    stacks[stack] += int(count)
    return summarize(stacks)


def _name(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    file = m.group("file")
    for marker in ("site-packages/", "/core/", "/plugins/", "/lib/python3.11/"):
        if marker in file:
            file = (
                marker.strip("/") + "/" if marker in ("/core/", "/plugins/") else ""
            ) + file.split(marker, 1)[1]
            break
    return f"{m.group('func')} ({file})"


def summarize(stacks: Counter[str], top: int = 40) -> dict[str, Any]:
    total = sum(stacks.values())
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for stack, count in stacks.items():
        frames = [_name(f) for f in stack.split(";") if f]
        if not frames:
            continue
        for name in set(frames):
            inclusive[name] += count
        own[frames[-1]] += count
    pct = lambda n: round(100 * n / total, 1) if total else 0.0  # noqa: E731
    return {
        "samples": total,
        "inclusive_pct": [[name, pct(n)] for name, n in inclusive.most_common(top)],
        "self_pct": [[name, pct(n)] for name, n in own.most_common(top)],
    }

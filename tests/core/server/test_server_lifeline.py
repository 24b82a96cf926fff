"""Workers never outlive their master, and a restarted server can bind at once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.core.cli.test_server_demo import ALERTGATE, clean_env
from tests.core.server.test_server_serve import wait_ready
from tests.live import free_port


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads worker pids from /proc")
def test_workers_exit_when_the_master_is_killed_and_the_port_is_free(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_env(tmp_path)
    env["ALERTGATE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'serve.db'}"
    started: list[subprocess.Popen[bytes]] = []

    def serve() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [ALERTGATE, "serve", "--port", str(port), "--workers", "2"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        started.append(proc)
        return proc

    workers: list[int] = []
    try:
        master = serve()
        wait_ready(base, master)  # type: ignore[arg-type]
        # The two workers (uvicorn's spawn start method adds one resource tracker child).
        deadline = time.monotonic() + 30
        while len(workers) < 2 and time.monotonic() < deadline:
            workers = [
                p for p in _children(master.pid) if "alertgate" in _cmdline(p) or _is_spawn(p)
            ]
            time.sleep(0.2)
        assert len(workers) >= 2, workers
        os.kill(master.pid, signal.SIGKILL)
        master.wait(timeout=10)
        # Bounded wait for the orphans to go (PR_SET_PDEATHSIG: at once; the lifeline
        # thread: within a second, plus the graceful shutdown).
        deadline = time.monotonic() + 40
        while any(_running(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [w for w in workers if _running(w)], "workers outlived their master"
        again = serve()
        wait_ready(base, again)  # type: ignore[arg-type]  # binds the same port at once
        again.send_signal(signal.SIGINT)
        again.wait(timeout=30)
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        for pid in workers:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _is_spawn(pid: int) -> bool:
    return "multiprocessing.spawn" in _cmdline(pid) and "resource_tracker" not in _cmdline(pid)

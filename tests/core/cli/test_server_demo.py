"""`alertgate demo`, as a newcomer runs it: the installed console script, no AWS."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.live import free_port

# The console script installed next to this interpreter (what `pip install -e .` makes).
ALERTGATE = str(Path(sys.executable).with_name("alertgate"))
if not Path(ALERTGATE).exists():
    ALERTGATE = shutil.which("alertgate") or ALERTGATE


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTGATE_", "AWS_"))}
    env["HOME"] = str(tmp_path)
    env["TMPDIR"] = str(tmp_path)
    return env


def test_demo_tells_the_whole_story_and_exits(tmp_path: Path) -> None:
    proc = subprocess.run(
        [ALERTGATE, "demo", "--no-serve"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=clean_env(tmp_path),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert re.search(r"1\. ALARM .* HTTP 200  opened incident #(\d+)", out), out
    assert re.search(r"2\. ALARM again.* HTTP 200  grouped into incident #\d+", out), out
    assert re.search(r"3\. ALARM redelivered .* HTTP 200  duplicate ignored", out), out
    assert re.search(r"4\. OK .* HTTP 200  resolved incident #\d+", out), out
    assert "status resolved" in out and "2 alert(s)" in out
    # Nothing left behind in the working directory or the temporary folder.
    assert not (tmp_path / "alertgate.db").exists()
    assert not list(tmp_path.glob("alertgate-demo-*"))


def test_demo_keeps_serving_until_interrupted(tmp_path: Path) -> None:
    port = free_port()
    # SIGINT is sent as soon as the token is printed, possibly before the demo settles into
    # its wait: Ctrl-C at any moment once the server is up must stop it cleanly.
    proc = subprocess.Popen(
        [ALERTGATE, "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env=clean_env(tmp_path),
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Authorization: Bearer" in line:
                break
        token = re.search(r"Bearer (agt_[\w-]+)", "".join(lines))
        assert token, "".join(lines)
        base = f"http://127.0.0.1:{port}"
        assert f"web UI        {base}/" in "".join(lines)
        assert httpx.get(f"{base}/readyz").status_code == 200
        assert "Sign in" in httpx.get(f"{base}/login").text
        incidents = httpx.get(
            f"{base}/api/v1/incidents", headers={"Authorization": f"Bearer {token.group(1)}"}
        ).json()
        assert [i["status"] for i in incidents["items"]] == ["resolved"]
    finally:
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=30)
    assert rc == 0, proc.stdout.read() if proc.stdout else ""


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_demo_stops_on_sigint_even_if_started_with_sigint_ignored(tmp_path: Path) -> None:
    # A parent that ignores SIGINT (a non-interactive shell's background job, a busy test
    # runner) hands that on through exec; Python then never raises KeyboardInterrupt.
    proc = subprocess.Popen(
        [ALERTGATE, "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env=clean_env(tmp_path),
        preexec_fn=_ignore_sigint,  # only a signal disposition: safe after fork
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "ALERTGATE_DATABASE_URL=" in line:  # the last line before it waits
                break
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    out = proc.stdout.read() if proc.stdout else ""
    assert rc == 0, out
    assert "stopping" in out

"""Start and stop alertgate exactly as an operator would: the ``alertgate`` CLI.

``prepare`` migrates a fresh database and creates a service and an ``aws_cloudwatch``
integration through the CLI; ``Alertgate`` runs ``alertgate serve --workers N`` and finds
its worker processes (for RSS and profiling). PostgreSQL runs get a fresh, uniquely named
database each, dropped afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from bench.procs import cmdline, descendants


def alertgate_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("alertgate")
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "from alertgate.cli import main; main()"]


def base_env(
    database_url: str, cert_dir: Path, port: int, extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTGATE_")}
    env.update(
        {
            "ALERTGATE_DATABASE_URL": database_url,
            "ALERTGATE_SNS_CERT_DIR": str(cert_dir),
            "ALERTGATE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "ALERTGATE_PORT": str(port),
        }
    )
    env.update(extra or {})
    return env


def run_cli(args: list[str], env: dict[str, str]) -> str:
    """Run ``alertgate ARGS`` with ``env``; its standard output (raises on failure)."""
    proc = subprocess.run(
        [*alertgate_cmd(), *args], env=env, capture_output=True, text=True, timeout=120
    )
    if proc.returncode != 0:
        raise RuntimeError(f"alertgate {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def create_integration(env: dict[str, str], service: str) -> tuple[str, int]:
    """A service with an ``aws_cloudwatch`` integration: (URL path, integration id)."""
    run_cli(["services", "create", service], env)
    # Unlimited: the benchmark sends far more than any real sender to one integration,
    # and measures throughput, not the rate limit (ALERTGATE_RATE_LIMIT_PER_MINUTE).
    args = ["integrations", "create", "--service", service, "--type", "aws_cloudwatch"]
    out = run_cli([*args, "--rate-limit-per-minute", "0", "--json"], env)
    data = json.loads(out)
    return urlsplit(data["integration_url"]).path, int(data["id"])


def prepare(env: dict[str, str]) -> tuple[str, int, str]:
    """Migrate; create the benchmark's integration and a separate one for warming up.

    :return: (URL path, integration id, warm-up URL path).
    """
    run_cli(["db", "upgrade"], env)
    path, integration_id = create_integration(env, "bench")
    warmup_path, _ = create_integration(env, "warmup")
    return path, integration_id, warmup_path


def warm_up(base_url: str, path: str, bodies: list[bytes], rounds: int = 3) -> None:
    """Send ``bodies`` to the warm-up integration a few times over several connections,
    so that every worker has loaded its caches (integration, certificate, statements)
    before anything is measured; a cold first request must not overtake later ones."""
    import concurrent.futures

    def post(body: bytes) -> None:
        req = urllib.request.Request(
            base_url.rstrip("/") + path,
            data=body,
            method="POST",
            headers={"Content-Type": "text/plain; charset=UTF-8"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for _ in range(rounds):
            list(pool.map(post, bodies))


class UvicornProcess:
    """A server under uvicorn on 127.0.0.1 with ``workers`` processes (context manager):
    started, ready once it answers and every worker is up, stopped on exit. Subclasses say
    what to run (:meth:`command`, :meth:`environment`) and what counts as an answer
    (:meth:`answers`)."""

    name = "the server"

    def __init__(self, port: int, workers: int, log_path: Path) -> None:
        self.port, self.workers, self.log_path = port, workers, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def answers(self) -> bool:
        raise NotImplementedError

    def __enter__(self) -> Self:
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                self.command(), env=self.environment(), stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            # Every worker must be up, not just the first one to answer.
            if self.answers() and len(self.worker_pids()) >= self.workers:
                time.sleep(0.5)  # the last worker up may still be binding
                return self
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"{self.name} did not come up; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: uvicorn's workers, or the server itself."""
        assert self.proc is not None
        if self.workers == 1:
            return [self.proc.pid]
        return [p for p in descendants(self.proc.pid) if "spawn_main" in cmdline(p)]

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Alertgate(UvicornProcess):
    """``alertgate serve`` on 127.0.0.1 (context manager), ready when ``/healthz`` says so."""

    name = "alertgate serve"

    def __init__(self, env: dict[str, str], port: int, workers: int, log_path: Path) -> None:
        super().__init__(port, workers, log_path)
        self.env = env

    def command(self) -> list[str]:
        serve = ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        return [*alertgate_cmd(), *serve, "--workers", str(self.workers)]

    def environment(self) -> dict[str, str]:
        return self.env

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}healthz", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False


class PostgresDatabase:
    """A fresh database on the server of ``admin_url`` for one run (context manager)."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = f"agbench_{os.getpid()}_{uuid.uuid4().hex[:8]}"

    def _admin(self) -> str:
        return self.admin_url.replace("postgresql+psycopg://", "postgresql://")

    @property
    def url(self) -> str:
        parts = urlsplit(self.admin_url)
        return parts._replace(path=f"/{self.name}").geturl()

    def __enter__(self) -> PostgresDatabase:
        import psycopg

        with psycopg.connect(self._admin(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc: object) -> None:
        import psycopg

        with psycopg.connect(self._admin(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

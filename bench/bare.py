"""The design's second reference point: a bare Starlette + sqlite3 handler, same machine, same run.

DESIGN.md's targets come with reference points "on this kind of machine": Alertmanager, and
"a bare Starlette + sqlite3 handler doing the same verify + insert" (~4,900/s with group
commit, 2 workers, one database file, where the target is 4,000/s). On a virtual machine
whose speed moves by tens of percent from day to day, an absolute rate cannot say whether
alertgate is slow or the machine is; the same workload sent to this handler in the same run
can: the ratio alertgate / bare handler is the figure to hold against 4,000 / 4,900.

What the handler does per delivery, and nothing more: read the body, decode the SNS
envelope, check its signature (RSA, the certificate from a folder, loaded once), decode
the alarm inside, and insert one row (message id, alarm name, state, the alarm JSON),
duplicates ignored by a unique index. A writer thread per worker commits whatever has
queued in one transaction (group commit) and answers each request after its commit; the
two workers take turns at SQLite's write lock through its busy handler. No grouping into
incidents, no ordering guard, no integration lookup, no logging, no metrics, no plugin
layer: everything alertgate does on top is what the ratio prices.

Run by ``python -m bench --bare`` (see :mod:`bench.run`) as
``uvicorn bench.bare:app --workers N`` with ``BARE_DB`` (the SQLite file) and
``BARE_CERT_DIR`` (the signing certificates) set; :func:`prepare` creates the table.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import queue
import sqlite3
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Self

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.server import UvicornProcess

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS alerts (id INTEGER PRIMARY KEY, message_id TEXT NOT NULL "
    "UNIQUE, alarm TEXT NOT NULL, state TEXT NOT NULL, message TEXT NOT NULL)"
)
INSERT = "INSERT OR IGNORE INTO alerts (message_id, alarm, state, message) VALUES (?, ?, ?, ?)"
_SIGNED_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_HASHES = {"1": hashes.SHA1(), "2": hashes.SHA256()}


def prepare(db_path: Path) -> None:
    """Create the database file (WAL) and its one table."""
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(SCHEMA)
    conn.close()


def row_count(db_path: Path) -> int:
    """Rows stored so far (one per distinct message)."""
    with sqlite3.connect(db_path) as conn:
        (count,) = conn.execute("SELECT count(*) FROM alerts").fetchone()
    conn.close()
    return int(count)


def _connect(db_path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


class _GroupCommit:
    """One writer thread: everything queued goes into one transaction, then every waiter
    of that transaction is answered on its event loop."""

    def __init__(self, db_path: str) -> None:
        self._db_path = db_path
        self._queue: queue.SimpleQueue[tuple[tuple[str, ...], asyncio.Future[None]]] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None

    def submit(self, row: tuple[str, ...]) -> asyncio.Future[None]:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put((row, waiter))
        return waiter

    def _run(self) -> None:
        conn = _connect(self._db_path)
        while True:
            batch = [self._queue.get()]
            while len(batch) < 256:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            error: BaseException | None = None
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(INSERT, [row for row, _ in batch])
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                error = exc
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            for _, waiter in batch:
                # RuntimeError: the worker is shutting down and nobody waits any more.
                with contextlib.suppress(RuntimeError):
                    waiter.get_loop().call_soon_threadsafe(_settle, waiter, error)


def _settle(waiter: asyncio.Future[None], error: BaseException | None) -> None:
    if waiter.done():
        return
    if error is None:
        waiter.set_result(None)
    else:
        waiter.set_exception(error)


def _load_certificates(cert_dir: Path) -> dict[str, Any]:
    return {
        path.name: x509.load_pem_x509_certificate(path.read_bytes()).public_key()
        for path in cert_dir.glob("*.pem")
    }


def _string_to_sign(envelope: dict[str, Any]) -> bytes:
    parts: list[str] = []
    for name in _SIGNED_FIELDS:
        value = envelope.get(name)
        if value is not None:
            parts += (name, value)
    return ("\n".join(parts) + "\n").encode()


def _bad(reason: str) -> Response:
    return JSONResponse({"error": reason}, status_code=400)


def create_app(db_path: str, cert_dir: Path) -> Starlette:
    keys = _load_certificates(cert_dir)
    writer = _GroupCommit(db_path)

    async def receive(request: Request) -> Response:
        try:
            envelope = orjson.loads(await request.body())
            key = keys[envelope["SigningCertURL"].rsplit("/", 1)[-1]]
            key.verify(
                base64.b64decode(envelope["Signature"]),
                _string_to_sign(envelope),
                padding.PKCS1v15(),
                _HASHES[envelope["SignatureVersion"]],
            )
            alarm = orjson.loads(envelope["Message"])
            row = (envelope["MessageId"], alarm["AlarmName"], alarm["NewStateValue"])
        except Exception as exc:  # a reference point, not a product: one answer for all
            return _bad(type(exc).__name__)
        await writer.submit((*row, envelope["Message"]))
        return JSONResponse({"status": "accepted"})

    return Starlette(routes=[Route("/integrations/{key}", receive, methods=["POST"])])


class BareServer(UvicornProcess):
    """``uvicorn bench.bare:app`` on 127.0.0.1:``port`` with ``workers`` processes
    (context manager); uvicorn's defaults otherwise (uvloop, httptools when installed)."""

    name = "the bare handler"

    def __init__(self, db_path: Path, cert_dir: Path, port: int, workers: int, log: Path) -> None:
        super().__init__(port, workers, log)
        self.db_path, self.cert_dir = db_path, cert_dir

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "uvicorn", "bench.bare:app", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--workers", str(self.workers)]
        return [*command, "--no-access-log", "--log-level", "warning"]

    def environment(self) -> dict[str, str]:
        return {**os.environ, "BARE_DB": str(self.db_path), "BARE_CERT_DIR": str(self.cert_dir)}

    def answers(self) -> bool:
        """Any HTTP answer (a GET gets 405: not a route)."""
        try:
            urllib.request.urlopen(f"{self.url}integrations/ready", timeout=1).close()
        except urllib.error.HTTPError as answer:
            answer.close()
        except OSError:
            return False
        return True

    def __enter__(self) -> Self:
        prepare(self.db_path)
        super().__enter__()
        return self


def _app_from_env() -> Starlette | None:
    db, certs = os.environ.get("BARE_DB"), os.environ.get("BARE_CERT_DIR")
    if not db or not certs:
        return None  # imported for prepare()/row_count(), not served
    return create_app(db, Path(certs))


app = _app_from_env()

"""kill -9 in the middle of ingest loses no acknowledged alert and duplicates none.

A real child process ingests a stream from four senders and appends each dedupe key to a
file (unbuffered ``os.write``) only after the ingest call returned, i.e. after the commit.
The senders are threads calling ``ingest()`` (the writer thread) or coroutines on an event
loop calling ``ingest_async()`` (as the server does; on SQLite, batches applied on the
loop). The parent kills the child with SIGKILL mid-stream, checks every acknowledged key is
stored, then plays a retrying sender: everything is sent again, and each alert ends up
stored once.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from alertgate.engine import Delivery, IngestEngine
from alertgate.models import Action, Alert
from alertgate.storage.database import make_engine
from tests.core.engine.test_concurrency import seed_ids
from tests.core.engine.test_engine import T0

TOTAL = 4000


def stream(ids: dict[str, Any]) -> list[Delivery]:
    return [
        Delivery(
            ids["integrations"][0],
            ids["service"],
            [
                Alert(
                    title="disk full",
                    source_time=T0 + timedelta(seconds=i),
                    dedupe_key=f"msg-{i}",
                    fingerprint=f"fp{i % 7}",
                    action=Action.RESOLVE if i % 5 == 4 else Action.TRIGGER,
                    payload={"i": i, "pad": "x" * 500},
                )
            ],
        )
        for i in range(TOTAL)
    ]


def _child(url: str, ids: dict[str, Any], acked_path: str, via: str) -> None:
    db = make_engine(url)
    engine = IngestEngine(db)
    fd = os.open(acked_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    deliveries = stream(ids)

    def send(part: int) -> None:
        for d in deliveries[part::4]:
            engine.ingest(d)
            os.write(fd, f"{d.alerts[0].dedupe_key}\n".encode())

    async def send_async(part: int) -> None:
        for d in deliveries[part::4]:
            await engine.ingest_async(d)
            os.write(fd, f"{d.alerts[0].dedupe_key}\n".encode())

    async def send_all() -> None:
        await asyncio.gather(*(send_async(p) for p in range(4)))

    if via == "loop":
        asyncio.run(send_all())
        return
    threads = [threading.Thread(target=send, args=(p,)) for p in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.mark.slow
@pytest.mark.parametrize("via", ["threads", "loop"])
def test_kill_9_loses_no_acknowledged_alert(db_url: str, tmp_path: Path, via: str) -> None:
    ids = seed_ids(db_url)
    acked_path = tmp_path / "acked.txt"
    acked_path.touch()
    proc = multiprocessing.get_context("spawn").Process(
        target=_child, args=(db_url, ids, str(acked_path), via)
    )
    proc.start()
    deadline = time.monotonic() + 120
    while len(acked_path.read_text().splitlines()) < 300:
        assert proc.is_alive(), "child finished or died before the kill"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    acked = {line for line in acked_path.read_text().splitlines() if line}
    assert 300 <= len(acked) < TOTAL

    db = make_engine(db_url)
    try:
        with db.connect() as conn:
            stored = set(conn.execute(text("SELECT dedupe_key FROM alerts")).scalars())
        assert acked <= stored  # every acknowledged alert survived the kill

        # the retrying sender sends everything again
        engine = IngestEngine(db)
        try:
            outcomes = [engine.ingest(d).outcomes[0].outcome.value for d in stream(ids)]
        finally:
            engine.close()
        assert outcomes.count("duplicate") >= len(acked)
        with db.connect() as conn:
            keys = list(conn.execute(text("SELECT dedupe_key FROM alerts")).scalars())
            open_per_key = conn.execute(
                text(
                    "SELECT fingerprint, count(*) FROM incidents WHERE status IN "
                    "('triggered', 'acknowledged') GROUP BY fingerprint HAVING count(*) > 1"
                )
            ).all()
        assert len(keys) == len(set(keys)) == TOTAL  # stored once each, none lost
        assert open_per_key == []
    finally:
        db.dispose()

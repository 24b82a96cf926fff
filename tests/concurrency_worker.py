"""A real OS process that replays delivery streams through its own IngestEngine.

Started with the ``spawn`` method by tests/core/engine/test_concurrency.py. Each command names a
database and one stream per replayer; every replayer sends its stream in order, waiting
for each delivery's commit, like a retrying SNS sender would. Every other replayer is a
thread calling ``ingest()`` (the writer thread's lane), the rest are coroutines on one
event loop calling ``ingest_async()`` (on SQLite, the loop's own lane), as in the server:
both kinds of writer meet in one process and across processes.
"""

from __future__ import annotations

import asyncio
import threading
import traceback
from multiprocessing.queues import Queue
from typing import Any

from alertgate.engine import Delivery, IngestEngine
from alertgate.storage.database import make_engine


def replay(url: str, streams: list[list[Delivery]]) -> None:
    db = make_engine(url)
    engine = IngestEngine(db)
    errors: list[str] = []

    def run(stream: list[Delivery]) -> None:
        try:
            for delivery in stream:
                engine.ingest(delivery)
        except BaseException:
            errors.append(traceback.format_exc())

    async def run_async(stream: list[Delivery]) -> None:
        try:
            for delivery in stream:
                await engine.ingest_async(delivery)
        except BaseException:
            errors.append(traceback.format_exc())

    async def run_on_loop(loop_streams: list[list[Delivery]]) -> None:
        await asyncio.gather(*(run_async(s) for s in loop_streams))

    threads = [threading.Thread(target=run, args=(s,)) for s in streams[0::2]]
    threads.append(threading.Thread(target=asyncio.run, args=(run_on_loop(streams[1::2]),)))
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        engine.close()
        db.dispose()
    if errors:
        raise RuntimeError("\n".join(errors))


def serve(commands: Queue[Any], results: Queue[Any]) -> None:
    while True:
        command = commands.get()
        if command is None:
            return
        url, streams = command
        try:
            replay(url, streams)
            results.put(None)
        except BaseException:
            results.put(traceback.format_exc())

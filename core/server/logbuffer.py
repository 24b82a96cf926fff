"""A log handler that writes delivery lines in batches instead of one write per line.

``alertgate serve`` logs one JSON line per delivery. A plain ``StreamHandler`` writes and
flushes each line: a system call on the event-loop thread per delivery, which also hands
the GIL to the parse and writer threads every time. Measured with the benchmark
(docs/performance.md), that cost about 0.1 ms of CPU per delivery. This handler buffers
lines and writes them together, at the latest ``interval`` seconds later, when the buffer
exceeds ``max_bytes``, and on ``flush``/``close`` (``logging.shutdown`` runs both at exit).
"""

from __future__ import annotations

import logging
import threading
from typing import TextIO


class BatchingStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """``logging.StreamHandler`` that flushes at most every ``interval`` seconds."""

    def __init__(
        self, stream: TextIO | None = None, interval: float = 0.25, max_bytes: int = 65536
    ) -> None:
        super().__init__(stream)
        self.interval = interval
        self.max_bytes = max_bytes
        self._pending: list[str] = []
        self._size = 0
        self._stopping = threading.Event()
        self._flusher: threading.Thread | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        # Handler.handle() holds self.lock around emit().
        self._pending.append(line)
        self._size += len(line)
        if self._size >= self.max_bytes:
            self._write()
        elif self._flusher is None:
            self._flusher = threading.Thread(
                target=self._run, name="alertgate-log-flusher", daemon=True
            )
            self._flusher.start()

    def _write(self) -> None:
        if not self._pending:
            return
        data, self._pending, self._size = "".join(self._pending), [], 0
        try:
            self.stream.write(data)
            self.stream.flush()
        except Exception:  # like StreamHandler: a broken log stream must not stop serving
            self.handleError(logging.makeLogRecord({"msg": "writing log lines failed"}))

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write()

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            self.flush()

    def close(self) -> None:
        self._stopping.set()
        self.flush()
        super().close()

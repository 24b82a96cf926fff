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
from collections.abc import Callable
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
        self._queue(line)

    def append_message(self, message: str) -> None:
        """Write ``message`` as :meth:`emit` writes a record whose formatted form it is (the
        fast path of :func:`message_writer`)."""
        with self.lock:  # type: ignore[union-attr]
            self._queue(message + self.terminator)

    def _queue(self, line: str) -> None:
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


_PROBE = "\x00alertgate-probe\x00"


def message_writer(logger: logging.Logger) -> Callable[[str], None]:
    """A function that logs one INFO message to ``logger``, for a line per delivery.

    When ``logger`` is set up as ``alertgate serve`` sets up the delivery log (INFO enabled,
    no filters, not propagating, one :class:`BatchingStreamHandler` that writes the bare
    message), the function hands the message to that handler directly: the same output
    without a ``LogRecord``, the caller lookup and the handler chain, about 10 us a line
    (measured on the benchmark machine). With any other set-up it is ``logger.info``.
    Decided once, when called: take it after logging is configured.
    """
    handlers = logger.handlers
    if (
        logger.isEnabledFor(logging.INFO)
        and not logger.filters
        and not logger.propagate
        and len(handlers) == 1
        and type(handlers[0]) is BatchingStreamHandler
        and not handlers[0].filters
        and handlers[0].level <= logging.INFO
        and handlers[0].format(logging.makeLogRecord({"msg": _PROBE})) == _PROBE
    ):
        return handlers[0].append_message
    return logger.info

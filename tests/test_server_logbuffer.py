"""The batching delivery-log handler: every line arrives, in order, batched, and on time."""

from __future__ import annotations

import io
import logging
import time

from core.server.logbuffer import BatchingStreamHandler


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, s: str) -> int:
        self.writes += 1
        return super().write(s)


def _logger(handler: logging.Handler, name: str) -> logging.Logger:
    log = logging.getLogger(name)
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.INFO)
    return log


def test_lines_are_written_together_in_order_and_all_on_close() -> None:
    stream = CountingStream()
    handler = BatchingStreamHandler(stream, interval=60)
    log = _logger(handler, "test.logbuffer.close")
    for n in range(100):
        log.info('{"n": %d}', n)
    assert stream.getvalue() == ""  # nothing written per line
    handler.close()
    assert stream.getvalue().splitlines() == [f'{{"n": {n}}}' for n in range(100)]
    assert stream.writes == 1


def test_idle_lines_are_flushed_within_the_interval() -> None:
    stream = CountingStream()
    handler = BatchingStreamHandler(stream, interval=0.05)
    log = _logger(handler, "test.logbuffer.interval")
    log.info("first")
    deadline = time.monotonic() + 5
    while "first" not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stream.getvalue() == "first\n"
    handler.close()


def test_a_full_buffer_is_written_at_once() -> None:
    stream = CountingStream()
    handler = BatchingStreamHandler(stream, interval=60, max_bytes=100)
    log = _logger(handler, "test.logbuffer.size")
    for _ in range(10):
        log.info("x" * 30)
    assert stream.writes >= 2 and stream.getvalue().count("\n") >= 8
    handler.close()
    assert stream.getvalue().count("\n") == 10

"""The batching delivery-log handler: every line arrives, in order, batched, and on time."""

from __future__ import annotations

import io
import logging
import time

from alertgate.cli.serve_cmd import log_config
from alertgate.server.logbuffer import BatchingStreamHandler, message_writer


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


def _serve_style_logger(
    name: str, stream: io.StringIO
) -> tuple[logging.Logger, BatchingStreamHandler]:
    handler = BatchingStreamHandler(stream, interval=60)
    handler.setFormatter(logging.Formatter("%(message)s"))
    return _logger(handler, name), handler


def test_message_writer_skips_logging_only_where_the_output_is_the_same() -> None:
    via_logging, via_writer = io.StringIO(), io.StringIO()
    log_a, handler_a = _serve_style_logger("test.logbuffer.writer.a", via_logging)
    log_b, handler_b = _serve_style_logger("test.logbuffer.writer.b", via_writer)
    write = message_writer(log_b)
    assert write == handler_b.append_message  # the fast path
    for line in ('{"event":"delivery","n":1}', "two", "naïve ünïcode"):
        log_a.info(line)
        write(line)
    handler_a.close()
    handler_b.close()
    assert via_writer.getvalue() == via_logging.getvalue() != ""


def test_message_writer_falls_back_to_logging_for_any_other_setup() -> None:
    def variant(name: str) -> tuple[logging.Logger, BatchingStreamHandler]:
        return _serve_style_logger(f"test.logbuffer.writer.{name}", io.StringIO())

    log, _ = variant("level")
    log.setLevel(logging.WARNING)
    assert message_writer(log) == log.info

    log, _ = variant("filter")
    log.addFilter(lambda record: True)
    assert message_writer(log) == log.info

    log, _ = variant("propagate")
    log.propagate = True
    assert message_writer(log) == log.info

    log, handler = variant("format")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    assert message_writer(log) == log.info

    log, _ = variant("two-handlers")
    log.addHandler(logging.StreamHandler(io.StringIO()))
    assert message_writer(log) == log.info

    log = _logger(logging.StreamHandler(io.StringIO()), "test.logbuffer.writer.plain")
    assert message_writer(log) == log.info


def test_alertgate_serves_delivery_log_takes_the_fast_path() -> None:
    config = log_config("info")
    spec = config["handlers"]["json"]
    assert spec["()"] == f"{BatchingStreamHandler.__module__}.BatchingStreamHandler"
    handler = BatchingStreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter(config["formatters"][spec["formatter"]]["format"]))
    delivery = config["loggers"]["alertgate.delivery"]
    log = _logger(handler, "test.logbuffer.writer.serve")
    log.setLevel(delivery["level"])
    log.propagate = delivery["propagate"]
    assert message_writer(log) == handler.append_message

"""uvicorn's httptools protocol with read deadlines, each response written in one piece.

Read deadlines: uvicorn bounds only the idle time between keep-alive requests. A client
that connects and sends nothing, or half its headers, or a body that never ends, would hold
its connection (and memory) for ever; 2,000 such clients were held open. So a connection
gets ``ALERTGATE_HEADER_TIMEOUT_SECONDS`` from its start (or from a request's first byte)
until the request's headers are complete, then ``ALERTGATE_BODY_TIMEOUT_SECONDS`` until its
body is complete; past either it is closed (a ``408`` first when no request has started).

uvicorn writes a response's status line and headers, then its body, with two
``transport.write`` calls; uvloop sends each at once, so every answer costs two ``send``
system calls and two TCP segments, and the client wakes up twice to read them. Alertgate's
answers are small and complete in one event-loop turn, so :class:`CoalescingTransport`
holds what is written during a turn and sends it together at the start of the next one.

Rejected senders wait: a sender answered ``429 rate_limited`` may not send its next request
on that connection before the ``Retry-After`` it was given (at most
:data:`MAX_READ_PAUSE_SECONDS`, randomly shortened by up to half so that many paused
connections do not come back at the same instant): the connection stops being read
meanwhile. A 429 is cheap
(no body read, no parsing, no database), but a sender that floods over many keep-alive
connections as fast as it is answered would otherwise take every event-loop turn, and every
other integration's delivery (which needs several turns) would wait behind each of them;
paused, a flood costs at most one request per connection per pause. See docs/security.md.

Only the standard :class:`asyncio.Protocol` interface is used: the protocol is uvicorn's
own, handed a wrapped transport in ``connection_made``. ``alertgate serve`` selects it
(uvicorn's ``http`` option).
"""

from __future__ import annotations

import asyncio
import random
import weakref
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from alertgate.server.errors import error_body
from alertgate.settings import get_settings

MAX_HELD_BYTES = 64 * 1024
"""Pending bytes beyond which a write goes out at once instead of at the end of the turn."""


MAX_READ_PAUSE_SECONDS = 1.0
"""Longest pause of a connection's reads after a 429; below uvicorn's keep-alive timeout
(5 s), so a paused connection is not closed for idleness."""

READ_PAUSE = "alertgate.read_pause"
"""Scope key: seconds the connection is not read after this request's response (set by
the Integration URL with a 429)."""


class CoalescingTransport:
    """A transport whose writes of one event-loop turn reach the socket as one write.

    Everything else is the wrapped transport's: attribute access falls through to it.
    Pending bytes are sent before the transport is closed and before the protocol is
    swapped (a connection upgrade), and dropped on ``abort`` as the real transport drops its
    buffer. Flow control is unchanged: the real transport pauses the protocol when its
    buffer fills; once :data:`MAX_HELD_BYTES` are pending they are sent at once, so a body
    streamed within one turn still meets that back-pressure.
    """

    __slots__ = ("_held", "_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._held = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))
        self._held += len(data)
        if self._held >= MAX_HELD_BYTES:
            self.flush()

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Send what is pending now (called at the start of the next loop turn)."""
        pending = self._pending
        if not pending:
            return
        self._pending = []
        self._held = 0
        if self._transport.is_closing():
            return
        self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.flush()
        self._transport.set_protocol(protocol)

    def abort(self) -> None:
        self._pending = []
        self._held = 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


_TIMEOUT_BODY = b'{"code": "request_timeout", "message": "request headers too slow"}'
REQUEST_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY)
)


class _DeadlineSweep:
    """Read deadlines of one event loop's connections, checked by one periodic timer.

    A timer per request (``call_later`` at its first byte and again at its headers, each
    then cancelled) cost about a sixth of a delivery's CPU under load; a connection now
    only notes its deadline as a number, and this sweep closes the late ones, at most
    :attr:`interval` after their deadline.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self.loop = loop
        self.interval = interval
        self.watched: set[CoalescingHttpToolsProtocol] = set()
        self._armed = False

    def watch(self, protocol: CoalescingHttpToolsProtocol) -> None:
        self.watched.add(protocol)
        if not self._armed:
            self._armed = True
            self.loop.call_later(self.interval, self._sweep)

    def _sweep(self) -> None:
        now = self.loop.time()
        for protocol in [p for p in self.watched if p.deadline is not None and p.deadline <= now]:
            protocol.read_timed_out()
        self._armed = bool(self.watched)
        if self._armed:
            self.loop.call_later(self.interval, self._sweep)


_SWEEPS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _DeadlineSweep] = (
    weakref.WeakKeyDictionary()
)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a :class:`CoalescingTransport`, with read
    deadlines for headers and bodies (see :class:`_DeadlineSweep`)."""

    deadline: float | None = None
    """Loop time by which the headers (or the body) must be complete; ``None``: none."""
    _reading_headers = False

    def send_400_response(self, msg: str) -> None:
        """A request HTTP itself refuses (a malformed header, say), answered like every
        other error of alertgate's: JSON with a ``code``, not uvicorn's plain text."""
        body = error_body("invalid_http_request", msg)
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        head.extend(
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        )
        head.append(
            b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
            % len(body)
        )
        self.transport.write(b"".join(head) + body)
        self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        wrapped = CoalescingTransport(transport, self.loop)  # type: ignore[arg-type]
        super().connection_made(wrapped)  # type: ignore[arg-type]
        settings = get_settings()
        self._header_timeout = settings.header_timeout_seconds
        self._body_timeout = settings.body_timeout_seconds
        sweep = _SWEEPS.get(self.loop)
        if sweep is None:
            interval = min(1.0, max(0.05, min(self._header_timeout, self._body_timeout) / 4))
            sweep = _SWEEPS[self.loop] = _DeadlineSweep(self.loop, interval)
        self._sweep = sweep
        sweep.watch(self)
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._clear_deadline()
        self._sweep.watched.discard(self)
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.deadline is None:
            self._await_headers()

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        super().on_headers_complete()
        self.deadline = self.loop.time() + self._body_timeout

    def on_message_complete(self) -> None:
        self._clear_deadline()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        pause = self.cycle.scope.get(READ_PAUSE) if self.cycle is not None else None
        super().on_response_complete()
        if isinstance(pause, int | float) and pause > 0 and not self.transport.is_closing():
            self.flow.pause_reading()
            # Each connection waits its own part of the pause (half to all of it): paused
            # together, a flood's connections would also come back together, and their
            # requests would reach the loop as one burst every pause.
            wait = min(pause, MAX_READ_PAUSE_SECONDS) * (0.5 + random.random() / 2)  # noqa: S311
            self.loop.call_later(wait, self._end_pause)

    def _end_pause(self) -> None:
        if not self.transport.is_closing():
            self.flow.resume_reading()

    def _await_headers(self) -> None:
        self._reading_headers = True
        self.deadline = self.loop.time() + self._header_timeout

    def _clear_deadline(self) -> None:
        self._reading_headers = False
        self.deadline = None

    def read_timed_out(self) -> None:
        """Past the deadline: close (a ``408`` first when no request has started)."""
        self.deadline = None
        if self.transport.is_closing():
            return
        if self._reading_headers and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(REQUEST_TIMEOUT_RESPONSE)
        self.transport.close()


HTTP_PROTOCOL = f"{__name__}:{CoalescingHttpToolsProtocol.__qualname__}"
"""What ``alertgate serve`` passes as uvicorn's ``http`` option."""

"""A small HTTP/1.1 client for notification POSTs: keep-alive connections, one write per
request, bounded reads.

Why not httpx: a webhook POST through httpx cost about 0.8 ms of CPU (request and URL
objects, header validation, h11's state machine, cookie extraction, response streams),
most of a notification's cost and more than the ingest of a delivery; this client spends
a few tens of microseconds on the same request. It does only what channel plugins need:
``POST`` of a body in memory to an ``http`` or ``https`` URL, over a connection kept
per destination; no redirects, no cookies, no proxies, no compression.

Safety is the caller's rules (:mod:`alertgate.notify.outbound`): a connection is opened
only to addresses that :func:`connect` was allowed to use, header names and values are
checked for line breaks (no header injection), every socket operation has the timeout,
and at most ``max_response_bytes`` of a response are read (a longer body closes the
connection rather than being read).
"""

from __future__ import annotations

import contextlib
import json
import re
import select
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

MAX_HEAD_BYTES = 64 * 1024
MAX_IDLE_PER_DESTINATION = 4
_TARGET_SAFE = "/?&=%:@!$'()*+,;~-._[]"
_NO_BODY = (204, 304)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""A header name (RFC 9110 token)."""
_BREAKS = re.compile(r"[\r\n\0]")
_DESTINATIONS_KEPT = 256


class ProtocolError(Exception):
    """The peer did not answer in HTTP/1.1 as expected (or too much)."""


@dataclass(frozen=True, slots=True)
class Destination:
    scheme: str
    host: str
    port: int
    target: str
    """Path and query, percent-encoded where needed."""

    @property
    def key(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def destination(url: str) -> Destination:
    """Where ``url`` (already checked by :func:`alertgate.notify.outbound.check_url`) points."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    target = quote(parts.path or "/", safe=_TARGET_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=_TARGET_SAFE)
    return Destination(scheme, (parts.hostname or "").lower(), port, target)


@dataclass(slots=True)
class Response:
    """What :meth:`Http11Client.post` returns."""

    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    """Lower-case names; a repeated header keeps its last value."""
    content: bytes = b""

    def json(self) -> Any:
        return json.loads(self.content)


def _encode_headers(dest: Destination, body: bytes, headers: Mapping[str, str]) -> bytes:
    lines = [
        f"POST {dest.target} HTTP/1.1",
        f"Host: {dest.host_header}",
        f"Content-Length: {len(body)}",
        "User-Agent: alertgate",
        "Accept: */*",
    ]
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name):
            raise ValueError("invalid header name")
        if _BREAKS.search(value):
            raise ValueError("invalid header value")
        if name.lower() in ("host", "content-length", "transfer-encoding", "connection"):
            continue  # set here, from the request itself
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.reused = False

    def close(self) -> None:
        with contextlib.suppress(OSError):  # closing a dead socket
            self.sock.close()

    def idle_but_readable(self) -> bool:
        """A kept connection with something to read is one the server closed (or broke)."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def _fill(self, limit: int) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("the server closed the connection")
        self.buffer += chunk
        if len(self.buffer) > limit:
            raise ProtocolError("response too large")

    def read_head(self) -> tuple[int, str, dict[str, str]]:
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                break
            self._fill(MAX_HEAD_BYTES)
        head, self.buffer = self.buffer[:end].decode("latin-1"), self.buffer[end + 4 :]
        status_line, *lines = head.split("\r\n")
        version, _, rest = status_line.partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise ProtocolError("not an HTTP/1.x response")
        headers: dict[str, str] = {}
        for line in lines:
            name, sep, value = line.partition(":")
            if not sep:
                raise ProtocolError("malformed header line")
            headers[name.strip().lower()] = value.strip()
        return int(code), version, headers

    def read_exactly(self, n: int, limit: int) -> bytes:
        if n > limit:
            raise ProtocolError("response too large")
        while len(self.buffer) < n:
            self._fill(limit + MAX_HEAD_BYTES)
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def read_line(self, limit: int) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            self._fill(limit)
        line, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
        return line

    def read_chunked(self, limit: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            size_text = self.read_line(MAX_HEAD_BYTES).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ProtocolError("malformed chunk size") from None
            if size == 0:
                while self.read_line(MAX_HEAD_BYTES):  # trailers, up to the empty line
                    pass
                return b"".join(parts)
            total += size
            parts.append(self.read_exactly(size, limit - total + size))
            if self.read_exactly(2, 2) != b"\r\n":
                raise ProtocolError("malformed chunk")

    def read_to_close(self, limit: int) -> bytes:
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                data, self.buffer = self.buffer, b""
                return data
            self.buffer += chunk
            if len(self.buffer) > limit:
                raise ProtocolError("response too large")


Connector = Callable[[Destination, float], socket.socket]
"""Opens a TCP connection to a destination (with the caller's address rules)."""


class Http11Client:
    """Keep-alive HTTP/1.1 POSTs; thread-safe (a connection serves one request at a time).

    :param connect: Opens the TCP connection (validating the addresses it connects to).
    :param timeout: Seconds for each connect, write and read.
    :param max_response_bytes: The most of a response body read; more is an error.
    """

    def __init__(
        self, connect: Connector, *, timeout: float, max_response_bytes: int = 1024 * 1024
    ) -> None:
        self._connect = connect
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None
        self._destinations: dict[str, Destination] = {}

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Response:
        """POST ``body`` to ``url``; the response, whatever its status.

        :raises OSError: Connect, write or read failed (timeouts included).
        :raises ProtocolError: The response was not HTTP/1.x or too large.
        :raises ValueError: A header would break the request's framing.
        """
        dest = self._destinations.get(url)
        if dest is None:
            if len(self._destinations) >= _DESTINATIONS_KEPT:
                self._destinations.clear()
            dest = self._destinations[url] = destination(url)
        request = _encode_headers(dest, body, headers) + body
        conn = self._take(dest)
        try:
            response, keep = self._exchange(conn, request)
        except (OSError, ProtocolError) as exc:
            conn.close()
            # A kept connection the server closed just before we wrote: nothing of the
            # response arrived, so send once more on a new one (same idempotency key).
            if not (conn.reused and isinstance(exc, ConnectionError) and not conn.buffer):
                raise
            conn = self._open(dest)
            try:
                response, keep = self._exchange(conn, request)
            except BaseException:
                conn.close()
                raise
        except BaseException:
            conn.close()
            raise
        if keep:
            self._give_back(dest, conn)
        else:
            conn.close()
        return response

    def _exchange(self, conn: _Connection, request: bytes) -> tuple[Response, bool]:
        conn.sock.sendall(request)
        while True:
            status, version, headers = conn.read_head()
            if status >= 200:
                break  # 1xx: interim, the real response follows
        limit = self.max_response_bytes
        connection = headers.get("connection", "").lower()
        keep = "close" not in connection and (version != "HTTP/1.0" or "keep-alive" in connection)
        if status in _NO_BODY:
            content = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            content = conn.read_chunked(limit)
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise ProtocolError("malformed Content-Length") from None
            content = conn.read_exactly(length, limit)
        else:
            content, keep = conn.read_to_close(limit), False
        if conn.buffer:
            keep = False  # bytes after the response: not a connection to trust
        return Response(status, headers, content), keep

    def _take(self, dest: Destination) -> _Connection:
        with self._lock:
            idle = self._idle.get(dest.key)
            while idle:
                conn = idle.pop()
                if conn.idle_but_readable():
                    conn.close()
                    continue
                conn.reused = True
                return conn
        return self._open(dest)

    def _open(self, dest: Destination) -> _Connection:
        sock = self._connect(dest, self.timeout)
        try:
            sock.settimeout(self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if dest.scheme == "https":
                sock = self._tls_context().wrap_socket(sock, server_hostname=dest.host)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock)

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    def _give_back(self, dest: Destination, conn: _Connection) -> None:
        conn.reused = False
        with self._lock:
            idle = self._idle.setdefault(dest.key, [])
            if len(idle) < MAX_IDLE_PER_DESTINATION:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def __enter__(self) -> Http11Client:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

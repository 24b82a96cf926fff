"""The outbound HTTP client of channel plugins, against real local sockets: keep-alive,
servers that close, bounded and chunked responses, no redirects, no header injection,
private addresses refused when configured, timeouts and TLS verification."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from alertgate import NotificationError, OutboundHttp

Answer = Callable[[bytes], bytes | None]
"""Given a request's bytes, the response's bytes (``None``: close without answering)."""


def _read_request(conn: socket.socket, buffer: bytearray) -> bytes | None:
    while b"\r\n\r\n" not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    end = buffer.index(b"\r\n\r\n") + 4
    length = 0
    for line in bytes(buffer[:end]).split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(buffer) < end + length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    request = bytes(buffer[: end + length])
    del buffer[: end + length]
    return request


class RawServer:
    """A TCP server answering each request on a connection with ``answer``; it records
    the requests and counts the connections."""

    def __init__(self, answer: Answer, tls: ssl.SSLContext | None = None) -> None:
        self.answer = answer
        self.tls = tls
        self.requests: list[bytes] = []
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), contextlib.closing(conn):
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            buffer = bytearray()
            while (request := _read_request(conn, buffer)) is not None:
                self.requests.append(request)
                response = self.answer(request)
                if response is None:
                    return
                conn.sendall(response)

    def close(self) -> None:
        self._listener.close()


@contextlib.contextmanager
def raw_server(answer: Answer, tls: ssl.SSLContext | None = None) -> Iterator[RawServer]:
    server = RawServer(answer, tls)
    try:
        yield server
    finally:
        server.close()


def ok(_request: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def test_posts_share_one_kept_connection_and_arrive_intact() -> None:
    http = OutboundHttp(timeout=5)
    with raw_server(ok) as server:
        url = f"http://127.0.0.1:{server.port}/hook?x=1"
        for n in range(3):
            body = b'{"n":%d}' % n
            response = http.post(url, content=body, headers={"X-Key": f"k{n}"})
            assert (response.status_code, response.content) == (200, b"ok")
        http.close()
    assert server.connections == 1
    head, _, body = server.requests[2].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /hook?x=1 HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}" in lines
    assert "X-Key: k2" in lines and "Content-Length: 7" in lines
    assert body == b'{"n":2}'


def test_a_connection_the_server_closed_is_replaced() -> None:
    def answer_then_close(_request: bytes) -> bytes:
        return b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"

    http = OutboundHttp(timeout=5)
    with raw_server(answer_then_close) as server:
        url = f"http://127.0.0.1:{server.port}/"
        for _ in range(3):
            assert http.post(url, content=b"{}").status_code == 204
    http.close()
    assert server.connections == 3 and len(server.requests) == 3


def test_idle_connection_closed_by_the_server_is_not_reused() -> None:
    served: list[int] = []

    def once_per_connection(_request: bytes) -> bytes:
        served.append(1)
        return b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

    http = OutboundHttp(timeout=5)
    with raw_server(once_per_connection) as server:
        url = f"http://127.0.0.1:{server.port}/"
        http.post(url, content=b"a")
        # The server drops the idle connection (as a keep-alive timeout does).
        kept = next(iter(http._client._idle.values()))[0]
        kept.sock.shutdown(socket.SHUT_RD)
        assert http.post(url, content=b"b").status_code == 200
    http.close()
    assert [r.rpartition(b"\r\n\r\n")[2] for r in server.requests] == [b"a", b"b"]


def test_chunked_and_bounded_responses() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    huge = b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n"
    answers = iter([chunked, huge])
    http = OutboundHttp(timeout=5)
    with raw_server(lambda _r: next(answers)) as server:
        url = f"http://127.0.0.1:{server.port}/"
        assert http.post(url, content=b"").content == b"abcde"
        with pytest.raises(NotificationError, match="request failed: ProtocolError"):
            http.post(url, content=b"")
    http.close()


def test_redirects_are_not_followed_and_statuses_decide_retries() -> None:
    answers = iter([
        b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 429 Slow down\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n",
    ])  # fmt: skip
    http = OutboundHttp(timeout=5)
    with raw_server(lambda _r: next(answers)) as server:
        url = f"http://127.0.0.1:{server.port}/"
        retryable = []
        for _ in range(4):
            with pytest.raises(NotificationError) as caught:
                http.post(url, content=b"")
            retryable.append(caught.value.retryable)
            assert url not in str(caught.value)
    http.close()
    assert retryable == [False, True, True, False]
    assert len(server.requests) == 4  # nothing went to the redirect's Location


def test_header_injection_is_refused_before_sending() -> None:
    http = OutboundHttp(timeout=5)
    with raw_server(ok) as server:
        url = f"http://127.0.0.1:{server.port}/"
        for headers in ({"X-A": "v\r\nX-Evil: 1"}, {"X-A\r\nX-Evil": "1"}, {"": "v"}):
            with pytest.raises(NotificationError) as caught:
                http.post(url, content=b"", headers=headers)
            assert not caught.value.retryable
    http.close()
    assert server.requests == []


def test_private_addresses_refused_when_configured() -> None:
    http = OutboundHttp(timeout=5, allow_private=False)
    with raw_server(ok) as server:
        for url in (f"http://127.0.0.1:{server.port}/", f"http://localhost:{server.port}/"):
            with pytest.raises(NotificationError, match="private address") as caught:
                http.post(url, content=b"")
            assert not caught.value.retryable
        with pytest.raises(NotificationError, match="refused URL"):
            http.post("ftp://example.com/", content=b"")
    http.close()
    assert server.connections == 0


def test_a_silent_server_times_out() -> None:
    hold = threading.Event()

    def never(_request: bytes) -> bytes | None:
        hold.wait(10)
        return None

    http = OutboundHttp(timeout=0.5)
    with raw_server(never) as server:
        with pytest.raises(NotificationError, match="request failed: TimeoutError") as caught:
            http.post(f"http://127.0.0.1:{server.port}/", content=b"")
        hold.set()
    http.close()
    assert caught.value.retryable


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_https_verifies_the_server_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = _self_signed(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with raw_server(ok, tls) as server:
        url = f"https://127.0.0.1:{server.port}/hook"
        untrusting = OutboundHttp(timeout=5)
        with pytest.raises(NotificationError, match="request failed: SSLCertVerificationError"):
            untrusting.post(url, content=b"{}")
        untrusting.close()
        assert server.requests == []
        # Trusted (as an operator's CA bundle would make it): sent, over TLS.
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        trusting = OutboundHttp(timeout=5)
        assert trusting.post(url, content=b"{}").content == b"ok"
        trusting.close()
    assert server.requests[0].endswith(b"\r\n\r\n{}")

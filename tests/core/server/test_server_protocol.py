"""alertgate.server.protocol: each response leaves in one write, and HTTP still works."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from alertgate.server.protocol import MAX_HELD_BYTES, CoalescingTransport
from alertgate.server.runner import ThreadedServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the transport is an asyncio one


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.events: list[str] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))
        self.events.append("write")

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True
        self.events.append("close")

    def abort(self) -> None:
        self.closing = True
        self.events.append("abort")

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5555)}.get(name, default)


async def _next_turn() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


@pytest.mark.anyio
async def test_writes_of_one_turn_reach_the_socket_as_one_write() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(memoryview(b"body"))
    transport.write(b"")
    assert real.writes == []  # nothing sent inside the turn
    await _next_turn()
    assert real.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    transport.write(b"next")
    await _next_turn()
    assert real.writes[-1] == b"next" and len(real.writes) == 2
    # Everything else is the real transport's.
    assert transport.get_extra_info("peername") == ("127.0.0.1", 5555)


@pytest.mark.anyio
async def test_close_sends_what_is_pending_first_and_abort_drops_it() -> None:
    loop = asyncio.get_running_loop()
    real = RecordingTransport()
    transport = CoalescingTransport(real, loop)
    transport.write(b"last answer")
    transport.close()
    assert real.events == ["write", "close"] and real.writes == [b"last answer"]
    await _next_turn()  # the scheduled flush finds nothing left to send
    assert real.writes == [b"last answer"]

    real = RecordingTransport()
    transport = CoalescingTransport(real, loop)
    transport.write(b"never sent")
    transport.abort()
    await _next_turn()
    assert real.events == ["abort"]


@pytest.mark.anyio
async def test_a_large_body_goes_out_at_once_so_back_pressure_still_works() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real, asyncio.get_running_loop())
    transport.write(b"headers\r\n\r\n")
    chunk = b"x" * (MAX_HELD_BYTES // 4)
    for _ in range(4):
        transport.write(chunk)
    assert real.writes == [b"headers\r\n\r\n" + chunk * 4]  # without waiting for the turn
    transport.write(b"tail")
    await _next_turn()
    assert real.writes[-1] == b"tail" and len(real.writes) == 2


@pytest.mark.anyio
async def test_nothing_is_written_to_a_transport_that_is_closing() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real, asyncio.get_running_loop())
    transport.write(b"too late")
    real.closing = True  # the peer went away meanwhile
    await _next_turn()
    assert real.writes == []


async def _echo(request: Request) -> Response:
    return PlainTextResponse(await request.body())


async def _stream(_request: Request) -> Response:
    async def chunks() -> Any:
        for i in range(50):
            yield f"chunk {i}\n".encode()
            await asyncio.sleep(0)

    return StreamingResponse(chunks(), media_type="text/plain")


@pytest.fixture(scope="module")
def server() -> Any:
    app = Starlette(routes=[Route("/echo", _echo, methods=["POST"]), Route("/stream", _stream)])
    running = ThreadedServer(app).start()
    yield running
    running.stop()


def test_real_uvicorn_answers_keep_alive_large_and_streamed_responses(server: Any) -> None:
    big = b"x" * (4 * 1024 * 1024)  # beyond the transport's write buffer: flow control
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for i in range(20):  # one keep-alive connection
            assert client.post("/echo", content=f"n{i}".encode()).content == f"n{i}".encode()
        assert client.post("/echo", content=big).content == big
        streamed = client.get("/stream")
        assert streamed.text == "".join(f"chunk {i}\n" for i in range(50))


def test_pipelined_requests_are_answered_in_order(server: Any) -> None:
    requests = b"".join(
        f"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nr{i}".encode()
        for i in range(5)
    )
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(requests)
        received = b""
        while received.count(b"HTTP/1.1 200") < 5 or not received.endswith(b"r4"):
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
    bodies = [part.rsplit(b"\r\n\r\n", 1)[-1][:2] for part in received.split(b"HTTP/1.1 ")[1:]]
    assert bodies == [b"r0", b"r1", b"r2", b"r3", b"r4"]


def test_a_bad_request_is_answered_then_closed(server: Any) -> None:
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 400")


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET /echo HTTP/1.1\r\nHost: t\r\nContent-Length: \r\n\r\n",  # what schemathesis sent
    ],
)
def test_a_request_http_refuses_gets_a_json_error(server: Any, request_bytes: bytes) -> None:
    """Like every other error alertgate answers: JSON with a code (the API's clients and
    the OpenAPI document expect no text/plain), then the connection closes."""
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(request_bytes)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"content-type: application/json" in head.lower()
    assert b"connection: close" in head.lower()
    assert json.loads(body)["code"] == "invalid_http_request"

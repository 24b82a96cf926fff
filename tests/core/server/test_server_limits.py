"""Per-integration rate limits and read deadlines at the Integration URL."""

from __future__ import annotations

import asyncio
import json
import select
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from alertgate.cli import main
from alertgate.plugins.aws_cloudtrail.demo import TOPIC_ARN, alarm_message
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.plugins.aws_sns.testing import sns_headers
from alertgate.server import protocol
from alertgate.server.ratelimit import RateLimiter
from alertgate.settings import get_settings
from tests.server_helpers import Live, live_server, new_token


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_the_limit_then_says_when_to_retry() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    assert [limiter.check(1, 60) for _ in range(60)] == [0] * 60  # a minute's worth
    assert limiter.check(1, 60) == 1  # one a second refills
    assert limiter.check(2, 60) == 0  # other integrations have their own bucket
    clock.now += 1.0
    assert limiter.check(1, 60) == 0 and limiter.check(1, 60) == 1
    assert limiter.check(3, 2) == 0 and limiter.check(3, 2) == 0
    assert limiter.check(3, 2) == 30  # 2 a minute: the next one in 30 s
    assert all(limiter.check(4, 0) == 0 for _ in range(1000))  # 0 is unlimited


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    monkeypatch.setenv("ALERTGATE_SNS_CERT_DIR", str(tmp_path / "certs"))
    monkeypatch.setenv("ALERTGATE_HEADER_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("ALERTGATE_BODY_TIMEOUT_SECONDS", "1")
    get_settings.cache_clear()
    with live_server(tmp_path, rate_limit_per_minute=1000) as server:
        yield server
    get_settings.cache_clear()


def test_a_flooding_integration_gets_a_structured_429_and_others_do_not(
    live: Live, tmp_path: Path
) -> None:
    token = new_token(live.engine)
    with live.client(token) as api:
        service = api.post("/api/v1/services", json={"name": "svc"}).json()
        limited = api.post(
            "/api/v1/integrations",
            json={
                "service_id": service["id"],
                "type": "aws_cloudwatch",
                "rate_limit_per_minute": 2,
            },
        ).json()
        assert limited["rate_limit_per_minute"] == 2
        other = api.post(
            "/api/v1/integrations", json={"service_id": service["id"], "type": "aws_cloudwatch"}
        ).json()
        assert other["rate_limit_per_minute"] is None  # the server's default
        bad = api.patch(f"/api/v1/integrations/{other['id']}", json={"rate_limit_per_minute": -1})
        assert bad.status_code == 422
    signer = SnsSigner(tmp_path / "certs", name=f"limits-{uuid.uuid4().hex}")

    def deliver(url: str) -> tuple[int, dict[str, str], dict[str, object]]:
        body = signer.notification(
            alarm_message("ALARM", "OK", datetime.now(UTC)), topic_arn=TOPIC_ARN
        )
        with live.client() as client:
            r = client.post(url, content=json.dumps(body), headers=sns_headers(body))
        return r.status_code, dict(r.headers), r.json()

    statuses = [
        deliver(limited["integration_url"].replace("http://alertgate.test", live.base_url))
        for _ in range(3)
    ]
    assert [s for s, _, _ in statuses] == [200, 200, 429]
    _, headers, body = statuses[2]
    assert int(headers["retry-after"]) >= 1
    assert body["code"] == "rate_limited"
    assert body["integration_id"] == limited["id"] and body["rate_limit_per_minute"] == 2
    other_url = other["integration_url"].replace("http://alertgate.test", live.base_url)
    assert [deliver(other_url)[0] for _ in range(3)] == [200, 200, 200]
    # Raising the limit takes effect once the worker's key cache forgets the old record.
    with live.client(token) as api:
        api.patch(f"/api/v1/integrations/{limited['id']}", json={"rate_limit_per_minute": 0})
    live.app.state.alertgate.cache.clear()
    assert (
        deliver(limited["integration_url"].replace("http://alertgate.test", live.base_url))[0]
        == 200
    )


def _response(sock: socket.socket) -> bytes:
    """One whole HTTP response (headers and a Content-Length body) read from ``sock``."""
    sock.settimeout(30)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(4096)
    return head


def test_a_rate_limited_connection_is_not_read_until_its_retry_after(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flooder's keep-alive connection waits after each 429, while others are served."""
    monkeypatch.setattr(protocol, "MAX_READ_PAUSE_SECONDS", 3.0)
    with live.client(new_token(live.engine)) as api:
        service = api.post("/api/v1/services", json={"name": "svc"}).json()
        limited = api.post(
            "/api/v1/integrations",
            json={
                "service_id": service["id"],
                "type": "aws_cloudwatch",
                "rate_limit_per_minute": 1,
            },
        ).json()
    path = limited["integration_url"].removeprefix("http://alertgate.test")
    request = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{{}}".encode()
    host, port = live.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as flooder:
        flooder.sendall(request)
        assert b" 429 " not in _response(flooder)  # the minute's one delivery (refused later)
        flooder.sendall(request)
        assert b" 429 " in _response(flooder)
        flooder.sendall(request)  # too soon: not read for Retry-After (capped at 3 s)
        with socket.create_connection((host, int(port))) as other:
            other.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert b" 200 " in _response(other)
        assert select.select([flooder], [], [], 0)[0] == []  # still no answer
        assert b" 429 " in _response(flooder)  # then answered, not dropped


def _closed_within(sock: socket.socket) -> bytes:
    """What the server sent before closing; the socket timeout bounds the wait only."""
    sock.settimeout(30)
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def test_half_sent_headers_and_bodies_are_cut_off(live: Live) -> None:
    host, port = live.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as silent:
        assert b" 408 " in _closed_within(silent)
    with socket.create_connection((host, int(port))) as slow:
        slow.sendall(b"POST /integrations/agk_x HTTP/1.1\r\nHost: x\r\nX-Half: ")
        assert b" 408 " in _closed_within(slow)
    with socket.create_connection((host, int(port))) as slow_body:
        slow_body.sendall(
            b"POST /api/v1/services HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
        )
        _closed_within(slow_body)  # closed, not held open
    # A keep-alive connection that starts a second request and stalls is cut off too.
    with socket.create_connection((host, int(port))) as keep:
        keep.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHo")
        assert b" 200 " in _closed_within(keep)


def test_cli_sets_and_resets_the_rate_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERTGATE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str) -> dict[str, object]:
        result = runner.invoke(main, [*args, "--json"])
        assert result.exit_code == 0, result.output
        data: dict[str, object] = json.loads(result.output)
        return data

    run("services", "create", "svc")
    created = run(
        "integrations", "create", "--service", "svc", "--type", "aws_cloudwatch",
        "--rate-limit-per-minute", "120",
    )  # fmt: skip
    assert created["rate_limit_per_minute"] == 120
    iid = str(created["id"])
    assert (
        run("integrations", "update", iid, "--rate-limit-per-minute", "5")["rate_limit_per_minute"]
        == 5
    )
    assert (
        run("integrations", "update", iid, "--default-rate-limit")["rate_limit_per_minute"] is None
    )
    refused = runner.invoke(main, ["integrations", "update", iid, "--rate-limit-per-minute", "-3"])
    assert refused.exit_code == 2
    get_settings.cache_clear()


def test_concurrent_misses_of_one_key_share_one_database_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A flood's requests must not each look its key up when the cache entry expires."""
    import threading
    import time
    from types import SimpleNamespace

    from alertgate.server import ingest

    calls: list[str] = []
    failing = threading.Event()

    def load_record(sessions: object, plugins: object, key_hash: str) -> object:
        calls.append(key_hash)
        time.sleep(0.05)  # long enough for every request of the turn to miss too
        if failing.is_set():
            raise ingest.SQLAlchemyError("database gone")
        return SimpleNamespace(id=7)

    monkeypatch.setattr(ingest, "load_record", load_record)
    endpoint = ingest.IngestEndpoint(
        sessions=None,  # type: ignore[arg-type]
        plugins=SimpleNamespace(context=None),  # type: ignore[arg-type]
        engine=None,  # type: ignore[arg-type]
        cache=ingest.KeyCache(ttl=0),  # nothing cached: every turn misses
        max_body_bytes=1024,
    )

    async def lookups() -> list[object]:
        return await asyncio.gather(
            *(endpoint._lookup("agk_k") for _ in range(50)), return_exceptions=True
        )

    records = asyncio.run(lookups())
    assert len(calls) == 1 and all(getattr(r, "id", None) == 7 for r in records)
    failing.set()
    failures = asyncio.run(lookups())
    assert len(calls) == 2  # a new lookup once the last one finished, shared again
    assert all(isinstance(f, ingest.SQLAlchemyError) for f in failures)
    endpoint.executor.shutdown()

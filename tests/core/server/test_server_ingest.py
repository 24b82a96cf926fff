"""The Integration URL against bad and hostile requests: clear 4xx, nothing stored."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from alertgate.plugins.aws_cloudtrail.demo import TOPIC_ARN, alarm_message
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.server import admin
from alertgate.storage.database import make_sessionmaker
from alertgate.storage.schema import Alert
from tests.server_helpers import Live, live_server


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("certs")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, cert_dir: Path) -> Iterator[Live]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALERTGATE_SNS_CERT_DIR", str(cert_dir))
        with live_server(tmp_path_factory.mktemp("ingest"), max_body_bytes=300_000) as server:
            yield server


def new_integration(live: Live, slug: str = "aws_cloudwatch") -> tuple[int, str]:
    with make_sessionmaker(live.engine).begin() as session:
        org = admin.ensure_organization(session)
        name = f"svc-{datetime.now(UTC).timestamp()}"
        service = admin.create_service(session, org, name)
        keyed = admin.create_integration(session, live.app.state.alertgate.plugins, service, slug)
        return keyed.integration.id, f"{live.base_url}/integrations/{keyed.key}"


def stored_alerts(live: Live, integration_id: int) -> int:
    with make_sessionmaker(live.engine)() as session:
        query = select(func.count()).select_from(Alert)
        return session.scalar(query.where(Alert.integration_id == integration_id)) or 0


def signed_alarm(cert_dir: Path) -> dict[str, Any]:
    # A fresh name each time: the SNS certificate cache is per process, keyed by URL.
    signer = SnsSigner(cert_dir, name=f"ingest-{uuid.uuid4().hex}")
    message = alarm_message("ALARM", "OK", datetime.now(UTC))
    return signer.notification(message, topic_arn=TOPIC_ARN)


def test_unknown_keys_are_404(live: Live) -> None:
    for key in ("nope", "agk_" + "x" * 43, "a" * 5000, "%00", "..%2f..%2fetc"):
        r = httpx.post(f"{live.base_url}/integrations/{key}", content=b"{}")
        assert r.status_code == 404, key
        assert r.json()["code"] in {"integration_not_found", "not_found"}
    r = httpx.get(f"{live.base_url}/integrations/anything")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"


def test_valid_signed_alarm_is_accepted_and_stored(live: Live, cert_dir: Path) -> None:
    iid, url = new_integration(live)
    doc = signed_alarm(cert_dir)
    r = httpx.post(url, content=SnsSigner.body(doc), headers=SnsSigner.headers(doc))
    assert r.status_code == 200, r.text
    assert r.json()["outcomes"][0]["outcome"] == "opened"
    assert stored_alerts(live, iid) == 1


def test_forged_signature_is_403_and_stores_nothing(live: Live, cert_dir: Path) -> None:
    iid, url = new_integration(live)
    doc = signed_alarm(cert_dir)
    doc["Message"] = doc["Message"].replace("ALARM", "OK")
    r = httpx.post(url, content=SnsSigner.body(doc), headers=SnsSigner.headers(doc))
    assert r.status_code == 403
    assert r.json()["code"]
    assert stored_alerts(live, iid) == 0


def test_oversized_bodies_are_413_whatever_content_length_says(live: Live) -> None:
    iid, url = new_integration(live)
    big = b"{" + b" " * 400_000 + b"}"
    r = httpx.post(url, content=big)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"

    # Chunked, no Content-Length: the limit holds while reading.
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b" " * 10_000

    r = httpx.post(url, content=chunks())
    assert r.status_code == 413

    # A Content-Length that lies low: the server reads what was declared, then the
    # client's extra bytes are not a body. Send it raw to control the header.
    host, port = live.base_url.removeprefix("http://").split(":")
    path = url.removeprefix(live.base_url)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n".encode()
        sock.sendall(head + b"x" * 100)
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 400")
    assert stored_alerts(live, iid) == 0


def test_disabled_integration_is_410_and_stores_nothing(live: Live, cert_dir: Path) -> None:
    iid, url = new_integration(live)
    with make_sessionmaker(live.engine).begin() as session:
        admin.update_integration(
            session,
            live.app.state.alertgate.plugins,
            admin.get_integration(session, iid),
            enabled=False,
        )
    live.app.state.alertgate.cache.clear()
    doc = signed_alarm(cert_dir)
    r = httpx.post(url, content=SnsSigner.body(doc), headers=SnsSigner.headers(doc))
    assert r.status_code == 410
    assert r.json()["code"] == "integration_disabled"
    assert stored_alerts(live, iid) == 0


@given(
    body=st.one_of(
        st.binary(max_size=2000),
        st.text(max_size=500).map(str.encode),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=30),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(
                    st.sampled_from(
                        [
                            "Type",
                            "Message",
                            "MessageId",
                            "TopicArn",
                            "Signature",
                            "SigningCertURL",
                            "SignatureVersion",
                            "Timestamp",
                            "SubscribeURL",
                            "Token",
                            "x",
                        ]
                    ),
                    inner,
                    max_size=8,
                )
            ),
            max_leaves=20,
        ).map(lambda doc: json.dumps(doc).encode()),
    ),
    content_type=st.sampled_from(["text/plain", "application/json", "", "x/\x7f"]),
)
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_garbage_never_gets_a_5xx(live: Live, body: bytes, content_type: str) -> None:
    url = FUZZ_URL.setdefault("url", new_integration(live)[1])
    headers = {"content-type": content_type} if content_type.isprintable() else {}
    r = httpx.post(url, content=body, headers=headers)
    assert r.status_code < 500, (r.status_code, r.text)
    if r.status_code >= 400:
        assert set(r.json()) == {"code", "message"}


FUZZ_URL: dict[str, str] = {}


def test_a_bug_behind_the_integration_url_is_a_json_500(
    live: Live, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The fast path answers outside Starlette's error middleware, so it has its own net.
    _, url = new_integration(live)
    endpoint = live.app.ingest_fast_path.endpoint

    async def broken_lookup(key: str) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(endpoint, "_lookup", broken_lookup)
    r = httpx.post(url, content=b"{}")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"code": "internal_error", "message": "internal server error"}
    assert any("unexpected error on the Integration URL" in m for m in caplog.messages)


def test_the_declared_route_answers_like_the_fast_path(
    live: Live, cert_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the fast path, POSTs reach the route declared in create_app.
    iid, url = new_integration(live)
    monkeypatch.setattr(live.app, "ingest_fast_path", None)
    r = httpx.post(f"{live.base_url}/integrations/nope", content=b"{}")
    assert (r.status_code, r.json()["code"]) == (404, "integration_not_found")
    doc = signed_alarm(cert_dir)
    r = httpx.post(url, content=SnsSigner.body(doc), headers=SnsSigner.headers(doc))
    assert r.status_code == 200, r.text
    assert r.json()["outcomes"][0]["outcome"] == "opened"
    assert stored_alerts(live, iid) == 1
    assert httpx.get(url).status_code == 405


def test_storage_failure_before_commit_is_5xx(tmp_path: Path, cert_dir: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALERTGATE_SNS_CERT_DIR", str(cert_dir))
        with live_server(tmp_path) as live:
            iid, url = new_integration(live)
            doc = signed_alarm(cert_dir)
            with live.engine.begin() as conn:
                conn.execute(text("ALTER TABLE alerts RENAME TO alerts_elsewhere"))
            r = httpx.post(url, content=SnsSigner.body(doc), headers=SnsSigner.headers(doc))
            assert r.status_code >= 500
            assert r.json()["code"] in {"storage_unavailable", "internal_error"}
            with live.engine.begin() as conn:
                conn.execute(text("ALTER TABLE alerts_elsewhere RENAME TO alerts"))
            # The sender retries and succeeds: nothing was half-stored.
            r = httpx.post(url, content=SnsSigner.body(doc), headers=SnsSigner.headers(doc))
            assert r.status_code == 200, r.text
            assert r.json()["outcomes"][0]["outcome"] == "opened"
            assert stored_alerts(live, iid) == 1


def test_server_sweeps_quiet_incidents(tmp_path: Path, cert_dir: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALERTGATE_SNS_CERT_DIR", str(cert_dir))
        with live_server(tmp_path, sweep_interval_seconds=0.2) as live:
            with make_sessionmaker(live.engine).begin() as session:
                service = admin.create_service(session, admin.ensure_organization(session), "q")
                keyed = admin.create_integration(
                    session,
                    live.app.state.alertgate.plugins,
                    service,
                    "aws_cloudtrail",
                    settings={"quiet_period_minutes": 1},
                )
            url = f"{live.base_url}/integrations/{keyed.key}"
            signer = SnsSigner(cert_dir, name=f"quiet-{uuid.uuid4().hex}")
            message = alarm_message("ALARM", "OK", datetime.now(UTC) - timedelta(minutes=5))
            doc = signer.notification(message, topic_arn=TOPIC_ARN)
            r = httpx.post(url, content=SnsSigner.body(doc), headers=SnsSigner.headers(doc))
            assert r.status_code == 200, r.text
            incident_id = r.json()["outcomes"][0]["incident_id"]
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                with make_sessionmaker(live.engine)() as session:
                    incident = admin.get_incident(session, incident_id)
                    if incident.status == "resolved":
                        assert incident.resolved_by == "quiet-period"
                        return
                time.sleep(0.1)
            raise AssertionError("the quiet incident was not resolved by the server's sweep")

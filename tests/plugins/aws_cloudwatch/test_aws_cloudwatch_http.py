"""aws_cloudwatch over HTTP: every alarm shape and delivery path a user sets up.

Signed SNS deliveries of composite, metric-math and anomaly-detection alarms and of the
EventBridge alarm event; an EventBridge API destination's direct post with its shared
secret; and a non-alarm SNS message, which must be a 200 with an ``info`` outcome.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.plugins.aws_sns.testing import TestSigner
from alertgate.server import admin
from alertgate.storage.database import make_sessionmaker
from alertgate.testing import DeliveryClient
from tests.aws_cases import load
from tests.server_helpers import Live, live_server

TOPIC = "arn:aws:sns:us-east-1:123456789012:alertgate-cloudwatch"
SECRET = "eventbridge-connection-key"


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Live, SnsSigner]]:
    signer = SnsSigner(tmp_path / "certs", name=f"cw-http-{uuid.uuid4().hex}")
    monkeypatch.setenv("ALERTGATE_SNS_CERT_DIR", str(signer.directory))
    with live_server(tmp_path) as server:
        yield server, signer


def integration_url(live: Live, settings: dict[str, Any] | None = None) -> str:
    with make_sessionmaker(live.engine).begin() as session:
        org = admin.ensure_organization(session)
        service = admin.create_service(session, org, f"svc-{uuid.uuid4().hex[:8]}")
        plugins = live.app.state.alertgate.plugins
        keyed = admin.create_integration(
            session, plugins, service, "aws_cloudwatch", settings=settings
        )
    return f"{live.base_url}/integrations/{keyed.key}"


def fresh(doc: dict[str, Any], key: str) -> dict[str, Any]:
    """The message with a state change time of now (so ordering never calls it stale)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    if "detail" in doc:
        return {**doc, "detail": {**doc["detail"], "state": {**doc["detail"]["state"], key: now}}}
    return {**doc, key: now}


def publish(url: str, signer: SnsSigner, message: str) -> httpx.Response:
    doc = signer.notification(message, topic_arn=TOPIC)
    return httpx.post(url, content=SnsSigner.body(doc), headers=SnsSigner.headers(doc), timeout=30)


# The alarm shapes need no real socket: they go through alertgate.testing's in-memory app,
# signed by the kit's SNS signer, as a third-party SNS plugin's tests would.
@pytest.mark.parametrize(
    ("source", "time_key", "alarm"),
    [
        (
            "cloudwatch/message_composite_ALARM_cloudwatch_2021_composite_alarm_v1_lambda.json",
            "StateChangeTime",
            "if-sim-app_427809481713_us-east-1-test_node_monitor",
        ),
        (
            "cloudwatch/message_metric_math_ALARM_awsdocs_format.json",
            "StateChangeTime",
            "api-5xx-rate",
        ),
        (
            "cloudwatch/message_anomaly_detection_ALARM_awsdocs_format.json",
            "StateChangeTime",
            "orders-latency-anomaly",
        ),
        ("cloudwatch/eventbridge_metric_ALARM_awsdocs.json", "timestamp", "ServerCpuTooHigh"),
    ],
)
def test_signed_alarm_shapes_open_incidents(
    alertgate_client: DeliveryClient, sns_signer: TestSigner, source: str, time_key: str, alarm: str
) -> None:
    body, headers = sns_signer.delivery(json.dumps(fresh(load(source), time_key)), topic_arn=TOPIC)
    answer = alertgate_client.post("aws_cloudwatch", body, headers=headers)
    assert answer.status_code == 200, answer.body
    assert answer.outcomes == ["opened"]
    [incident] = answer.incidents
    assert incident.title.startswith(f'ALARM: "{alarm}" in ')
    assert incident.fingerprint.startswith("arn:aws:cloudwatch:")
    assert incident.fingerprint.endswith(f":alarm:{alarm}")


def test_non_alarm_sns_message_is_info_not_an_error(
    alertgate_client: DeliveryClient, sns_signer: TestSigner
) -> None:
    for message in ("Hello world", json.dumps({"notificationType": "Bounce"})):
        body, headers = sns_signer.delivery(message, topic_arn=TOPIC)
        answer = alertgate_client.post("aws_cloudwatch", body, headers=headers)
        assert answer.status_code == 200, answer.body
        assert answer.outcomes == ["info"]
        assert answer.incidents == []


def test_eventbridge_api_destination_direct_post(live: tuple[Live, SnsSigner]) -> None:
    server, _ = live
    settings = {
        "accept_direct_posts": True,
        "shared_secret_sha256": hashlib.sha256(SECRET.encode()).hexdigest(),
    }
    url = integration_url(server, settings)
    event = fresh(load("cloudwatch/eventbridge_composite_ALARM_awsdocs.json"), "timestamp")
    body = json.dumps(event).encode()
    headers = {"content-type": "application/json", "x-alertgate-key": SECRET}
    r = httpx.post(url, content=body, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    assert [o["outcome"] for o in r.json()["outcomes"]] == ["opened"]
    # EventBridge retries with the same event id: stored once
    r = httpx.post(url, content=body, headers=headers, timeout=30)
    assert [o["outcome"] for o in r.json()["outcomes"]] == ["duplicate"]
    # without the secret: refused
    r = httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 403
    assert r.json()["code"] == "secret_required"


def test_direct_post_refused_when_not_enabled(live: tuple[Live, SnsSigner]) -> None:
    server, _ = live
    url = integration_url(server)
    body = json.dumps(load("cloudwatch/eventbridge_metric_ALARM_awsdocs.json")).encode()
    r = httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 400
    assert r.json()["code"] == "not_sns"

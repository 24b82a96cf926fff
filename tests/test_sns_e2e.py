"""End to end over real HTTP: moto's SNS server as an independent signing peer, and a local
fake SNS that sends a signed SubscriptionConfirmation and records the confirmation GET.

alertgate runs as a Starlette app under uvicorn on a free port, parsing through the real
plugin manager (``load_plugins().parse``) and keeping integration state the way the server
does (``ParseResult.state_updates`` merged into the integration's state).
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core.errors import DeliveryRejected
from core.models import InboundRequest, ParseContext
from core.plugins import load_plugins
from plugins.aws_sns import set_runtime
from plugins.aws_sns.signer import SnsSigner
from tests.sns_support import fake_sns

pytestmark = pytest.mark.slow

ALARM = {
    "AlarmName": "root-account-usage",
    "AlarmDescription": "CIS 1.1 root usage",
    "AWSAccountId": "123456789012",
    "NewStateValue": "ALARM",
    "NewStateReason": "Threshold Crossed: 1 datapoint [1.0] was >= the threshold (1.0).",
    "StateChangeTime": "2024-05-01T10:00:00.000+0000",
    "Region": "US East (N. Virginia)",
    "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:root-account-usage",
    "OldStateValue": "OK",
    "Trigger": {
        "MetricName": "RootAccountUsageCount",
        "Namespace": "CloudTrailMetrics",
        "StatisticType": "Statistic",
        "Statistic": "SUM",
        "Unit": None,
        "Dimensions": [],
        "Period": 300,
        "EvaluationPeriods": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Threshold": 1.0,
        "TreatMissingData": "notBreaching",
    },
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Alertgate:
    """A running alertgate ingest endpoint and what it accepted."""

    url: str
    state: dict[str, Any] = field(default_factory=dict)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    responses: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def integration_url(self, key: str = "k1") -> str:
        return f"{self.url}/integrations/{key}"


@pytest.fixture
def alertgate() -> Iterator[Alertgate]:
    plugins = load_plugins()
    settings = plugins.validate_settings("aws_cloudwatch", {})
    port = _free_port()
    app_state = Alertgate(url=f"http://127.0.0.1:{port}")

    async def ingest(request: Request) -> JSONResponse:
        inbound = InboundRequest(
            body=await request.body(),
            headers={k.lower(): v for k, v in request.headers.items()},
            content_type=request.headers.get("content-type", ""),
        )
        context = ParseContext(1, "aws_cloudwatch", settings, dict(app_state.state))
        try:
            result = plugins.parse(context, inbound)
        except DeliveryRejected as exc:
            body = {"code": exc.code, "message": exc.message}
            app_state.responses.append((exc.status_code, body))
            return JSONResponse(body, status_code=exc.status_code)
        app_state.state.update(result.state_updates)
        for alert in result.alerts:
            app_state.accepted.append(
                {
                    "title": alert.title,
                    "action": str(alert.action),
                    "fingerprint": alert.fingerprint,
                    "dedupe_key": alert.dedupe_key,
                    "attributes": alert.attributes,
                }
            )
        status = result.response.status_code if result.response else 202
        body = dict(result.response.body) if result.response else {"alerts": len(result.alerts)}
        app_state.responses.append((status, body))
        return JSONResponse(body, status_code=status)

    app = Starlette(routes=[Route("/integrations/{key}", ingest, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield app_state
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(autouse=True)
def _fresh_runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    set_runtime(None)
    monkeypatch.delenv("ALERTGATE_SNS_CERT_DIR", raising=False)
    yield
    set_runtime(None)


# -- moto -------------------------------------------------------------------------------------


@dataclass
class SigV4Proxy:
    """Forwards GETs to moto with an SNS-scoped SigV4 Authorization header added.

    moto's server routes a request to its SNS backend (and serves the certificate it named
    for a delivery) only when the request says it is for SNS; alertgate itself never sends
    AWS credentials, so this stands where ``sns.<region>.amazonaws.com`` would be.
    """

    url: str
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
def moto_sns() -> Iterator[tuple[str, SigV4Proxy]]:
    moto_server = pytest.importorskip("moto.server")
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    moto_url = f"http://127.0.0.1:{port}"
    proxy = SigV4Proxy(url="")
    auth = (
        "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/sns/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
    )

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            proxy.seen.append((self.path, dict(self.headers)))
            upstream = urllib.request.Request(moto_url + self.path, headers={"Authorization": auth})
            try:
                with urllib.request.urlopen(upstream, timeout=10) as resp:
                    status, body = resp.status, resp.read()
            except urllib.error.HTTPError as err:
                status, body = err.code, err.read()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield moto_url, proxy
    finally:
        httpd.shutdown()
        httpd.server_close()
        server.stop()


def test_moto_signed_delivery_is_verified_and_accepted(
    moto_sns: tuple[str, SigV4Proxy], alertgate: Alertgate, monkeypatch: pytest.MonkeyPatch
) -> None:
    boto3 = pytest.importorskip("boto3")
    moto_url, proxy = moto_sns
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", proxy.url)
    client = boto3.client(
        "sns",
        region_name="us-east-1",
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    topic = client.create_topic(Name="alertgate-cloudtrail")["TopicArn"]
    client.subscribe(TopicArn=topic, Protocol="http", Endpoint=alertgate.integration_url())

    # moto signs Type/MessageId/Message/Timestamp/TopicArn but not Subject, so a Subject'd
    # Publish carries a wrong signature by the AWS rules: publish without one.
    message_id = client.publish(TopicArn=topic, Message=json.dumps(ALARM))["MessageId"]

    assert alertgate.responses == [(202, {"alerts": 1})]
    [alert] = alertgate.accepted
    assert alert["dedupe_key"] == message_id
    assert alert["action"] == "trigger"
    assert alert["attributes"]["alarm_name"] == "root-account-usage"
    assert alert["attributes"]["delivery"] == "sns"
    # The certificate moto named for this delivery was fetched through AWS_ENDPOINT_URL_SNS,
    # by alertgate, without any credentials of its own.
    [(path, headers)] = proxy.seen
    assert path.startswith("/SimpleNotificationService-") and path.endswith(".pem")
    assert "Authorization" not in headers

    # A second delivery names a new certificate: fetched again, verified again.
    client.publish(TopicArn=topic, Message=json.dumps({**ALARM, "NewStateValue": "OK"}))
    assert alertgate.responses[-1] == (202, {"alerts": 1})
    assert alertgate.accepted[-1]["action"] == "resolve"
    assert len(proxy.seen) == 2 and proxy.seen[0][0] != proxy.seen[1][0]


def test_moto_subject_is_not_signed_so_alertgate_rejects_it(
    moto_sns: tuple[str, SigV4Proxy], alertgate: Alertgate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto leaves Subject out of the string to sign; AWS signs it. alertgate follows AWS."""
    boto3 = pytest.importorskip("boto3")
    moto_url, proxy = moto_sns
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", proxy.url)
    client = boto3.client(
        "sns",
        region_name="us-east-1",
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    topic = client.create_topic(Name="subject")["TopicArn"]
    client.subscribe(TopicArn=topic, Protocol="http", Endpoint=alertgate.integration_url())
    client.publish(TopicArn=topic, Message=json.dumps(ALARM), Subject="ALARM: root")
    assert alertgate.responses == [
        (403, {"code": "signature_invalid", "message": alertgate.responses[0][1]["message"]})
    ]
    assert alertgate.accepted == []


# -- local fake SNS: signed SubscriptionConfirmation, confirmation GET ------------------------


def test_fake_sns_confirmation_notification_and_unsubscribe(
    tmp_path: Path, alertgate: Alertgate, monkeypatch: pytest.MonkeyPatch
) -> None:
    signer = SnsSigner(tmp_path / "certs", "fake-sns")
    topic = "arn:aws:sns:us-east-1:123456789012:alertgate-e2e"
    with fake_sns(signer.directory) as sns:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", sns.url)

        def post(doc: dict[str, Any]) -> httpx.Response:
            return httpx.post(
                alertgate.integration_url(),
                content=signer.body(doc),
                headers={
                    "content-type": "text/plain; charset=UTF-8",
                    "x-amz-sns-message-type": doc["Type"],
                    "x-amz-sns-topic-arn": topic,
                },
            )

        # A forged confirmation (token changed after signing) is refused and never called.
        forged = signer.subscription_confirmation(topic_arn=topic, token="a" * 64)
        forged["SubscribeURL"] = forged["SubscribeURL"].replace("a" * 64, "b" * 64)
        forged["Token"] = "b" * 64
        response = post(forged)
        assert response.status_code == 403 and response.json()["code"] == "signature_invalid"
        assert sns.confirm_calls() == []

        confirmation = signer.subscription_confirmation(topic_arn=topic, token="c" * 64)
        response = post(confirmation)
        assert response.status_code == 200
        assert response.json()["status"] == "confirmed"
        [call] = sns.confirm_calls()
        assert call.path == f"/?Action=ConfirmSubscription&TopicArn={topic}&Token={'c' * 64}"
        assert alertgate.state["sns"]["status"] == "confirmed"
        assert alertgate.state["sns"]["subscription_arn"].startswith(topic + ":")

        response = post(signer.notification(json.dumps(ALARM), topic_arn=topic, subject="ALARM"))
        assert response.status_code == 202
        assert alertgate.accepted[-1]["attributes"]["alarm_name"] == "root-account-usage"

        response = post(signer.unsubscribe_confirmation(topic_arn=topic))
        assert response.status_code == 200
        assert alertgate.state["sns"]["status"] == "unsubscribed"
        assert len(sns.confirm_calls()) == 1, "an UnsubscribeConfirmation never re-subscribes"
        # Only the certificate (once, then cached) and the one confirmation were requested.
        assert sns.paths().count(f"/{signer.cert_file_name}") == 1
        assert len(sns.requests) == 2

"""End to end over real HTTP: moto's SNS server as an independent signing peer, and a local
fake SNS that sends a signed SubscriptionConfirmation and records the confirmation GET.

alertgate is the real application (``alertgate.server.app.create_app``) under uvicorn on a free
port with a migrated SQLite database; the service and integration are created through the
admin API, and results are read back through it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from alertgate.plugins.aws_cloudtrail.demo import alarm_message
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.storage.schema import Alert as AlertRow
from tests.server_helpers import Live, live_server, new_token
from tests.sns_support import SigV4Proxy, fake_sns, moto_with_cert_proxy

pytestmark = pytest.mark.slow

ALARM = json.loads(
    alarm_message(
        "ALARM",
        "OK",
        datetime(2024, 5, 1, 10, 0, tzinfo=UTC),
        name="root-account-usage",
        metric="RootAccountUsageCount",
    )
)
OK = {
    **ALARM,
    "NewStateValue": "OK",
    "OldStateValue": "ALARM",
    "StateChangeTime": "2024-05-01T10:05:00.000+0000",
}


@dataclass
class Alertgate:
    """A running alertgate with one AWS CloudWatch integration, and an API client."""

    live: Live
    api: httpx.Client
    integration_id: int
    integration_url: str

    def state(self) -> dict[str, Any]:
        return dict(self.api.get(f"/api/v1/integrations/{self.integration_id}").json()["state"])

    def incidents(self) -> list[dict[str, Any]]:
        return list(self.api.get("/api/v1/incidents").json()["items"])


@pytest.fixture
def start_alertgate(tmp_path: Path) -> Iterator[Callable[[], Alertgate]]:
    """Starts alertgate when called: after the test has set the environment it reads
    (``AWS_ENDPOINT_URL_SNS``), as an operator would before starting the server."""
    with ExitStack() as stack:

        def start() -> Alertgate:
            live = stack.enter_context(live_server(tmp_path))
            api = live.client(new_token(live.engine))
            stack.callback(api.close)
            service = api.post("/api/v1/services", json={"name": "payments"}).json()
            created = api.post(
                "/api/v1/integrations",
                json={"service_id": service["id"], "type": "aws_cloudwatch"},
            ).json()
            # The printed URL is under ALERTGATE_PUBLIC_URL; deliver to the live port instead.
            path = urlsplit(created["integration_url"]).path
            return Alertgate(live, api, created["id"], live.base_url + path)

        yield start


@pytest.fixture(autouse=True)
def _no_trusted_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALERTGATE_SNS_CERT_DIR", raising=False)


# -- moto -------------------------------------------------------------------------------------


@pytest.fixture
def moto_sns() -> Iterator[tuple[str, SigV4Proxy]]:
    pytest.importorskip("moto.server")
    with moto_with_cert_proxy() as pair:
        yield pair


def _moto_client(moto_url: str) -> Any:
    boto3 = pytest.importorskip("boto3")
    return boto3.client(
        "sns",
        region_name="us-east-1",
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_moto_signed_delivery_is_verified_and_accepted(
    moto_sns: tuple[str, SigV4Proxy],
    start_alertgate: Callable[[], Alertgate],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    moto_url, proxy = moto_sns
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", proxy.url)
    alertgate = start_alertgate()
    client = _moto_client(moto_url)
    topic = client.create_topic(Name="alertgate-cloudtrail")["TopicArn"]
    client.subscribe(TopicArn=topic, Protocol="http", Endpoint=alertgate.integration_url)

    # moto signs Type/MessageId/Message/Timestamp/TopicArn but not Subject, so a Subject'd
    # Publish carries a wrong signature by the AWS rules: publish without one.
    message_id = client.publish(TopicArn=topic, Message=json.dumps(ALARM))["MessageId"]

    # moto ignores the HTTP answer; what alertgate stored is read back through its API.
    [incident] = alertgate.incidents()
    assert incident["status"] == "triggered"
    detail = alertgate.api.get(f"/api/v1/incidents/{incident['id']}").json()
    [alert] = detail["alerts"]
    assert alert["dedupe_key"] == message_id
    assert alert["action"] == "trigger" and alert["outcome"] == "opened"
    assert alert["attributes"]["alarm_name"] == "root-account-usage"
    assert alert["attributes"]["delivery"] == "sns"
    # moto confirms http subscriptions itself; the first verified notification records it.
    assert alertgate.state()["sns"]["status"] == "confirmed"
    # The certificate moto named for this delivery was fetched through AWS_ENDPOINT_URL_SNS,
    # by alertgate, without any credentials of its own.
    [(path, headers)] = proxy.seen
    assert path.startswith("/SimpleNotificationService-") and path.endswith(".pem")
    assert "Authorization" not in headers

    # The OK notification names a new certificate: fetched again, verified, resolves.
    client.publish(TopicArn=topic, Message=json.dumps(OK))
    [incident] = alertgate.incidents()
    assert incident["status"] == "resolved" and incident["resolved_by"] == "alert"
    assert len(proxy.seen) == 2 and proxy.seen[0][0] != proxy.seen[1][0]


def test_moto_subject_is_not_signed_so_alertgate_rejects_it(
    moto_sns: tuple[str, SigV4Proxy],
    start_alertgate: Callable[[], Alertgate],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """moto leaves Subject out of the string to sign; AWS signs it. alertgate follows AWS,
    refuses the delivery (403 signature_invalid) and stores nothing."""
    moto_url, proxy = moto_sns
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", proxy.url)
    alertgate = start_alertgate()
    client = _moto_client(moto_url)
    topic = client.create_topic(Name="subject")["TopicArn"]
    client.subscribe(TopicArn=topic, Protocol="http", Endpoint=alertgate.integration_url)
    client.publish(TopicArn=topic, Message=json.dumps(ALARM), Subject="ALARM: root")
    assert len(proxy.seen) == 1, "the certificate was fetched: verification ran and failed"
    assert alertgate.incidents() == []
    assert alertgate.state() == {}
    with alertgate.live.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(AlertRow)) == 0
    metrics = httpx.get(f"{alertgate.live.base_url}/metrics").text
    assert "signature_invalid" in metrics


# -- local fake SNS: signed SubscriptionConfirmation, confirmation GET ------------------------


def test_fake_sns_confirmation_notification_and_unsubscribe(
    tmp_path: Path, start_alertgate: Callable[[], Alertgate], monkeypatch: pytest.MonkeyPatch
) -> None:
    signer = SnsSigner(tmp_path / "certs", "fake-sns")
    topic = "arn:aws:sns:us-east-1:123456789012:alertgate-e2e"
    with fake_sns(signer.directory) as sns:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", sns.url)
        alertgate = start_alertgate()

        def post(doc: dict[str, Any]) -> httpx.Response:
            return httpx.post(
                alertgate.integration_url,
                content=signer.body(doc),
                headers={
                    "content-type": "text/plain; charset=UTF-8",
                    "x-amz-sns-message-type": doc["Type"],
                    "x-amz-sns-topic-arn": topic,
                },
                timeout=30,
            )

        # A forged confirmation (token changed after signing) is refused and never called.
        forged = signer.subscription_confirmation(topic_arn=topic, token="a" * 64)
        forged["SubscribeURL"] = forged["SubscribeURL"].replace("a" * 64, "b" * 64)
        forged["Token"] = "b" * 64
        response = post(forged)
        assert response.status_code == 403
        assert response.json()["code"] == "signature_invalid"
        assert sns.confirm_calls() == []
        assert alertgate.state() == {}

        response = post(signer.subscription_confirmation(topic_arn=topic, token="c" * 64))
        assert response.status_code == 200, response.text
        [call] = sns.confirm_calls()
        assert call.path == f"/?Action=ConfirmSubscription&TopicArn={topic}&Token={'c' * 64}"
        state = alertgate.state()["sns"]
        assert state["status"] == "confirmed" and state["error"] is None
        assert state["subscription_arn"].startswith(topic + ":")

        response = post(signer.notification(json.dumps(ALARM), topic_arn=topic, subject="ALARM"))
        assert response.status_code == 200, response.text
        assert response.json()["outcomes"][0]["outcome"] == "opened"

        response = post(signer.unsubscribe_confirmation(topic_arn=topic))
        assert response.status_code == 200, response.text
        assert alertgate.state()["sns"]["status"] == "unsubscribed"
        removed = [i for i in alertgate.incidents() if i["title"] == "SNS subscription removed"]
        assert [i["status"] for i in removed] == ["triggered"]
        assert alertgate.state()["last_delivery_at"]
        assert len(sns.confirm_calls()) == 1, "an UnsubscribeConfirmation never re-subscribes"
        # Only the certificate (once, then cached) and the one confirmation were requested.
        assert sns.paths().count(f"/{signer.cert_file_name}") == 1
        assert len(sns.requests) == 2

        # Subscribed again: the "SNS subscription removed" incident resolves.
        response = post(signer.subscription_confirmation(topic_arn=topic, token="d" * 64))
        assert response.status_code == 200, response.text
        removed = [i for i in alertgate.incidents() if i["title"] == "SNS subscription removed"]
        assert [i["status"] for i in removed] == ["resolved"]

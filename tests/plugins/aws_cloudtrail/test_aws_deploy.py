"""``alertgate aws deploy`` end to end against moto's server and a live alertgate.

moto 5.2's CloudFormation creates no alarms, filters, policies or subscriptions, so the API
path is what is tested: the resources are read back through boto3, and a message published
to the topic travels moto -> HTTP -> alertgate and opens an incident.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from click.testing import CliRunner, Result

from alertgate.cli import main
from alertgate.plugins.aws_cloudtrail.demo import alarm_message
from alertgate.plugins.aws_cloudtrail.setup.plan import HEARTBEAT_MESSAGE
from alertgate.settings import get_settings
from tests.server_helpers import Live, live_server, new_token
from tests.sns_support import moto_with_cert_proxy

pytestmark = pytest.mark.slow
boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto.server")

LOG_GROUP = "/aws/cloudtrail/org"


@dataclass
class Setup:
    live: Live
    api: httpx.Client
    integration_id: int
    url: str

    def aws(self, service: str) -> Any:
        return boto3.client(service)

    def deploy(self, *args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(
            main,
            ["aws", "deploy", "--integration", str(self.integration_id), *args],
        )
        assert result.exit_code == code, result.output
        return result


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    monkeypatch.delenv("ALERTGATE_SNS_CERT_DIR", raising=False)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with moto_with_cert_proxy() as (moto_url, proxy):
        # The server snapshots its environment at start: certificates through the proxy.
        monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", proxy.url)
        with live_server(tmp_path) as live:
            api = live.client(new_token(live.engine))
            service = api.post("/api/v1/services", json={"name": "payments"}).json()
            created = api.post(
                "/api/v1/integrations",
                json={"service_id": service["id"], "type": "aws_cloudtrail"},
            ).json()
            url = live.base_url + urlsplit(created["integration_url"]).path
            # The CLI: the server's database, moto for every AWS service, fake credentials.
            monkeypatch.setenv("ALERTGATE_DATABASE_URL", live.settings.database_url)
            monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
            monkeypatch.delenv("AWS_ENDPOINT_URL_SNS")
            monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
            monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
            monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
            get_settings.cache_clear()
            boto3.client("logs").create_log_group(logGroupName=LOG_GROUP)
            try:
                yield Setup(live, api, created["id"], url)
            finally:
                api.close()
                get_settings.cache_clear()


DETECTIONS = "root_account_usage,cloudtrail_changes,iam_policy_changes"


def test_deploy_creates_reads_back_is_idempotent_and_delivers(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["--log-group", LOG_GROUP, "--detections", DETECTIONS, "--eventbridge", "--heartbeat"]
    monkeypatch.setenv("ALERTGATE_INTEGRATION_URL", setup.url)
    sns = setup.aws("sns")

    dry = setup.deploy(*args, "--dry-run").output
    assert "root_account_usage: names no event; watched by its alarm only" in dry
    assert "Would create SNS topic alertgate-1" in dry
    assert "Would create alarm alertgate-1-root_account_usage" in dry
    assert "Would set heartbeat_hours=3 on integration 1" in dry
    assert sns.list_topics()["Topics"] == []
    settings = setup.api.get(f"/api/v1/integrations/{setup.integration_id}").json()["settings"]
    assert settings.get("heartbeat_hours") is None  # a dry run writes nothing here either

    done = setup.deploy(*args).output
    assert "Done: create EventBridge rule alertgate-1-heartbeat" in done
    # alertgate records what it needs to know about the chain it made.
    assert f"Done: set log_group_name={LOG_GROUP!r} on integration 1" in done
    settings = setup.api.get(f"/api/v1/integrations/{setup.integration_id}").json()["settings"]
    assert settings["heartbeat_hours"] == 3 and settings["log_group_name"] == LOG_GROUP
    again = setup.deploy(*args).stdout
    assert again.strip() == "No changes: the AWS side of integration 1 is up to date."

    [topic] = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert topic == "arn:aws:sns:us-east-1:123456789012:alertgate-1"
    policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    assert policy["Statement"][0]["Principal"]["Service"] == [
        "cloudwatch.amazonaws.com",
        "events.amazonaws.com",
    ]
    [sub] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert (sub["Protocol"], sub["Endpoint"]) == ("http", setup.url)

    filters = setup.aws("logs").describe_metric_filters(logGroupName=LOG_GROUP)["metricFilters"]
    assert sorted(f["filterName"] for f in filters) == [
        "alertgate-1-cloudtrail_changes",
        "alertgate-1-iam_policy_changes",
        "alertgate-1-root_account_usage",
    ]
    assert all(f["metricTransformations"][0]["metricNamespace"] for f in filters)
    alarms = setup.aws("cloudwatch").describe_alarms(AlarmNamePrefix="alertgate-1-")
    assert len(alarms["MetricAlarms"]) == 3
    for alarm in alarms["MetricAlarms"]:
        assert alarm["AlarmActions"] == alarm["OKActions"] == [topic]
        assert alarm["TreatMissingData"] == "notBreaching"

    events = setup.aws("events")
    names = {rule["Name"] for rule in events.list_rules(NamePrefix="alertgate-1-")["Rules"]}
    assert names == {"alertgate-1-heartbeat", "alertgate-1-anysource", "alertgate-1-iam"}
    beat = events.describe_rule(Name="alertgate-1-heartbeat")
    assert beat["ScheduleExpression"] == "rate(1 hour)"
    [target] = events.list_targets_by_rule(Rule="alertgate-1-heartbeat")["Targets"]
    assert target["Arn"] == topic and target["Input"] == HEARTBEAT_MESSAGE

    # The chain: an alarm notification published to the topic becomes an incident.
    message = alarm_message(
        "ALARM",
        "OK",
        datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        name="alertgate-1-root_account_usage",
        metric="RootAccountUsage",
    )
    sns.publish(TopicArn=topic, Message=message)
    [incident] = setup.api.get("/api/v1/incidents").json()["items"]
    assert incident["status"] == "triggered"
    detail = setup.api.get(f"/api/v1/incidents/{incident['id']}").json()
    assert detail["alerts"][0]["attributes"]["detection"] == "root_account_usage"

    # The heartbeat the schedule publishes is recorded, and makes no alert.
    sns.publish(TopicArn=topic, Message=HEARTBEAT_MESSAGE)
    integration = setup.api.get(f"/api/v1/integrations/{setup.integration_id}").json()
    state = integration["state"]
    assert state["sns"]["status"] == "confirmed"
    assert state["last_heartbeat_at"] and state["last_delivery_at"]
    assert len(setup.api.get("/api/v1/incidents").json()["items"]) == 1
    detail = setup.api.get(f"/api/v1/incidents/{incident['id']}").json()
    assert len(detail["alerts"]) == 1


def test_existing_alarms_get_the_topic(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    cloudwatch = setup.aws("cloudwatch")
    for name in ("legacy-root", "legacy-trail", "other"):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            MetricName="RootAccountUsageCount",
            Namespace="LogMetrics",
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            AlarmActions=["arn:aws:sns:us-east-1:123456789012:pager"],
        )
    monkeypatch.setenv("ALERTGATE_INTEGRATION_URL", setup.url)
    missing = setup.deploy("--detections", "", "--alarms", "nope", code=1).output
    assert "no such alarm(s): nope" in missing
    out = setup.deploy("--detections", "", "--alarm-prefix", "legacy-").output
    assert "add the topic to AlarmActions and OKActions of alarm legacy-root" in out
    topic = "arn:aws:sns:us-east-1:123456789012:alertgate-1"
    found = {a["AlarmName"]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    assert found["legacy-trail"]["AlarmActions"] == [
        "arn:aws:sns:us-east-1:123456789012:pager",
        topic,
    ]
    assert found["legacy-trail"]["OKActions"] == [topic]
    assert topic not in found["other"]["AlarmActions"]
    assert "No changes" in setup.deploy("--detections", "", "--alarm-prefix", "legacy-").output


def test_url_is_required_and_must_be_https(setup: Setup) -> None:
    out = setup.deploy("--detections", "", code=2).output
    assert "ALERTGATE_INTEGRATION_URL" in out
    plain = "http://alertgate.example.com/integrations/agk_x"
    out = setup.deploy("--detections", "", "--integration-url", plain, code=1).output
    assert "must use https" in out
    out = setup.deploy("--integration-url", setup.url, code=1).output
    assert "--log-group is needed" in out


def test_rotate_key_subscribes_the_new_url(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERTGATE_PUBLIC_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()
    dry = setup.deploy("--detections", "", "--rotate-key", "--dry-run").output
    assert "Would subscribe the Integration URL (http)" in dry
    before = setup.api.get(f"/api/v1/integrations/{setup.integration_id}").json()
    assert before["key_prefix"] in setup.url, "a dry run rotates nothing"
    out = setup.deploy("--detections", "", "--rotate-key").output
    new_url = out.split("(shown once):\n", 1)[1].splitlines()[0]
    assert new_url.startswith("http://127.0.0.1:9/integrations/agk_")
    topic = "arn:aws:sns:us-east-1:123456789012:alertgate-1"
    [sub] = setup.aws("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert sub["Endpoint"] == new_url
    # The stored key is the new one (a running server may honour the old one for up to
    # ALERTGATE_KEY_CACHE_SECONDS).
    stored = setup.api.get(f"/api/v1/integrations/{setup.integration_id}").json()
    new_key = new_url.rsplit("/", 1)[1]
    assert new_key.startswith(stored["key_prefix"]) and not setup.url.endswith(new_key)

"""Path 1: CloudWatch alarms on CloudTrail metric-filter metrics, with CloudTrail enrichment.

The alarm messages are the real CloudWatch alarm message / EventBridge alarm event from
tests/fixtures/aws/cloudwatch with the alarm pointed at a CIS metric, signed by the test
SNS signer and delivered through the real plugin manager and SNS layer.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from alertgate.models import Action, InboundRequest, ParseContext, Severity
from alertgate.plugins.aws_cloudtrail.catalog import BUILTIN_DETECTIONS
from alertgate.plugins.aws_cloudtrail.metrics import identify, normalize
from alertgate.plugins.aws_cloudtrail.settings import CloudTrailSettings
from alertgate.plugins.aws_sns.settings import CERT_DIR_ENV
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.registry import Plugins, load_plugins
from tests.conftest import FIXTURES

CLOUDWATCH = FIXTURES / "aws" / "cloudwatch"
TOPIC = "arn:aws:sns:us-east-1:427809481713:cloudtrail-alarms"
ACCOUNT = "427809481713"


def alarm_message(
    metric: str, state: str = "ALARM", name: str = "cloudtrail-alarm", **patch: Any
) -> dict[str, Any]:
    """The real metric alarm message, re-aimed at a CloudTrail metric-filter metric."""
    doc = json.loads(
        (
            CLOUDWATCH / "message_metric_ALARM_cloudwatch_2021_metric_alarm_v1_lambda.json"
        ).read_text()
    )
    doc["AlarmName"] = name
    doc["AlarmArn"] = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{name}"
    doc["NewStateValue"] = state
    doc["OldStateValue"] = "OK" if state == "ALARM" else "ALARM"
    doc["Trigger"]["MetricName"] = metric
    doc["Trigger"]["Namespace"] = "CloudTrailMetrics"
    doc["Trigger"]["Dimensions"] = []
    doc.update(patch)
    return doc


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    return load_plugins()


@pytest.fixture
def signer(tmp_path: Path, plugins: Plugins) -> SnsSigner:
    signer = SnsSigner(tmp_path / "certs", name="cloudtrail-alarms")
    plugins.configure(environ={CERT_DIR_ENV: str(signer.directory)})
    return signer


def deliver(plugins: Plugins, signer: SnsSigner, doc: Any, **settings: Any) -> list[Any]:
    envelope = signer.notification(json.dumps(doc), topic_arn=TOPIC, subject="ALARM")
    model = plugins.validate_settings("aws_cloudtrail", settings)
    context = ParseContext(integration_id=7, integration_type="aws_cloudtrail", settings=model)
    result = plugins.parse(context, InboundRequest(signer.body(envelope), {}, "text/plain"))
    for alert in result.alerts:
        assert alert.dedupe_key == envelope["MessageId"]
    return result.alerts


def test_root_usage_alarm_opens_then_ok_resolves(plugins: Plugins, signer: SnsSigner) -> None:
    (alarm,) = deliver(plugins, signer, alarm_message("RootAccountUsage", name="root-usage"))
    assert alarm.kind == "cloudwatch_alarm"
    assert alarm.action is Action.TRIGGER
    assert alarm.severity is Severity.CRITICAL
    assert alarm.title == 'ALARM: "root-usage" in us-east-1: Root user activity'
    attrs = alarm.attributes
    assert attrs["detection"] == "root_account_usage"
    assert attrs["watches"] == "Root user activity"
    assert attrs["category"] == "identity"
    assert attrs["cis"] == "4.3"
    assert attrs["watch_matched_by"] == "metric_name"
    assert attrs["account"] == ACCOUNT
    assert attrs["metric_name"] == "RootAccountUsage"
    assert alarm.summary.startswith("Watches: Root user activity [CIS AWS Foundations 4.3]")
    # Grouping is the CloudWatch one: the alarm's ARN.
    assert alarm.fingerprint == f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:root-usage"

    (ok,) = deliver(plugins, signer, alarm_message("RootAccountUsage", "OK", name="root-usage"))
    assert ok.action is Action.RESOLVE
    assert ok.fingerprint == alarm.fingerprint
    assert ok.severity is Severity.INFO
    assert ok.attributes["detection"] == "root_account_usage"


def test_insufficient_data_follows_the_cloudwatch_policy(
    plugins: Plugins, signer: SnsSigner
) -> None:
    doc = alarm_message("UnauthorizedAPICalls", "INSUFFICIENT_DATA")
    (info,) = deliver(plugins, signer, doc)
    assert info.action is Action.INFO
    (warn,) = deliver(plugins, signer, doc, insufficient_data="trigger")
    assert warn.action is Action.TRIGGER
    assert warn.severity is Severity.WARNING


@pytest.mark.parametrize(
    ("metric", "detection"),
    [
        # The CIS benchmark's names, AWS's CloudFormation sample's, and common variants.
        ("root_usage_metric", "root_account_usage"),
        ("RootAccountUsageCount", "root_account_usage"),
        ("CIS-3.3-RootAccountUsage", "root_account_usage"),
        ("unauthorized_api_calls_metric", "unauthorized_api_calls"),
        ("AuthorizationFailureCount", "unauthorized_api_calls"),
        ("no_mfa_console_signin_metric", "console_signin_without_mfa"),
        ("ConsoleSignInWithoutMfaCount", "console_signin_without_mfa"),
        ("iam_changes_metric", "iam_policy_changes"),
        ("IAMPolicyEventCount", "iam_policy_changes"),
        ("cloudtrail_cfg_changes_metric", "cloudtrail_changes"),
        ("CloudTrailEventCount", "cloudtrail_changes"),
        ("console_signin_failure_metric", "console_auth_failures"),
        ("ConsoleSigninFailureCount", "console_auth_failures"),
        ("disable_or_delete_cmk_changes_metric", "kms_key_disabled_or_deleted"),
        ("s3_bucket_policy_changes_metric", "s3_bucket_policy_changes"),
        ("aws_config_changes_metric", "config_changes"),
        ("security_group_changes_metric", "security_group_changes"),
        ("SecurityGroupEventCount", "security_group_changes"),
        ("nacl_changes_metric", "nacl_changes"),
        ("NetworkAclEventCount", "nacl_changes"),
        ("network_gw_changes_metric", "network_gateway_changes"),
        ("GatewayEventCount", "network_gateway_changes"),
        ("route_table_changes_metric", "route_table_changes"),
        ("vpc_changes_metric", "vpc_changes"),
        ("VpcEventCount", "vpc_changes"),
        ("organizations_changes", "organizations_changes"),
    ],
)
def test_cis_metric_names_are_recognised(
    plugins: Plugins, signer: SnsSigner, metric: str, detection: str
) -> None:
    (alarm,) = deliver(plugins, signer, alarm_message(metric))
    expected = next(d for d in BUILTIN_DETECTIONS if d.id == detection)
    assert alarm.attributes["detection"] == detection
    assert alarm.severity is expected.severity
    assert alarm.title.endswith(": " + expected.title)
    assert alarm.action is Action.TRIGGER


def test_alarm_name_is_the_fallback(plugins: Plugins, signer: SnsSigner) -> None:
    doc = alarm_message("Matches", name="prod-cloudtrail-stop-logging-CloudTrailChanges")
    (alarm,) = deliver(plugins, signer, doc)
    assert alarm.attributes["detection"] == "cloudtrail_changes"
    assert alarm.attributes["watch_matched_by"] == "alarm_name"


def test_unknown_metric_keeps_cloudwatch_defaults(plugins: Plugins, signer: SnsSigner) -> None:
    (alarm,) = deliver(plugins, signer, alarm_message("OrderLatency", name="checkout-latency"))
    assert alarm.attributes["detection"] is None
    assert alarm.attributes["watches"] is None
    assert alarm.severity is Severity.ERROR
    assert alarm.title == 'ALARM: "checkout-latency" in us-east-1'
    (alarm,) = deliver(
        plugins,
        signer,
        alarm_message("OrderLatency", name="checkout-latency"),
        alarm_severity="warning",
    )
    assert alarm.severity is Severity.WARNING


def test_metric_map_names_your_own_metrics(plugins: Plugins, signer: SnsSigner) -> None:
    settings = {
        "metric_map": {
            "BreakGlassRoleUsed": {
                "title": "Break-glass role assumed",
                "category": "identity",
                "severity": "critical",
            },
            "ct-root": {"detection": "root_account_usage", "severity": "error"},
        }
    }
    (alarm,) = deliver(plugins, signer, alarm_message("BreakGlassRoleUsed"), **settings)
    assert alarm.title.endswith(": Break-glass role assumed")
    assert alarm.severity is Severity.CRITICAL
    assert alarm.attributes["category"] == "identity"
    assert alarm.attributes["detection"] is None
    assert alarm.attributes["watch_matched_by"] == "metric_map"
    (alarm,) = deliver(plugins, signer, alarm_message("ct-root"), **settings)
    assert alarm.attributes["detection"] == "root_account_usage"
    assert alarm.attributes["cis"] == "4.3"
    assert alarm.severity is Severity.ERROR


def test_eventbridge_alarm_state_change_is_enriched_too(
    plugins: Plugins, signer: SnsSigner
) -> None:
    doc = json.loads((CLOUDWATCH / "eventbridge_metric_ALARM_awsdocs.json").read_text())
    doc = copy.deepcopy(doc)
    doc["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"].update(
        name="ConsoleSigninWithoutMFA", namespace="CloudTrailMetrics", dimensions={}
    )
    (alarm,) = deliver(plugins, signer, doc)
    assert alarm.action is Action.TRIGGER
    assert alarm.attributes["detection"] == "console_signin_without_mfa"
    assert alarm.severity is Severity.ERROR


def test_composite_alarm_uses_its_name(plugins: Plugins, signer: SnsSigner) -> None:
    doc = json.loads(
        (
            CLOUDWATCH / "message_composite_ALARM_cloudwatch_2021_composite_alarm_v1_lambda.json"
        ).read_text()
    )
    doc["AlarmName"] = "CIS-4.10-SecurityGroupChanges"
    doc.pop("AlarmArn", None)
    (alarm,) = deliver(plugins, signer, doc)
    assert alarm.attributes["alarm_type"] == "composite"
    assert alarm.attributes["detection"] == "security_group_changes"


def test_every_catalog_metric_name_identifies_its_detection() -> None:
    settings = CloudTrailSettings()
    seen: dict[str, str] = {}
    for detection in BUILTIN_DETECTIONS:
        for metric in detection.metric_names:
            key = normalize(metric)
            assert seen.setdefault(key, detection.id) == detection.id, metric
            watch = identify(metric, None, settings)
            assert watch is not None and watch.detection == detection.id, metric


def test_normalize() -> None:
    assert normalize("CIS-3.3-RootUsageMetricAlarm") == "rootusage"
    assert normalize("root_usage_metric") == normalize("RootUsage")
    assert normalize("Count") == "count"

"""aws_cloudwatch: every alarm shape, driven by one table of real and documented payloads.

Real payloads: tests/fixtures/aws/sns and cloudwatch (see SOURCE.md). Documented ones
(``*_awsdocs*.json``) are written from the formats in AWS's CloudWatch documentation.
Each row states the action, fingerprint and title a responder should get.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertgate.errors import ForbiddenDelivery, MalformedDelivery
from alertgate.models import Action, Alert, InboundRequest, ParseContext, Severity
from alertgate.plugins.aws_cloudwatch import alarms
from alertgate.registry import load_plugins
from tests.aws_cases import (
    AWS_FIXTURES,
    OFFLINE,
    SECRET,
    SECRET_SHA256,
    Case,
    deliver,
    envelope,
    load,
    plugins,
    run_case,
)

M = "if-sim-app_427809481713_us-east-1-metric_emitting_node_failure"
M_ARN = f"arn:aws:cloudwatch:us-east-1:427809481713:alarm:{M}"
C = "if-sim-app_427809481713_us-east-1-test_node_monitor"
C_ARN = f"arn:aws:cloudwatch:us-east-1:427809481713:alarm:{C}"
SNS_METRIC = "sns/cloudwatch_2021_metric_alarm_v1_lambda.json"
SNS_COMPOSITE = "sns/cloudwatch_2021_composite_alarm_v1_lambda.json"
ANOMALY_OK = "cloudwatch/message_anomaly_detection_OK_UNVERIFIED_envelope_cloudforet_448b4055.json"
ANOMALY_ARN = (
    "arn:aws:cloudwatch:ap-northeast-2:257706363616:alarm:ContainerInsight-pod_cpu_utilization"
)
P99 = "cloudwatch/message_metric_extended_statistic_INSUFFICIENT_DATA_awsdocs_format.json"
P99_ARN = "arn:aws:cloudwatch:ap-northeast-2:444455556666:alarm:checkout-p99-latency"
EB = "cloudwatch/eventbridge_{}_awsdocs.json"
EB_ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:{}"

CASES = [
    # --- real SNS envelopes (genuine CloudWatch notifications) -------------------------
    Case(
        "sns-metric-alarm",
        SNS_METRIC,
        "trigger",
        M_ARN,
        f'ALARM: "{M}" in us-east-1',
        severity="error",
        attrs={
            "alarm_type": "metric",
            "account": "427809481713",
            "region": "us-east-1",
            "region_name": "US East (N. Virginia)",
            "alarm_name": M,
            "alarm_arn": M_ARN,
            "state": "ALARM",
            "previous_state": "INSUFFICIENT_DATA",
            "metric_name": "IExecutionFailureHook",
            "namespace": "sim-app_427809481713_us-east-1",
            "dimensions": {
                "MetricGroupId": "routing_table.receive.hook",
                "RouteID": "metric_emitting_node",
            },
            "threshold": 1.0,
            "comparison": "GreaterThanOrEqualToThreshold",
            "treat_missing_data": "missing",
            "description": None,
        },
    ),
    Case(
        "sns-metric-ok",
        SNS_METRIC,
        "resolve",
        M_ARN,
        f'OK: "{M}" in us-east-1',
        patch={"NewStateValue": "OK", "OldStateValue": "ALARM"},
        severity="info",
    ),
    Case(
        "sns-metric-insufficient-data-default-info",
        SNS_METRIC,
        "info",
        M_ARN,
        f'INSUFFICIENT_DATA: "{M}" in us-east-1',
        patch={"NewStateValue": "INSUFFICIENT_DATA", "OldStateValue": "ALARM"},
        severity="info",
    ),
    Case(
        "sns-metric-insufficient-data-policy-trigger",
        SNS_METRIC,
        "trigger",
        M_ARN,
        f'INSUFFICIENT_DATA: "{M}" in us-east-1',
        patch={"NewStateValue": "INSUFFICIENT_DATA", "OldStateValue": "ALARM"},
        settings={"insufficient_data": "trigger"},
        severity="warning",
    ),
    Case(
        "sns-metric-unknown-state-is-info",
        SNS_METRIC,
        "info",
        M_ARN,
        f'FLAPPING: "{M}" in us-east-1',
        patch={"NewStateValue": "FLAPPING"},
    ),
    Case(
        "sns-composite-alarm",
        SNS_COMPOSITE,
        "trigger",
        C_ARN,
        f'ALARM: "{C}" in us-east-1',
        attrs={
            "alarm_type": "composite",
            "region": "us-east-1",
            "previous_state": "OK",
            "metric_name": None,
            "threshold": None,
            "triggering_children": [
                {"arn": M_ARN, "state": "ALARM", "timestamp": "2021-11-10T02:45:55.640+0000"}
            ],
        },
    ),
    # --- real bare alarm messages, delivered in an SNS envelope --------------------------
    Case(
        "bare-metric-alarm",
        "cloudwatch/message_metric_ALARM_cloudwatch_2021_metric_alarm_v1_lambda.json",
        "trigger",
        M_ARN,
        f'ALARM: "{M}" in us-east-1',
        delivery="wrap",
    ),
    Case(
        "bare-composite-alarm",
        "cloudwatch/message_composite_ALARM_cloudwatch_2021_composite_alarm_v1_lambda.json",
        "trigger",
        C_ARN,
        f'ALARM: "{C}" in us-east-1',
        delivery="wrap",
        attrs={"alarm_type": "composite"},
    ),
    Case(
        "anomaly-detection-ok-region-display-name",
        ANOMALY_OK,
        "resolve",
        ANOMALY_ARN,
        'OK: "ContainerInsight-pod_cpu_utilization" in ap-northeast-2',
        delivery="wrap",
        attrs={
            "alarm_type": "anomaly_detection",
            "account": "257706363616",
            "region": "ap-northeast-2",
            "region_name": "Asia Pacific (Seoul)",
            "threshold_metric_id": "ad1",
            "metric_name": "pod_cpu_utilization",
            "namespace": "ContainerInsights",
            "comparison": "LessThanLowerOrGreaterThanUpperThreshold",
            "threshold": None,
        },
    ),
    # --- AWS-published Lambda SNS events (placeholder values: shape only) ---------------
    Case(
        "lambda-template-metric",
        "cloudwatch/lambda_event_metric_TEMPLATE_aws-lambda-go.json",
        "trigger",
        # placeholder ARN and Region: account from AWSAccountId, region from the topic
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:EXAMPLE",
        'ALARM: "EXAMPLE" in us-east-1',
        delivery="lambda",
        attrs={"alarm_type": "metric", "alarm_arn": None, "unit": "Bytes"},
    ),
    Case(
        "lambda-template-metric-math",
        "cloudwatch/lambda_event_metric_math_TEMPLATE_aws-lambda-go.json",
        "trigger",
        # placeholder AWSAccountId too: both from the topic the alarm published to
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:EXAMPLE",
        'ALARM: "EXAMPLE" in us-east-1',
        delivery="lambda",
        attrs={"alarm_type": "metric_math", "metric_name": "NetworkOut", "threshold": 0.0},
    ),
    # --- written from AWS's documented formats -----------------------------------------
    Case(
        "metric-math-two-metrics-europe-display-name",
        "cloudwatch/message_metric_math_ALARM_awsdocs_format.json",
        "trigger",
        "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:api-5xx-rate",
        'ALARM: "api-5xx-rate" in eu-west-1',
        delivery="wrap",
        attrs={
            "alarm_type": "metric_math",
            "region": "eu-west-1",
            "region_name": "Europe (Ireland)",
            "metric_name": None,
            "threshold": 5.0,
            "comparison": "GreaterThanThreshold",
            "treat_missing_data": "notBreaching",
        },
    ),
    Case(
        "anomaly-detection-alarm",
        "cloudwatch/message_anomaly_detection_ALARM_awsdocs_format.json",
        "trigger",
        "arn:aws:cloudwatch:us-west-2:111122223333:alarm:orders-latency-anomaly",
        'ALARM: "orders-latency-anomaly" in us-west-2',
        delivery="wrap",
        attrs={"alarm_type": "anomaly_detection", "metric_name": "Latency"},
    ),
    Case(
        "extended-statistic-insufficient-data",
        P99,
        "info",
        P99_ARN,
        'INSUFFICIENT_DATA: "checkout-p99-latency" in ap-northeast-2',
        delivery="wrap",
        severity="info",
        attrs={"statistic": "p99", "unit": None, "alarm_type": "metric"},
    ),
    Case(
        "extended-statistic-insufficient-data-trigger",
        P99,
        "trigger",
        P99_ARN,
        'INSUFFICIENT_DATA: "checkout-p99-latency" in ap-northeast-2',
        delivery="wrap",
        settings={"insufficient_data": "trigger"},
        severity="warning",
    ),
    Case(
        # No AlarmArn: account + region code (from the display name) + name, the same
        # fingerprint the ARN gives, so both forms group together.
        "no-arn-falls-back-to-account-region-name",
        P99,
        "trigger",
        P99_ARN,
        'ALARM: "checkout-p99-latency" in ap-northeast-2',
        delivery="wrap",
        patch={"AlarmArn": None, "NewStateValue": "ALARM"},
        attrs={"alarm_arn": None, "region": "ap-northeast-2", "account": "444455556666"},
    ),
    Case(
        "same-name-other-account",
        SNS_METRIC,
        "trigger",
        f"arn:aws:cloudwatch:us-east-1:999988887777:alarm:{M}",
        f'ALARM: "{M}" in us-east-1',
        patch={
            "AWSAccountId": "999988887777",
            "AlarmArn": f"arn:aws:cloudwatch:us-east-1:999988887777:alarm:{M}",
        },
        attrs={"account": "999988887777"},
    ),
    Case(
        "same-name-other-account-no-arn",
        SNS_METRIC,
        "trigger",
        f"arn:aws:cloudwatch:us-east-1:999988887777:alarm:{M}",
        f'ALARM: "{M}" in us-east-1',
        patch={"AWSAccountId": "999988887777", "AlarmArn": None},
    ),
    Case(
        "china-region-partition",
        P99,
        "trigger",
        "arn:aws-cn:cloudwatch:cn-north-1:444455556666:alarm:checkout-p99-latency",
        'ALARM: "checkout-p99-latency" in cn-north-1',
        delivery="wrap",
        patch={"AlarmArn": None, "NewStateValue": "ALARM", "Region": "China (Beijing)"},
    ),
    # --- EventBridge "CloudWatch Alarm State Change", through SNS -----------------------
    Case(
        "eventbridge-metric-via-sns",
        EB.format("metric_ALARM"),
        "trigger",
        EB_ARN.format("ServerCpuTooHigh"),
        'ALARM: "ServerCpuTooHigh" in us-east-1',
        delivery="wrap",
        attrs={
            "alarm_type": "metric",
            "metric_name": "CPUUtilization",
            "namespace": "AWS/EC2",
            "dimensions": {"InstanceId": "i-12345678901234567"},
            "threshold": 50.0,
            "statistic": "Average",
            "previous_state": "OK",
            "account": "123456789012",
            "region_name": "US East (N. Virginia)",
        },
    ),
    Case(
        "eventbridge-metric-math-via-sns",
        EB.format("metric_math_ALARM"),
        "trigger",
        EB_ARN.format("TotalNetworkTrafficTooHigh"),
        'ALARM: "TotalNetworkTrafficTooHigh" in us-east-1',
        delivery="wrap",
        attrs={"alarm_type": "metric_math", "threshold": 10000.0, "metric_name": None},
    ),
    Case(
        "eventbridge-anomaly-detection-via-sns",
        EB.format("anomaly_detection_ALARM"),
        "trigger",
        EB_ARN.format("EC2 CPU Utilization Anomaly"),
        'ALARM: "EC2 CPU Utilization Anomaly" in us-east-1',
        delivery="wrap",
        attrs={"alarm_type": "anomaly_detection", "metric_name": "CPUUtilization"},
    ),
    Case(
        "eventbridge-composite-via-sns",
        EB.format("composite_ALARM"),
        "trigger",
        EB_ARN.format("ServiceAggregatedAlarm"),
        'ALARM: "ServiceAggregatedAlarm" in us-east-1',
        delivery="wrap",
        attrs={
            "alarm_type": "composite",
            "alarm_rule": "ALARM(ServerCpuTooHigh) OR ALARM(TotalNetworkTrafficTooHigh)",
            "actions_suppressed_by": "WaitPeriod",
        },
    ),
    # --- posted without an SNS envelope (opt-in, with the shared secret) ----------------
    Case(
        "eventbridge-metric-direct-post",
        EB.format("metric_ALARM"),
        "trigger",
        EB_ARN.format("ServerCpuTooHigh"),
        'ALARM: "ServerCpuTooHigh" in us-east-1',
        delivery="direct",
        attrs={"delivery": "direct", "format": "eventbridge"},
    ),
    Case(
        "eventbridge-anomaly-direct-post",
        EB.format("anomaly_detection_ALARM"),
        "trigger",
        EB_ARN.format("EC2 CPU Utilization Anomaly"),
        'ALARM: "EC2 CPU Utilization Anomaly" in us-east-1',
        delivery="direct",
    ),
    Case(
        "bare-alarm-sns-raw-message-delivery",
        ANOMALY_OK,
        "resolve",
        ANOMALY_ARN,
        'OK: "ContainerInsight-pod_cpu_utilization" in ap-northeast-2',
        delivery="raw",
        attrs={
            "delivery": "raw",
            "topic_arn": "arn:aws:sns:us-east-1:123456789012:alertgate-alarms",
        },
    ),
    # --- SNS messages that are not alarms: one info alert, never an error --------------
    Case(
        "plain-text-message",
        "sns/awsphp_2022_notification_v2_subject.json",
        "info",
        "sns:arn:aws:sns:us-east-2:295079676684:publish-and-verify-530b26da-0687-4fe4-9f71-780bad3181e2",
        'Not an alarm: "Hello world"',
        severity="info",
    ),
    Case(
        "plain-text-subject-null-lambda-casing",
        "sns/awsphp_2022_lambda_style_v1_nosubject_subject_null.json",
        "info",
        "sns:arn:aws:sns:us-east-2:295079676684:publish-and-verify-892f85fe-4836-424d-8188-ab85bef0f362",
        "Not an alarm: SNS message",
    ),
    Case(
        "plain-text-2017-no-subject",
        "sns/awsphp_2017_notification_v1_nosubject.json",
        "info",
        "sns:arn:aws:sns:us-west-2:604091128280:testing1",
        "Not an alarm: SNS message",
    ),
    Case(
        "other-json-ses-bounce",
        "sns/djangoses_2022_ses_bounce_v1_nosubject.json",
        "info",
        "sns:arn:aws:sns:us-east-1:364852123998:test-email",
        "Not an alarm: SNS message",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_payload_table(case: Case) -> None:
    result = run_case(case)
    assert len(result.alerts) == 1, result
    alert = result.alerts[0]
    assert alert.action == Action(case.action)
    assert alert.fingerprint == case.fingerprint
    assert alert.title == case.title
    if case.severity is not None:
        assert alert.severity == Severity(case.severity)
    for key, expected in case.attrs.items():
        assert alert.attributes[key] == expected, key
    assert alert.source_time.tzinfo is not None
    assert alert.payload is not None


def test_alarm_alert_content_for_a_responder() -> None:
    result = run_case(Case("x", SNS_METRIC, "trigger", M_ARN, ""))
    alert = result.alerts[0]
    envelope_doc = load(SNS_METRIC)
    # Source time is StateChangeTime (2021-11-10T02:45:55.640+0000), not SNS's Timestamp.
    assert alert.source_time == datetime(2021, 11, 10, 2, 45, 55, 640000, tzinfo=UTC)
    assert alert.dedupe_key == envelope_doc["MessageId"]
    assert alert.kind == "cloudwatch_alarm"
    assert alert.payload == envelope_doc
    assert alert.links["console"] == (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        f"#alarmsV2:alarm/{M}"
    )
    assert "Threshold Crossed: 1 out of the last 1 datapoints" in alert.summary
    assert (
        "Condition: SUM of IExecutionFailureHook (sim-app_427809481713_us-east-1, "
        "MetricGroupId=routing_table.receive.hook, RouteID=metric_emitting_node) per 300 s "
        "is greater than or equal to 1, over 1 evaluation period" in alert.summary
    )
    assert "Account: 427809481713" in alert.summary
    assert "us-east-1 (US East (N. Virginia))" in alert.summary
    assert "INSUFFICIENT_DATA -> ALARM" in alert.summary
    # every contract attribute is present
    contract = (
        "account region region_name alarm_name alarm_arn alarm_type state previous_state "
        "reason metric_name namespace dimensions threshold comparison"
    )
    for key in contract.split():
        assert key in alert.attributes


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (
            "cloudwatch/message_metric_math_ALARM_awsdocs_format.json",
            "expression 100 * errors / requests (5xx rate (%)) of HTTPCode_Target_5XX_Count "
            "(AWS/ApplicationELB, LoadBalancer=app/web/50dc6c495c0c9188); RequestCount "
            "(AWS/ApplicationELB, LoadBalancer=app/web/50dc6c495c0c9188) is greater than 5, "
            "over 2 evaluation periods",
        ),
        (
            ANOMALY_OK,
            "pod_cpu_utilization (ContainerInsights, ClusterName=cloudone-dev-v1-eks-cluster) "
            "Average per 60 s outside the anomaly detection band "
            "ANOMALY_DETECTION_BAND(m1, 0.592), over 1 evaluation period",
        ),
        (
            "cloudwatch/message_composite_ALARM_cloudwatch_2021_composite_alarm_v1_lambda.json",
            f"composite alarm rule ALARM({M_ARN}) OR ALARM(arn:aws:cloudwatch:us-east-1:"
            "427809481713:alarm:if-sim-app_427809481713_us-east-1-metric_emitting_long_execution)"
            f"; triggered by {M} (ALARM)",
        ),
        (
            EB.format("metric_ALARM"),
            "Average of CPUUtilization (AWS/EC2, InstanceId=i-12345678901234567) per 300 s is "
            "compared with 50",
        ),
    ],
)
def test_condition_in_words(source: str, words: str) -> None:
    alert = deliver(json.dumps(envelope(load(source)))).alerts[0]
    assert alert.attributes["condition"] == words
    assert f"Condition: {words}" in alert.summary


def test_two_accounts_same_alarm_name_are_two_fingerprints() -> None:
    doc = load("cloudwatch/message_metric_ALARM_cloudwatch_2021_metric_alarm_v1_lambda.json")
    fingerprints = set()
    for account in ("427809481713", "999988887777"):
        for keep_arn in (True, False):
            msg = dict(doc, AWSAccountId=account)
            msg["AlarmArn"] = msg["AlarmArn"].replace(":427809481713:", f":{account}:")
            if not keep_arn:
                del msg["AlarmArn"]
            alert = deliver(json.dumps(envelope(msg))).alerts[0]
            fingerprints.add((account, alert.fingerprint))
    # per account: ARN and fallback agree; across accounts: different
    assert len({fp for _, fp in fingerprints}) == 2
    assert len(fingerprints) == 2


def test_fingerprint_never_the_alarm_name_alone() -> None:
    for case in CASES:
        alert = run_case(case).alerts[0]
        name = alert.attributes.get("alarm_name")
        if name:
            assert alert.fingerprint != name
            assert alert.fingerprint.startswith("arn:")


def test_eventbridge_ok_event_resolves() -> None:
    event = load(EB.format("metric_ALARM"))
    event["detail"]["previousState"], event["detail"]["state"] = (
        event["detail"]["state"],
        event["detail"]["previousState"],
    )
    alert = deliver(json.dumps(envelope(event))).alerts[0]
    assert alert.action == Action.RESOLVE
    assert alert.fingerprint == EB_ARN.format("ServerCpuTooHigh")
    assert alert.source_time == datetime(2019, 10, 1, 13, 56, 40, 987000, tzinfo=UTC)


def test_eventbridge_via_sns_keeps_envelope_and_message_id() -> None:
    event = load(EB.format("composite_ALARM"))
    env = envelope(event, message_id="11111111-2222-5333-8444-555555555555")
    alert = deliver(json.dumps(env)).alerts[0]
    assert alert.dedupe_key == "11111111-2222-5333-8444-555555555555"
    assert alert.payload == env
    assert alert.attributes["triggering_children"][0]["arn"] == EB_ARN.format("ServerCpuTooHigh")
    assert alert.source_time == datetime(2022, 7, 22, 15, 57, 45, 394000, tzinfo=UTC)


def test_non_alarm_message_note_and_result_note() -> None:
    result = deliver(load_bytes("sns/awsphp_2022_notification_v2_subject.json"))
    alert = result.alerts[0]
    assert "not a CloudWatch alarm" in alert.summary
    assert "Hello world" in alert.summary
    assert alert.attributes["note"]
    assert "not a CloudWatch alarm" in result.note


def test_alarm_that_is_not_json_object_is_info() -> None:
    for message in ("[1, 2, 3]", "{not json", '{"AlarmName": "x"}', "null", ""):
        result = deliver(json.dumps(envelope(message)))
        assert [a.action for a in result.alerts] == [Action.INFO], message


def load_bytes(source: str) -> bytes:
    return (AWS_FIXTURES / source).read_bytes()


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
_alarm_keys = st.sampled_from(
    [
        "AlarmName",
        "NewStateValue",
        "OldStateValue",
        "AlarmArn",
        "AWSAccountId",
        "Region",
        "StateChangeTime",
        "Trigger",
        "AlarmRule",
        "TriggeringChildren",
        "detail",
        "detail-type",
        "source",
        "resources",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(
        [
            load("cloudwatch/message_metric_ALARM_cloudwatch_2021_metric_alarm_v1_lambda.json"),
            load(ANOMALY_OK),
            load(EB.format("composite_ALARM")),
            load(EB.format("metric_math_ALARM")),
        ]
    ),
    changes=st.dictionaries(_alarm_keys, _json, max_size=4),
)
def test_hostile_alarm_fields_never_crash(base: dict, changes: dict) -> None:
    """Any field of any type in any place: one alert, never an exception."""
    doc = dict(base, **changes)
    if (
        "detail" in doc
        and isinstance(doc["detail"], dict)
        and isinstance(changes.get("Trigger"), dict)
    ):
        doc["detail"] = dict(doc["detail"], configuration=changes["Trigger"])
    result = deliver(json.dumps(envelope(doc)))
    assert len(result.alerts) == 1
    alert = result.alerts[0]
    assert alert.action in set(Action)
    assert alert.fingerprint
    assert len(alert.title) < 1200


def test_parse_time_formats() -> None:
    assert alarms.parse_time("2021-11-10T02:45:55.640+0000") == datetime(
        2021, 11, 10, 2, 45, 55, 640000, tzinfo=UTC
    )
    assert alarms.parse_time("2019-10-02T17:04:40Z") == datetime(2019, 10, 2, 17, 4, 40, tzinfo=UTC)
    assert alarms.parse_time("2024-01-01T01:00:00+0100") == datetime(2024, 1, 1, tzinfo=UTC)
    assert alarms.parse_time("yesterday") is None
    assert alarms.parse_time(12) is None


def test_direct_post_dedupes_on_the_event_id() -> None:
    case = next(c for c in CASES if c.id == "eventbridge-metric-direct-post")
    alert = run_case(case).alerts[0]
    assert alert.dedupe_key == "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92"
    assert alert.payload == load(case.source)


def test_raw_delivery_dedupes_on_the_sns_message_id() -> None:
    case = next(c for c in CASES if c.id == "bare-alarm-sns-raw-message-delivery")
    alert = run_case(case).alerts[0]
    assert alert.dedupe_key == "2b5a7c3e-1111-5222-8333-444455556666"
    assert alert.payload == load(case.source)


def test_direct_post_is_refused_unless_enabled_and_authenticated() -> None:
    body = load_bytes(EB.format("metric_ALARM"))
    with pytest.raises(MalformedDelivery):
        deliver(body)
    enabled = {"accept_direct_posts": True, "shared_secret_sha256": SECRET_SHA256}
    with pytest.raises(ForbiddenDelivery):
        deliver(body, settings=enabled)
    with pytest.raises(ForbiddenDelivery):
        deliver(body, settings=enabled, headers={"x-alertgate-key": "wrong"})
    assert deliver(body, settings=enabled, headers={"x-alertgate-key": SECRET}).alerts


@pytest.fixture
def aws_certs() -> Iterator[None]:
    """Trust the real (expired) AWS certificates of the fixtures, from a local folder."""
    plugins().configure(environ={"ALERTGATE_SNS_CERT_DIR": str(AWS_FIXTURES / "certs")})
    yield
    plugins().configure(environ={})


@pytest.mark.parametrize(("source", "arn"), [(SNS_METRIC, M_ARN), (SNS_COMPOSITE, C_ARN)])
def test_real_signed_alarm_verifies_and_triggers(aws_certs: None, source: str, arn: str) -> None:
    result = deliver(
        load_bytes(source), settings={"verify_signatures": True, "max_message_age_seconds": 0}
    )
    assert [(a.action, a.fingerprint) for a in result.alerts] == [(Action.TRIGGER, arn)]
    # a verified notification proves the subscription is confirmed
    assert result.state_updates["sns"]["status"] == "confirmed"


def test_tampered_alarm_is_forbidden(aws_certs: None) -> None:
    doc = load(SNS_METRIC)
    doc["Message"] = doc["Message"].replace('"NewStateValue":"ALARM"', '"NewStateValue":"OK"')
    with pytest.raises(ForbiddenDelivery) as exc:
        deliver(json.dumps(doc), settings={"verify_signatures": True, "max_message_age_seconds": 0})
    assert exc.value.code == "signature_invalid"


def test_subscription_confirmation_yields_no_alert() -> None:
    result = deliver(load_bytes("sns/exawssns_2016_subscriptionconfirmation_v1.json"))
    assert result.alerts == []
    assert result.response is not None
    assert result.state_updates["sns"]["status"] == "pending"


ACCOUNT_GROUPING = """
from alertgate import hookimpl


@hookimpl
def alertgate_fingerprint(integration_type, alert):
    if integration_type == "aws_cloudwatch" and alert.kind == "cloudwatch_alarm":
        return "account:" + alert.attributes["account"]


@hookimpl
def alertgate_classify(integration_type, alert):
    if alert.attributes.get("state") == "INSUFFICIENT_DATA":
        return "resolve"
"""


def test_third_party_plugin_regroups_and_reclassifies_cloudwatch(install_plugin: Any) -> None:
    """Grouping and resolve detection of the built-in type change without forking it."""
    install_plugin("cw_account_grouping", ACCOUNT_GROUPING)
    p = load_plugins(disabled=())
    settings = p.validate_settings("aws_cloudwatch", OFFLINE)
    context = ParseContext(integration_id=1, integration_type="aws_cloudwatch", settings=settings)

    def parse(doc: dict[str, Any]) -> Alert:
        body = json.dumps(envelope(doc)).encode()
        return p.parse(context, InboundRequest(body=body, headers={})).alerts[0]

    base = load("cloudwatch/message_metric_ALARM_cloudwatch_2021_metric_alarm_v1_lambda.json")
    other = load(P99)
    assert parse(base).fingerprint == "account:427809481713"
    assert parse(dict(other, NewStateValue="ALARM")).fingerprint == "account:444455556666"
    assert parse(dict(base, NewStateValue="INSUFFICIENT_DATA")).action == Action.RESOLVE
    # what the override leaves alone still comes from the built-in
    assert parse(base).action == Action.TRIGGER
    assert parse(dict(base, NewStateValue="OK")).action == Action.RESOLVE


def test_guide_links_resolve() -> None:
    doc_path = AWS_FIXTURES.parents[2] / "docs" / "integrations" / "aws-cloudwatch.md"
    text = doc_path.read_text()
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    assert targets
    for target in targets:
        if not target.startswith("http"):
            assert (doc_path.parent / target).resolve().is_file(), target


@pytest.mark.parametrize("value", ["Infinity", "NaN", "1e999", "-Infinity", 10**400, "x" * 100])
def test_non_finite_numbers_are_ignored(value: Any) -> None:
    doc = load("cloudwatch/message_metric_ALARM_cloudwatch_2021_metric_alarm_v1_lambda.json")
    trigger = dict(doc["Trigger"], EvaluationPeriods=value, Period=value, Threshold=value)
    # json.dumps writes float('inf') as Infinity, which json.loads (and so SNS input) accepts
    text = json.dumps(dict(doc, Trigger=trigger)).replace('"Infinity"', "Infinity")
    text = text.replace('"NaN"', "NaN").replace('"-Infinity"', "-Infinity")
    alert = deliver(json.dumps(envelope(text))).alerts[0]
    assert alert.action == Action.TRIGGER
    assert alert.attributes["threshold"] is None
    assert alert.attributes["evaluation_periods"] is None


_inner_keys = st.sampled_from(
    [
        "MetricName",
        "Namespace",
        "Dimensions",
        "Statistic",
        "ExtendedStatistic",
        "Unit",
        "Period",
        "EvaluationPeriods",
        "ComparisonOperator",
        "Threshold",
        "ThresholdMetricId",
        "TreatMissingData",
        "Metrics",
        "metrics",
        "thresholdMetricId",
        "alarmRule",
        "description",
        "state",
        "previousState",
        "configuration",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(
        [
            load("cloudwatch/message_metric_math_ALARM_awsdocs_format.json"),
            load(ANOMALY_OK),
            load(EB.format("anomaly_detection_ALARM")),
            load(EB.format("composite_ALARM")),
        ]
    ),
    changes=st.dictionaries(_inner_keys, _json, max_size=5),
)
def test_hostile_nested_fields_never_crash(base: dict, changes: dict) -> None:
    """The same, one level down: inside ``Trigger`` and the event's ``detail``."""
    if "detail" in base:
        doc = dict(base, detail={**base["detail"], **changes})
        doc["detail"]["configuration"] = {**base["detail"]["configuration"], **changes}
    else:
        doc = dict(base, Trigger={**base["Trigger"], **changes})
    result = deliver(json.dumps(envelope(doc)))
    assert len(result.alerts) == 1
    assert result.alerts[0].fingerprint.startswith("arn:")

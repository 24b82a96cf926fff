"""The story ``alertgate demo`` tells with an AWS CloudTrail integration (``alertgate_demo``).

A CloudWatch alarm on a CloudTrail metric filter (the setup guide's path) goes ALARM, ALARM
again, is redelivered by SNS, then OK. Every delivery is signed by a local demo certificate
written to the run's folder; the demo server trusts that folder explicitly through
``ALERTGATE_SNS_CERT_DIR`` in its plugin context (never this process's environment).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from alertgate.models import DemoDelivery, DemoStory, SampleDelivery
from alertgate.plugins.aws_sns.settings import CERT_DIR_ENV
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.plugins.aws_sns.state import STATE_KEY

ACCOUNT = "123456789012"
REGION = "us-east-1"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:alertgate-demo-cloudtrail"
ALARM_NAME = "CloudTrail-UnauthorizedAPICalls"


def alarm_message(
    state: str,
    previous: str,
    changed_at: datetime,
    *,
    name: str = ALARM_NAME,
    metric: str = "UnauthorizedAttemptCount",
) -> str:
    """A CloudWatch alarm notification on a CloudTrail metric filter (the guide's setup),
    ALARM or OK, as CloudWatch publishes it to SNS (also used by the tests)."""
    reasons = {
        "ALARM": "Threshold Crossed: 1 out of the last 1 datapoints [3.0 ({t})] was greater "
        "than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM "
        "transition).",
        "OK": "Threshold Crossed: 1 out of the last 1 datapoints [0.0 ({t})] was not greater "
        "than or equal to the threshold (1.0) (minimum 1 datapoint for ALARM -> OK "
        "transition).",
    }
    doc = {
        "AlarmName": name,
        "AlarmDescription": "Unauthorized API calls recorded by CloudTrail",
        "AWSAccountId": ACCOUNT,
        "AlarmConfigurationUpdatedTimestamp": "2026-01-05T09:12:44.012+0000",
        "NewStateValue": state,
        "NewStateReason": reasons[state].format(t=changed_at.strftime("%d/%m/%y %H:%M:%S")),
        "StateChangeTime": changed_at.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{changed_at.microsecond // 1000:03d}+0000",
        "Region": "US East (N. Virginia)",
        "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}",
        "OldStateValue": previous,
        "OKActions": [TOPIC_ARN],
        "AlarmActions": [TOPIC_ARN],
        "InsufficientDataActions": [],
        "Trigger": {
            "MetricName": metric,
            "Namespace": "CloudTrailMetrics",
            "StatisticType": "Statistic",
            "Statistic": "SUM",
            "Unit": None,
            "Dimensions": [],
            "Period": 300,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Threshold": 1.0,
            "TreatMissingData": "notBreaching",
            "EvaluateLowSampleCountPercentile": "",
        },
    }
    return json.dumps(doc, indent=2)


def demo_story(workdir: Path, now: datetime) -> DemoStory:
    """Sign the four deliveries with a new demo certificate in ``workdir/sns-certs``."""
    cert_dir = workdir / "sns-certs"
    signer = SnsSigner(cert_dir, name="alertgate-demo", region=REGION)
    first = now - timedelta(minutes=6)
    docs = [
        ("ALARM", "INSUFFICIENT_DATA", first),
        ("ALARM", "ALARM", first + timedelta(minutes=2)),
        ("OK", "ALARM", first + timedelta(minutes=5)),
    ]
    notes = []
    for state, previous, changed_at in docs:
        subject = f'{state}: "{ALARM_NAME}" in US East (N. Virginia)'
        notes.append(
            signer.notification(
                alarm_message(state, previous, changed_at),
                topic_arn=TOPIC_ARN,
                subject=subject,
                timestamp=now,
            )
        )
    alarm, repeat, ok = notes
    return DemoStory(
        integration_type="aws_cloudtrail",
        integration_name="AWS CloudTrail (demo)",
        intro=f"Sending signed SNS notifications of the CloudWatch alarm {ALARM_NAME!r} "
        "(a CloudTrail metric filter):",
        deliveries=[
            DemoDelivery("ALARM", signer.body(alarm), signer.headers(alarm), "opened"),
            DemoDelivery(
                "ALARM again, new message", signer.body(repeat), signer.headers(repeat), "attached"
            ),
            DemoDelivery(
                "ALARM redelivered by SNS", signer.body(alarm), signer.headers(alarm), "duplicate"
            ),
            DemoDelivery("OK", signer.body(ok), signer.headers(ok), "resolved"),
        ],
        environ={CERT_DIR_ENV: str(cert_dir)},
        trust=f"the demo SNS certificate in {CERT_DIR_ENV}={cert_dir}",
    )


TEST_ALARM_NAME = "alertgate-test-alarm"


def _test_topic(settings: BaseModel, state: Mapping[str, Any]) -> str:
    # Send from the topic the integration accepts: pinned, last seen, or first allowed.
    sns = state.get(STATE_KEY)
    for candidate in (
        *((sns.get("pinned_topic_arn"), sns.get("topic_arn")) if isinstance(sns, Mapping) else ()),
        *(getattr(settings, "allowed_topic_arns", None) or ()),
    ):
        if isinstance(candidate, str) and candidate.count(":") == 5:
            return candidate
    return TOPIC_ARN


def test_delivery(
    settings: BaseModel, state: Mapping[str, Any], workdir: Path, now: datetime
) -> SampleDelivery:
    """A CloudWatch alarm going to ALARM, signed by a throwaway SNS certificate that only
    the test's plugin context trusts (``alertgate integrations test``)."""
    topic = _test_topic(settings, state)
    region = topic.split(":")[3]
    cert_dir = workdir / "sns-certs"
    signer = SnsSigner(cert_dir, name="alertgate-test", region=region)
    doc = signer.notification(
        alarm_message("ALARM", "OK", now, name=TEST_ALARM_NAME),
        topic_arn=topic,
        timestamp=now,
    )
    return SampleDelivery(signer.body(doc), signer.headers(doc), {CERT_DIR_ENV: str(cert_dir)})

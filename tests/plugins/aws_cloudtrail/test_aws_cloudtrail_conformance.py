"""aws_cloudtrail keeps the plugin contract (alertgate.testing's check): its CIS alarms on
CloudTrail metric filters open on ALARM and resolve on OK, signed by the kit's SNS signer."""

from __future__ import annotations

import json

from alertgate.plugins.aws_sns.testing import TestSigner
from alertgate.testing import check_integration_type
from tests.plugins.aws_cloudtrail.test_cloudtrail_alarms import alarm_message
from tests.plugins.aws_cloudwatch.test_aws_cloudwatch_conformance import GARBAGE

METRICS = ["root_usage_metric", "unauthorized_api_calls_metric", "iam_changes_metric"]


def alarm(metric: str, state: str, minute: int) -> str:
    doc = alarm_message(metric, state, name=f"cis-{metric}")
    doc["StateChangeTime"] = f"2026-03-01T12:{minute:02d}:00.000+0000"
    return json.dumps(doc)


def test_conformance_of_cis_alarms(sns_signer: TestSigner) -> None:
    trigger = [sns_signer.delivery(alarm(metric, "ALARM", 0))[0] for metric in METRICS]
    resolve = [sns_signer.delivery(alarm(metric, "OK", 5))[0] for metric in METRICS]
    _, headers = sns_signer.delivery("headers only")
    check_integration_type(
        "aws_cloudtrail", trigger=trigger, resolve=resolve, garbage=GARBAGE, headers=headers
    )

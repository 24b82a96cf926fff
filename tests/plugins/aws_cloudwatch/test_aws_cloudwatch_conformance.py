"""aws_cloudwatch keeps the plugin contract, checked by alertgate.testing with real alarms.

The real alarm messages of tests/fixtures/aws (composite, metric-math, anomaly-detection,
plain metric) are published in envelopes signed by the kit's SNS signer; each ALARM must
open an incident its OK resolves, and garbage must get a 4xx with a code.
"""

from __future__ import annotations

import json
from typing import Any

from alertgate.plugins.aws_sns.testing import TestSigner
from alertgate.testing import check_integration_type
from tests.aws_cases import load

SOURCES = [
    "cloudwatch/message_metric_ALARM_cloudwatch_2021_metric_alarm_v1_lambda.json",
    "cloudwatch/message_composite_ALARM_cloudwatch_2021_composite_alarm_v1_lambda.json",
    "cloudwatch/message_metric_math_ALARM_awsdocs_format.json",
    "cloudwatch/message_anomaly_detection_ALARM_awsdocs_format.json",
]
GARBAGE = [b"", b"{", b"[]", b'{"Type": "Notification"}', "\u2603".encode(), b"\xff" * 64]


def state(alarm: dict[str, Any], new: str, minute: int) -> str:
    doc = dict(alarm, NewStateValue=new, OldStateValue="OK" if new == "ALARM" else "ALARM")
    doc["StateChangeTime"] = f"2026-03-01T12:{minute:02d}:00.000+0000"
    return json.dumps(doc)


def test_conformance_with_real_alarms(sns_signer: TestSigner) -> None:
    alarms = [load(source) for source in SOURCES]
    trigger = [sns_signer.delivery(state(alarm, "ALARM", 0))[0] for alarm in alarms]
    resolve = [sns_signer.delivery(state(alarm, "OK", 5))[0] for alarm in alarms]
    _, headers = sns_signer.delivery("headers only")
    check_integration_type(
        "aws_cloudwatch", trigger=trigger, resolve=resolve, garbage=GARBAGE, headers=headers
    )

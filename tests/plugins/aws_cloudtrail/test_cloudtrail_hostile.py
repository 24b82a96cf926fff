"""Hostile or odd messages: a clear 400 or an ``info`` alert, never an unhandled error."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertgate.errors import MalformedDelivery
from alertgate.plugins.aws_cloudtrail import alerts_for
from alertgate.plugins.aws_cloudtrail.events import MAX_RECORDS
from alertgate.plugins.aws_cloudtrail.settings import CloudTrailSettings
from alertgate.plugins.aws_sns import SnsNotification
from tests.plugins.aws_cloudtrail.test_cloudtrail_events import eventbridge, records

SETTINGS = CloudTrailSettings()


def deliver(message: str) -> list[Any]:
    note = SnsNotification(message, None, None, None, datetime.now(UTC), None, kind="direct")
    return alerts_for(note, SETTINGS).alerts


@pytest.mark.parametrize(
    "message",
    [
        '{"a":' * 100_000 + "1" + "}" * 100_000,
        "[" * 100_000 + "]" * 100_000,
        '{"Records":' + "[" * 70 + "]" * 70 + "}",
        json.dumps({"Records": [{"nope": 1}]}),
        json.dumps([1, 2, 3]),
        json.dumps(
            {"Records": [records("awsdocs_console_signin_example_02.json")[0]] * (MAX_RECORDS + 1)}
        ),
    ],
    ids=["deep-object", "deep-array", "deep-records", "not-records", "array", "too-many"],
)
def test_refused_with_400(message: str) -> None:
    with pytest.raises(MalformedDelivery):
        deliver(message)


@pytest.mark.parametrize(
    "message",
    ["", "hello", "{", "null", "{}", '{"detail-type": "AWS API Call via CloudTrail"}', '"x"'],
)
def test_odd_messages_are_info(message: str) -> None:
    (alert,) = deliver(message)
    assert alert.kind == "sns_message"
    assert alert.severity == "info"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = st.sampled_from(
    [
        "eventName",
        "eventSource",
        "eventTime",
        "eventID",
        "errorCode",
        "userIdentity",
        "recipientAccountId",
        "additionalEventData",
        "responseElements",
        "requestParameters",
        "readOnly",
        "awsRegion",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(FIELDS, JSON, max_size=5), wrap=st.booleans())
def test_mangled_records_never_crash(changes: dict[str, Any], wrap: bool) -> None:
    record = dict(records("stratus_aws.defense-evasion.organizations-leave.json")[1])
    record.update(changes)
    doc: Any = eventbridge_safe(record) if wrap else record
    try:
        alerts = deliver(json.dumps(doc))
    except MalformedDelivery:
        return
    for alert in alerts:
        assert alert.title
        assert alert.source_time.tzinfo is not None
        json.dumps(alert.attributes)


def eventbridge_safe(record: dict[str, Any]) -> dict[str, Any]:
    source = record.get("eventSource")
    if not isinstance(source, str):
        record = {**record, "eventSource": "x.amazonaws.com"}
    if not isinstance(record.get("eventTime"), str):
        record = {**record, "eventTime": "2024-01-01T00:00:00Z"}
    if not isinstance(record.get("awsRegion"), str):
        record = {**record, "awsRegion": "us-east-1"}
    return eventbridge(record)

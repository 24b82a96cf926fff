"""Hostile content in verified deliveries: whatever JSON a GuardDuty, Security Hub or AWS
Health event carries in place of its fields, parsing ends in alerts or a 4xx rejection,
never another exception (which the server would answer with a 5xx)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from alertgate.errors import DeliveryRejected
from alertgate.models import InboundRequest, ParseContext
from alertgate.registry import load_plugins
from tests.eventbridge_support import event, fixture

PLUGINS = load_plugins()
SECRET = "s" * 32
SETTINGS = {
    "accept_direct_posts": True,
    "shared_secret_sha256": hashlib.sha256(SECRET.encode()).hexdigest(),
}
BASES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "aws_guardduty": (
        event(
            "aws.guardduty",
            fixture("guardduty/awssamples_guardduty_ec2_finding.json"),
            event_id="h",
        ),
        ["id", "severity", "service", "resource", "updatedAt", "accountId", "type", "title"],
    ),
    "aws_securityhub": (
        fixture("securityhub/asr_cis_1.4_imported_event.json"),
        ["findings"],
    ),
    "aws_health": (
        fixture("health/crafted_scheduled_change_org_view.json"),
        ["eventArn", "affectedEntities", "statusCode", "lastUpdatedTime", "eventDescription"],
    ),
}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FINDING_KEYS = [
    "Id",
    "Compliance",
    "Workflow",
    "RecordState",
    "Severity",
    "Resources",
    "ProductFields",
    "ProductArn",
    "Types",
    "UpdatedAt",
    "Remediation",
]


def parse(slug: str, doc: Any) -> None:
    context = ParseContext(1, slug, PLUGINS.validate_settings(slug, SETTINGS))
    body = json.dumps(doc, allow_nan=True).encode()
    request = InboundRequest(body, {"x-alertgate-key": SECRET}, "application/json")
    try:
        result = PLUGINS.parse(context, request)
    except DeliveryRejected:
        return
    for alert in result.alerts:
        assert alert.fingerprint and alert.action is not None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    slug=st.sampled_from(sorted(BASES)),
    key=st.integers(min_value=0, max_value=20),
    value=JSON,
    envelope_value=JSON,
)
def test_any_field_value_parses_or_is_refused(
    slug: str, key: int, value: Any, envelope_value: Any
) -> None:
    doc, keys = BASES[slug]
    doc = json.loads(json.dumps(doc))
    doc["detail"][keys[key % len(keys)]] = value
    parse(slug, doc)
    doc = json.loads(json.dumps(BASES[slug][0]))
    doc[["id", "account", "region", "time", "resources"][key % 5]] = envelope_value
    parse(slug, doc)


@settings(max_examples=150, deadline=None)
@given(key=st.sampled_from(FINDING_KEYS), value=JSON)
@example(key="Compliance", value={"AssociatedStandards": 1})
@example(key="Severity", value={"Normalized": float("nan")})
def test_any_security_hub_finding_field_parses_or_is_refused(key: str, value: Any) -> None:
    doc = json.loads(json.dumps(BASES["aws_securityhub"][0]))
    doc["detail"]["findings"][0][key] = value
    parse("aws_securityhub", doc)

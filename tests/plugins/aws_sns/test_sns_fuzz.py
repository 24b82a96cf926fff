"""Hostile input: whatever the body, receive() either accepts or raises a DeliveryRejected
(a clear 4xx/503 with a code) and makes no network call for non-SNS hosts."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertgate.errors import DeliveryRejected
from alertgate.plugins.aws_sns import SnsNotification, SnsRuntime, SnsSettings, receive
from tests.sns_support import SNS_FIXTURES, context, request

RUNTIME = SnsRuntime.create(endpoint_url="http://127.0.0.1:9", timeout=0.5)
SETTINGS = SnsSettings(max_message_age_seconds=0)
TEMPLATE = json.loads((SNS_FIXTURES / "awsphp_2022_notification_v2_subject.json").read_text())

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def _outcome(body: bytes) -> str:
    try:
        result = receive(request(body), context(SETTINGS), SETTINGS, runtime=RUNTIME)
    except DeliveryRejected as exc:
        assert exc.status_code in (400, 403, 413, 503)
        assert exc.code and exc.message
        return exc.code
    assert not isinstance(result, SnsNotification), "nothing unsigned may be accepted"
    return "handled"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes(body: bytes) -> None:
    _outcome(body)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_random_json(doc: object) -> None:
    _outcome(json.dumps(doc).encode())


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(TEMPLATE)),
    json_values,
)
def test_envelope_with_one_field_replaced(name: str, value: object) -> None:
    doc = {**TEMPLATE, name: value}
    if doc["SigningCertURL"] == TEMPLATE["SigningCertURL"]:
        doc["SigningCertURL"] = "https://evil.example/SimpleNotificationService-x.pem"
    code = _outcome(json.dumps(doc).encode())
    assert code != "handled"

"""Every verified message is stored on every backend, or refused with a 4xx that says why.

Hypothesis sends signed SNS messages with hostile content (NUL characters, unpaired
surrogates, control characters, calendar-edge timestamps, long text) to a live server on
SQLite and on PostgreSQL: no answer is a 5xx, and every accepted alert is in the database.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from alertgate.plugins.aws_cloudtrail.demo import TOPIC_ARN, alarm_message
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.plugins.aws_sns.testing import sns_headers
from alertgate.server import admin
from alertgate.settings import get_settings
from alertgate.storage.database import make_sessionmaker
from alertgate.storage.schema import Alert
from tests.server_helpers import Live, live_server

HOSTILE = st.text(
    alphabet=st.characters(codec=None, categories=("L", "N", "P", "S", "Z", "Cc", "Cs", "Co")),
    max_size=40,
) | st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfffy", "\ud83d", "\ufffe", "\x7f\x1b[0m"])
EDGE_TIMES = st.sampled_from(
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00.000+0000",
        "9999-12-31T23:59:59.999+0000",
        "1970-01-01T00:00:00Z",
        "2026-13-45T00:00:00Z",
        "",
    ]
)
EXAMPLES = int(os.environ.get("ALERTGATE_FUZZ_EXAMPLES", "60"))
FIELDS = ("AlarmName", "AlarmDescription", "NewStateReason", "AWSAccountId", "Region")


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> Iterator[Live]:
    monkeypatch.setenv("ALERTGATE_SNS_CERT_DIR", str(tmp_path / "certs"))
    get_settings.cache_clear()
    with live_server(tmp_path, db_url) as server:
        yield server
    get_settings.cache_clear()


def _integration(live: Live, slug: str) -> tuple[int, str]:
    with make_sessionmaker(live.engine).begin() as s:
        org = admin.ensure_organization(s)
        service = admin.create_service(s, org, f"fuzz-{uuid.uuid4().hex[:8]}")
        settings = {"max_message_age_seconds": 0}
        keyed = admin.create_integration(
            s, live.app.state.alertgate.plugins, service, slug, settings=settings
        )
        return keyed.integration.id, f"{live.base_url}/integrations/{keyed.key}"


def _post(url: str, doc: dict[str, Any] | str) -> httpx.Response:
    body = doc if isinstance(doc, str) else json.dumps(doc)
    # Only the content type: a hostile MessageId cannot be sent as a header anyway.
    headers = {"content-type": sns_headers(doc)["content-type"]} if isinstance(doc, dict) else {}
    return httpx.post(
        url, content=body.encode("utf-8", "surrogatepass"), headers=headers, timeout=60
    )


def _stored(live: Live, alert_ids: list[int]) -> set[int]:
    with make_sessionmaker(live.engine)() as s:
        return set(s.scalars(select(Alert.id).where(Alert.id.in_(alert_ids))).all())


def test_signed_hostile_messages_are_stored_or_refused_never_5xx(
    live: Live, tmp_path: Path
) -> None:
    signer = SnsSigner(tmp_path / "certs", name=f"fuzz-{uuid.uuid4().hex}")
    _, alarm_url = _integration(live, "aws_cloudwatch")
    _, generic_url = _integration(live, "aws_sns")
    accepted: list[int] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        field=st.sampled_from(FIELDS),
        value=HOSTILE,
        when=st.none() | EDGE_TIMES,
        message_id=st.none() | HOSTILE,
        subject=st.none() | HOSTILE,
        generic=st.booleans(),
    )
    def check(
        field: str,
        value: str,
        when: str | None,
        message_id: str | None,
        subject: str | None,
        generic: bool,
    ) -> None:
        alarm = json.loads(alarm_message("ALARM", "OK", datetime.now(UTC)))
        alarm[field] = value
        if when is not None:
            alarm["StateChangeTime"] = when
        message = value if generic else json.dumps(alarm)
        try:
            doc = signer.notification(
                message, topic_arn=TOPIC_ARN, subject=subject, message_id=message_id or None
            )
        except UnicodeEncodeError:
            return  # a lone surrogate cannot be signed (SNS could not send it either)
        response = _post(generic_url if generic else alarm_url, doc)
        assert response.status_code < 500, response.text
        if response.status_code == 200:
            ids = [o["alert_id"] for o in response.json()["outcomes"] if o["alert_id"]]
            accepted.extend(ids)
            assert _stored(live, ids) == set(ids), "an accepted alert is missing"
        else:
            assert response.json()["code"], response.text

    check()
    assert accepted, "nothing was accepted: the test would prove nothing"


@pytest.mark.parametrize(
    "body",
    [
        '{"Type": "Notification", "TopicArn": "\\ud800", "Message": "x"}',
        '{"Type": "Notification\\ud800", "TopicArn": "a", "Message": "\\udfff"}',
        '{"Message": "\\ud800\\u0000", "Type": "Notification", '
        '"TopicArn": "arn:aws:sns:us-east-1:1:t", "MessageId": "\\ud800", '
        '"Timestamp": "0001-01-01T00:00:00+14:00", "SignatureVersion": "1", "Signature": "eA==", '
        '"SigningCertURL": "https://sns.us-east-1.amazonaws.com/x.pem"}',
        # Direct posts (no SNS envelope) of an alarm and of an EventBridge event.
        '{"AlarmName": "\\ud800", "NewStateValue": "ALARM", '
        '"StateChangeTime": "9999-12-31T23:59:59-14:00"}',
        '{"version": "0", "id": "\\udfff", "detail-type": "AWS API Call via CloudTrail", '
        '"source": "aws.signin", "time": "0001-01-01T00:00:00+14:00", "detail": {}}',
    ],
)
def test_unsigned_hostile_envelopes_are_4xx(live: Live, body: str) -> None:
    for slug in ("aws_cloudwatch", "aws_sns", "aws_cloudtrail"):
        _, url = _integration(live, slug)
        response = _post(url, body)
        assert 400 <= response.status_code < 500, (slug, response.text)


def test_nul_and_surrogates_are_stored_as_replacement_characters(
    live: Live, tmp_path: Path
) -> None:
    """The documented rule, the same on both backends: text columns get U+FFFD."""
    signer = SnsSigner(tmp_path / "certs", name=f"nul-{uuid.uuid4().hex}")
    _, url = _integration(live, "aws_cloudwatch")
    alarm = json.loads(alarm_message("ALARM", "OK", datetime.now(UTC)))
    alarm["AlarmName"] = "disk\x00full\ud800"
    doc = signer.notification(json.dumps(alarm), topic_arn=TOPIC_ARN, message_id="m\x00id")
    first = _post(url, doc)
    assert first.status_code == 200, first.text
    again = _post(url, doc)  # SNS redelivers: still recognised as the same message
    assert [o["outcome"] for o in again.json()["outcomes"]] == ["duplicate"]
    alert_id = first.json()["outcomes"][0]["alert_id"]
    with make_sessionmaker(live.engine)() as s:
        row = s.get(Alert, alert_id)
        assert row is not None
        assert "disk\ufffdfull\ufffd" in row.title
        assert row.dedupe_key == "m\ufffdid"
        assert row.payload["MessageId"] == "m\x00id"  # JSON keeps NUL, escaped

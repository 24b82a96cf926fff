"""aws_cloudtrail end to end below HTTP: signed SNS deliveries → plugins → engine → incidents.

Both paths on SQLite and PostgreSQL: CloudTrail events (EventBridge via SNS) group by
detection + account + principal and never resolve by themselves; alarms on CloudTrail
metric-filter metrics open on ALARM and resolve on OK.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from alertgate.engine import IngestEngine, Outcome
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.registry import load_plugins
from alertgate.storage.schema import Incident
from tests.db_fixtures import Seeded, SeedFn
from tests.plugins.aws_cloudtrail.test_cloudtrail_alarms import alarm_message
from tests.plugins.aws_cloudtrail.test_cloudtrail_events import eventbridge, records
from tests.sns_story import SnsStory

TOPIC = "arn:aws:sns:us-east-1:307578594326:alertgate-cloudtrail"
STOP = records("stratus_aws.defense-evasion.cloudtrail-stop.json")[0]


def event(record: dict[str, Any], minute: int, **changes: Any) -> str:
    """The record as a fresh CloudTrail event at 2026-03-01 12:<minute>."""
    doc = copy.deepcopy(record)
    doc["eventID"] = f"00000000-0000-0000-0000-{minute:012d}"
    doc["eventTime"] = f"2026-03-01T12:{minute:02d}:00Z"
    doc.update(changes)
    return json.dumps(eventbridge(doc))


class Story(SnsStory):
    def __init__(self, engine: IngestEngine, seeded: Seeded, signer: SnsSigner) -> None:
        super().__init__(engine, seeded, signer, "aws_cloudtrail", TOPIC)


@pytest.fixture
def story(
    db_engine: Engine, seed: SeedFn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Story]:
    signer = SnsSigner(tmp_path / "certs", name="cloudtrail-story")
    monkeypatch.setenv("ALERTGATE_SNS_CERT_DIR", str(signer.directory))
    engine = IngestEngine(db_engine)
    yield Story(engine, seed("security", type_="aws_cloudtrail"), signer)
    engine.close()


def incidents(db_engine: Engine) -> list[tuple[str, str, str, str]]:
    with Session(db_engine) as session:
        rows = session.execute(
            select(
                Incident.fingerprint, Incident.status, Incident.severity, Incident.title
            ).order_by(Incident.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_events_group_by_detection_account_principal(story: Story, db_engine: Engine) -> None:
    body, first = story.publish(event(STOP, 0))
    assert first == [Outcome.OPENED]
    assert story.post(body) == [Outcome.DUPLICATE]  # SNS redelivery
    # The same person tampers with CloudTrail again: same incident.
    assert story.publish(event(STOP, 5, eventName="DeleteTrail"))[1] == [Outcome.ATTACHED]
    # Someone else doing it is another incident.
    other = copy.deepcopy(STOP)
    other["userIdentity"]["arn"] = other["userIdentity"]["arn"].replace("christophe", "mallory")
    assert story.publish(event(other, 6))[1] == [Outcome.OPENED]
    # Routine, read-only activity changes nothing.
    read_only = records("stratus_aws.persistence.sts-federation-token.json")[1]
    assert story.publish(event(read_only, 7))[1] == [Outcome.INFO]
    account = STOP["recipientAccountId"]
    rows = incidents(db_engine)
    assert [(fp, status, severity) for fp, status, severity, _ in rows] == [
        (
            f"aws_cloudtrail:cloudtrail_changes:{account}:arn:aws:iam::{account}:user/christophe",
            "triggered",
            "critical",
        ),
        (
            f"aws_cloudtrail:cloudtrail_changes:{account}:arn:aws:iam::{account}:user/mallory",
            "triggered",
            "critical",
        ),
    ]
    assert rows[0][3] == "CloudTrail configuration changed: StopLogging by christophe"


def test_failed_root_sign_in_opens_two_incidents(story: Story, db_engine: Engine) -> None:
    record = records("awsdocs_console_signin_example_08.json")[0]
    body, outcomes = story.publish(event(record, 0))
    assert outcomes == [Outcome.OPENED, Outcome.OPENED]
    assert story.post(body) == [Outcome.DUPLICATE, Outcome.DUPLICATE]
    titles = sorted(title for *_, title in incidents(db_engine))
    assert titles == [
        "Console authentication failure: ConsoleLogin by root (failed)",
        "Root user activity: ConsoleLogin by root (failed)",
    ]


def test_cis_alarm_opens_and_ok_resolves(story: Story, db_engine: Engine) -> None:
    def alarm(state: str, minute: int) -> str:
        doc = alarm_message("root_usage_metric", state, name="cis-root-usage")
        doc["StateChangeTime"] = f"2026-03-01T12:{minute:02d}:00.000+0000"
        return json.dumps(doc)

    assert story.publish(alarm("ALARM", 0))[1] == [Outcome.OPENED]
    assert story.publish(alarm("ALARM", 5))[1] == [Outcome.ATTACHED]
    assert story.publish(alarm("OK", 10))[1] == [Outcome.RESOLVED]
    # older than the OK: joins the resolved incident, reopens nothing (issue 25)
    assert story.publish(alarm("ALARM", 8))[1] == [Outcome.LATE_ATTACHED]
    ((fingerprint, status, severity, title),) = incidents(db_engine)
    assert fingerprint.endswith(":alarm:cis-root-usage")
    assert (status, severity) == ("resolved", "critical")
    assert title == 'ALARM: "cis-root-usage" in us-east-1: Root user activity'


ACCOUNT_GROUPING = """
from alertgate import hookimpl


@hookimpl
def alertgate_fingerprint(integration_type, alert):
    if integration_type == "aws_cloudtrail":
        return "account:" + str(alert.attributes.get("account"))
    return None
"""


def test_third_party_plugin_groups_a_whole_account(
    install_plugin: Any, story: Story, db_engine: Engine
) -> None:
    """The design's example of changing a built-in without forking: one incident per account
    for every CloudTrail alarm and event, through a real entry point."""
    install_plugin("ct_account_grouping", ACCOUNT_GROUPING)
    story.plugins = load_plugins(disabled=())
    assert story.publish(event(STOP, 0))[1] == [Outcome.OPENED]
    backdoor = records("stratus_aws.persistence.iam-backdoor-role.json")[0]
    backdoor["recipientAccountId"] = STOP["recipientAccountId"]
    assert story.publish(event(backdoor, 1))[1] == [Outcome.ATTACHED]
    doc = alarm_message("RootAccountUsage", AWSAccountId=STOP["recipientAccountId"])
    doc.pop("AlarmArn")
    doc["StateChangeTime"] = "2026-03-01T12:02:00.000+0000"
    assert story.publish(json.dumps(doc))[1] == [Outcome.ATTACHED]
    ((fingerprint, status, _, _),) = incidents(db_engine)
    assert (fingerprint, status) == (f"account:{STOP['recipientAccountId']}", "triggered")


def test_quiet_period_resolves_event_incidents(
    db_engine: Engine, seed: SeedFn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events never resolve by themselves; with quiet_period_minutes the engine's sweep does."""
    from datetime import UTC, datetime

    signer = SnsSigner(tmp_path / "certs", name="cloudtrail-quiet")
    monkeypatch.setenv("ALERTGATE_SNS_CERT_DIR", str(signer.directory))
    engine = IngestEngine(db_engine)
    try:
        seeded = seed("security", type_="aws_cloudtrail", settings={"quiet_period_minutes": 30})
        story = Story(engine, seeded, signer)
        assert story.publish(event(STOP, 0))[1] == [Outcome.OPENED]
        assert story.publish(event(STOP, 10))[1] == [Outcome.ATTACHED]
        assert engine.sweep_quiet(datetime(2026, 3, 1, 12, 35, tzinfo=UTC)) == []
        (resolved,) = engine.sweep_quiet(datetime(2026, 3, 1, 12, 41, tzinfo=UTC))
        assert [status for _, status, _, _ in incidents(db_engine)] == ["resolved"]
        # The next event opens a new incident; the resolved one stays resolved.
        assert story.publish(event(STOP, 45))[1] == [Outcome.OPENED]
        assert resolved
    finally:
        engine.close()

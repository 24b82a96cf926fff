"""aws_health: published AWS Health events (aws/aws-health-tools, see SOURCE.md) and an
organizational-view scheduled change through ``alertgate parse``, and the event's life
(upcoming -> open -> closed) through the engine on SQLite and PostgreSQL."""

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
from alertgate.storage.schema import Incident
from tests.db_fixtures import SeedFn
from tests.eventbridge_support import envelope, fixture, parse_alerts, run_parse
from tests.sns_story import SnsStory

TOPIC = "arn:aws:sns:eu-west-1:111122223333:alertgate-health"
DEGRADED = "health/awshealthtools_ec2_instance_store_degraded.json"
TEST_ALERT = "health/awshealthtools_sms_notifier_test_event.json"
RETIREMENT = "health/crafted_scheduled_change_org_view.json"
RETIREMENT_ARN = (
    "arn:aws:health:eu-west-1::event/EC2/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED/"
    "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED_0123abcd"
)


def test_published_issue_event(tmp_path: Path) -> None:
    [alert] = parse_alerts("aws_health", fixture(DEGRADED), tmp_path)
    assert alert["action"] == "trigger"
    assert alert["severity"] == "error"
    assert alert["fingerprint"] == (
        "aws_health:123456789012:arn:aws:health:us-west-2::event/"
        "AWS_EC2_INSTANCE_STORE_DRIVE_PERFORMANCE_DEGRADED_90353408594353980:i-abcd1111"
    )
    assert alert["title"] == (
        "AWS Health issue: AWS_EC2_INSTANCE_STORE_DRIVE_PERFORMANCE_DEGRADED on i-abcd1111 "
        "(123456789012, us-west-2)"
    )
    attrs = alert["attributes"]
    assert (attrs["service"], attrs["status"], attrs["organizational"]) == ("EC2", "open", False)
    assert attrs["start_time"] == "Sat, 05 Jun 2016 15:10:09 GMT"
    assert alert["links"]["event"].startswith(
        "https://health.aws.amazon.com/health/home#/account/event-log?eventID=arn%3Aaws%3Ahealth"
    )
    assert "A description of the event will be provided here" in alert["summary"]
    [test_alert] = parse_alerts("aws_health", envelope(fixture(TEST_ALERT)), tmp_path)
    assert test_alert["fingerprint"] == (
        "aws_health:123456789012:arn:aws:health:us-east-1::event/AWS_HEALTH_TEST_ALERT"
    )
    assert test_alert["attributes"]["entity"] is None


def test_organizational_view_scheduled_change(tmp_path: Path) -> None:
    alerts = parse_alerts("aws_health", fixture(RETIREMENT), tmp_path)
    assert [a["fingerprint"] for a in alerts] == [
        f"aws_health:222233334444:{RETIREMENT_ARN}:i-0a1b2c3d4e5f60718",
        f"aws_health:222233334444:{RETIREMENT_ARN}:i-0f1e2d3c4b5a69788",
    ]
    assert {a["severity"] for a in alerts} == {"warning"}
    assert alerts[0]["title"] == (
        "AWS Health scheduledChange: upcoming: AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED on "
        "i-0a1b2c3d4e5f60718 (222233334444, eu-west-1)"
    )
    assert alerts[0]["attributes"]["organizational"] is True
    assert "#/organization/event-log" in alerts[0]["links"]["event"]
    assert alerts[0]["source_time"] == "2026-02-02T09:00:00+00:00"
    custom = parse_alerts(
        "aws_health", fixture(RETIREMENT), tmp_path, 'scheduled_change_severity="critical"'
    )
    assert {a["severity"] for a in custom} == {"critical"}


def test_closed_resolves_and_no_arn_is_refused(tmp_path: Path) -> None:
    doc = fixture(DEGRADED)
    doc["detail"]["statusCode"] = "closed"
    [alert] = parse_alerts("aws_health", doc, tmp_path)
    assert alert["action"] == "resolve"
    del doc["detail"]["eventArn"]
    result = run_parse("aws_health", doc, tmp_path)
    assert result.exit_code == 1
    assert json.loads(result.output)["rejected"][0]["code"] == "invalid_event"


# -- through the engine -------------------------------------------------------------------


def retirement(status: str, minute: int, entities: list[str] | None = None) -> str:
    doc: dict[str, Any] = copy.deepcopy(fixture(RETIREMENT))
    doc["id"] = f"health-{status}-{minute}"
    detail = doc["detail"]
    detail["statusCode"] = status
    detail["lastUpdatedTime"] = f"Mon, 16 Feb 2026 10:{minute:02d}:00 GMT"
    if entities is not None:
        detail["affectedEntities"] = [{"entityValue": e} for e in entities]
    return json.dumps(doc)


@pytest.fixture
def story(
    db_engine: Engine, seed: SeedFn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SnsStory]:
    signer = SnsSigner(tmp_path / "certs", name="health-story")
    monkeypatch.setenv("ALERTGATE_SNS_CERT_DIR", str(signer.directory))
    engine = IngestEngine(db_engine)
    yield SnsStory(engine, seed("platform", type_="aws_health"), signer, "aws_health", TOPIC)
    engine.close()


def test_scheduled_change_lifecycle_per_entity(story: SnsStory, db_engine: Engine) -> None:
    body, first = story.publish(retirement("upcoming", 0))
    assert first == [Outcome.OPENED, Outcome.OPENED]
    assert story.post(body) == [Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert story.publish(retirement("open", 5))[1] == [Outcome.ATTACHED, Outcome.ATTACHED]
    # One instance's retirement is done first, then the event closes for the other.
    assert story.publish(retirement("closed", 10, ["i-0a1b2c3d4e5f60718"]))[1] == [Outcome.RESOLVED]
    # older than the first one's close: joins its resolved incident, reopens nothing (issue 25)
    assert story.publish(retirement("open", 8))[1] == [Outcome.LATE_ATTACHED, Outcome.ATTACHED]
    assert story.publish(retirement("closed", 20, ["i-0f1e2d3c4b5a69788"]))[1] == [Outcome.RESOLVED]
    with Session(db_engine) as session:
        rows = session.execute(
            select(Incident.status, Incident.severity, Incident.alert_count).order_by(Incident.id)
        ).all()
    assert [tuple(r) for r in rows] == [("resolved", "warning", 3), ("resolved", "warning", 3)]

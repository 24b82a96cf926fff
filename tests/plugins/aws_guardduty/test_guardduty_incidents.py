"""aws_guardduty end to end below HTTP on SQLite and PostgreSQL: signed SNS deliveries of
GuardDuty finding events -> plugins -> engine -> incidents.

A finding is one incident: later versions (higher ``service.count``, later ``updatedAt``)
join it and raise its severity, a redelivery is stored once, an archived version resolves
it, and an older version arriving after that changes nothing. The same finding imported by
Security Hub joins the same incident when both integrations are on one service.
"""

from __future__ import annotations

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
from tests.eventbridge_support import event, fixture
from tests.sns_story import SnsStory

TOPIC = "arn:aws:sns:us-east-1:123456789012:alertgate-security"
EC2 = "guardduty/awssamples_guardduty_ec2_finding.json"


def version(
    minute: int,
    *,
    count: int = 1,
    severity: float = 5.0,
    archived: bool = False,
    region: str = "us-east-1",
    finding_id: str = "16afba5c5c43e07c9e3e5e2e544e95df",
) -> str:
    """One version of the published EC2 finding, as GuardDuty's event at 12:<minute>."""
    finding = fixture(EC2)
    finding.update(id=finding_id, region=region, severity=severity)
    finding["updatedAt"] = f"2026-03-01T12:{minute:02d}:00.000Z"
    finding["service"].update(count=count, archived=archived)
    doc = event("aws.guardduty", finding, event_id=f"gd-{region}-{minute}", region=region)
    return json.dumps(doc)


@pytest.fixture
def signer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SnsSigner:
    signer = SnsSigner(tmp_path / "certs", name="guardduty-story")
    monkeypatch.setenv("ALERTGATE_SNS_CERT_DIR", str(signer.directory))
    return signer


@pytest.fixture
def engine(db_engine: Engine) -> Iterator[IngestEngine]:
    engine = IngestEngine(db_engine)
    yield engine
    engine.close()


def incidents(db_engine: Engine) -> list[tuple[Any, ...]]:
    with Session(db_engine) as session:
        rows = session.execute(
            select(
                Incident.fingerprint, Incident.status, Incident.severity, Incident.alert_count
            ).order_by(Incident.id)
        ).all()
    return [tuple(r) for r in rows]


def test_one_incident_per_finding_updates_join_archive_resolves(
    engine: IngestEngine, seed: SeedFn, signer: SnsSigner, db_engine: Engine
) -> None:
    story = SnsStory(
        engine, seed("security", type_="aws_guardduty"), signer, "aws_guardduty", TOPIC
    )
    body, first = story.publish(version(0))
    assert first == [Outcome.OPENED]
    assert story.post(body) == [Outcome.DUPLICATE]  # SNS redelivery
    # GuardDuty's aggregated update: seen 3 times, now high severity.
    assert story.publish(version(5, count=3, severity=7.5))[1] == [Outcome.ATTACHED]
    # The same finding type in another region is another finding.
    other = "0" * 32
    assert story.publish(version(6, region="eu-west-1", finding_id=other))[1] == [Outcome.OPENED]
    assert story.publish(version(10, count=3, severity=7.5, archived=True))[1] == [Outcome.RESOLVED]
    # An update older than the archive arrives late: it reopens nothing, but joins the
    # resolved incident whose span contains it (issue 25).
    assert story.publish(version(7, count=4, severity=8.0))[1] == [Outcome.LATE_ATTACHED]
    assert incidents(db_engine) == [
        (
            "aws_guardduty:finding:123456789012:us-east-1:16afba5c5c43e07c9e3e5e2e544e95df",
            "resolved",
            "error",
            3,
        ),
        (f"aws_guardduty:finding:123456789012:eu-west-1:{other}", "triggered", "warning", 1),
    ]


def test_group_across_regions(
    engine: IngestEngine, seed: SeedFn, signer: SnsSigner, db_engine: Engine
) -> None:
    seeded = seed("security", type_="aws_guardduty")
    story = SnsStory(engine, seeded, signer, "aws_guardduty", TOPIC, {"group_across_regions": True})
    assert story.publish(version(0))[1] == [Outcome.OPENED]
    assert story.publish(version(1, region="eu-west-1", finding_id="0" * 32))[1] == [
        Outcome.ATTACHED
    ]
    [(fingerprint, status, _, count)] = incidents(db_engine)
    assert fingerprint == (
        "aws_guardduty:type:123456789012:Canary:EC2/Stateless.IntegTest:Instance:i-05746eb48123455e0"
    )
    assert (status, count) == ("triggered", 2)


def test_security_hub_copy_of_a_finding_joins_its_incident(
    engine: IngestEngine, seed: SeedFn, signer: SnsSigner, db_engine: Engine
) -> None:
    guardduty = seed("security", type_="aws_guardduty")
    securityhub = seed(type_="aws_securityhub", service_id=guardduty.service_id)
    gd = SnsStory(engine, guardduty, signer, "aws_guardduty", TOPIC)
    hub = SnsStory(engine, securityhub, signer, "aws_securityhub", TOPIC)
    assert gd.publish(version(0))[1] == [Outcome.OPENED]
    imported = fixture("securityhub/crafted_guardduty_imported_event.json")
    imported["detail"]["findings"][0]["UpdatedAt"] = "2026-03-01T12:01:00.000Z"
    assert hub.publish(json.dumps(imported))[1] == [Outcome.ATTACHED]
    # Security Hub's copy is archived when GuardDuty archives the finding: resolves too.
    imported["id"] = "another-event"
    finding = imported["detail"]["findings"][0]
    finding.update(RecordState="ARCHIVED", UpdatedAt="2026-03-01T12:02:00.000Z")
    assert hub.publish(json.dumps(imported))[1] == [Outcome.RESOLVED]
    [(fingerprint, status, _, count)] = incidents(db_engine)
    assert fingerprint.startswith("aws_guardduty:finding:123456789012:us-east-1:")
    assert (status, count) == ("resolved", 2)

"""aws_securityhub: published Security Hub findings (aws-solutions' Automated Security
Response, see SOURCE.md) through ``alertgate parse``, and crafted sequences through the
engine on SQLite and PostgreSQL: one control failing in several standards is one incident,
and passing, resolving, suppressing or archiving resolves it."""

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
from tests.eventbridge_support import envelope, event, fixture, parse_alerts, run_parse
from tests.sns_story import SnsStory

TOPIC = "arn:aws:sns:us-east-1:111111111111:alertgate-securityhub"
CIS = "securityhub/asr_cis_1.4_imported_event.json"
EC2_7 = "securityhub/asr_afsbp_ec2.7_imported_event.json"
EC2_8 = "securityhub/asr_afsbp_ec2.8_finding.json"
INSTANCE = "arn:aws:ec2:us-east-1:111111111111:instance/i-077c4d5f32561ac45"


def hub_event(finding: dict[str, Any], event_id: str = "sh-1") -> dict[str, Any]:
    return event(
        "aws.securityhub", {"findings": [finding]}, event_id=event_id, account="111111111111"
    )


def test_published_events_and_finding(tmp_path: Path) -> None:
    cis, ec2_7 = parse_alerts("aws_securityhub", [fixture(CIS), fixture(EC2_7)], tmp_path)
    assert cis["fingerprint"] == "aws_securityhub:1.4:AWS::::Account:111111111111:111111111111"
    assert (cis["action"], cis["severity"]) == ("trigger", "warning")
    assert cis["title"] == (
        "Security Hub MEDIUM: 1.4 Ensure access keys are rotated every 90 days or less "
        "(AWS::::Account:111111111111, 111111111111, us-east-1)"
    )
    assert cis["attributes"]["control_kind"] == "standard_control"
    assert cis["attributes"]["standards"] == [
        "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0"
    ]
    assert cis["links"]["remediation"].startswith("https://docs.aws.amazon.com/console/")
    assert cis["dedupe_key"] == "eventbridge:b3efc128-c676-4a33-b5e6-99b4227dd5a3"
    # EC2.7 is labelled INFORMATIONAL by its producer: below the default minimum.
    assert (ec2_7["action"], ec2_7["severity"]) == ("info", "info")
    [ec2_8] = parse_alerts("aws_securityhub", fixture(EC2_8), tmp_path)
    assert ec2_8["fingerprint"] == f"aws_securityhub:EC2.8:{INSTANCE}:111111111111"
    assert ec2_8["attributes"]["control_kind"] == "security_control"
    assert ec2_8["links"]["control"].endswith("securityhub/home?region=us-east-1#/controls/EC2.8")
    assert "Control: EC2.8" in ec2_8["summary"]


def test_sns_envelope_and_guardduty_finding(tmp_path: Path) -> None:
    [alert] = parse_alerts("aws_securityhub", envelope(fixture(CIS)), tmp_path)
    assert alert["attributes"]["delivery"] == "sns"
    [gd] = parse_alerts(
        "aws_securityhub", fixture("securityhub/crafted_guardduty_imported_event.json"), tmp_path
    )
    assert gd["fingerprint"] == (
        "aws_guardduty:finding:123456789012:us-east-1:16afba5c5c43e07c9e3e5e2e544e95df"
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Compliance": {"Status": "PASSED"}}, "Compliance.Status PASSED"),
        ({"Workflow": {"Status": "RESOLVED"}}, "Workflow.Status RESOLVED"),
        ({"Workflow": {"Status": "SUPPRESSED"}}, "Workflow.Status SUPPRESSED"),
        ({"RecordState": "ARCHIVED"}, "RecordState ARCHIVED"),
    ],
)
def test_resolving_signals(change: dict[str, Any], reason: str, tmp_path: Path) -> None:
    finding = fixture(EC2_8)
    finding.update(change)
    [alert] = parse_alerts("aws_securityhub", hub_event(finding), tmp_path)
    assert alert["action"] == "resolve"
    assert alert["attributes"]["resolved_by"] == reason
    assert alert["title"].startswith("Security Hub HIGH: resolved: EC2.8 ")


def test_malformed_findings_are_refused(tmp_path: Path) -> None:
    bad = event("aws.securityhub", {"findings": "nope"}, event_id="x")
    result = run_parse("aws_securityhub", bad, tmp_path)
    assert result.exit_code == 1
    assert json.loads(result.output)["rejected"][0]["code"] == "invalid_finding"


# -- through the engine -------------------------------------------------------------------


def in_standard(minute: int, standard: str, **changes: Any) -> str:
    """The EC2.8 finding as produced by one standard's copy of the control at 12:<minute>."""
    finding = fixture(EC2_8)
    finding["Id"] = finding["Id"].replace("aws-foundational-security-best-practices", standard)
    finding["ProductFields"]["StandardsArn"] = f"arn:aws:securityhub:::standards/{standard}"
    finding["UpdatedAt"] = f"2026-03-01T12:{minute:02d}:00.000Z"
    finding.update(changes)
    return json.dumps(hub_event(finding, f"sh-{standard}-{minute}"))


@pytest.fixture
def story(
    db_engine: Engine, seed: SeedFn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SnsStory]:
    signer = SnsSigner(tmp_path / "certs", name="securityhub-story")
    monkeypatch.setenv("ALERTGATE_SNS_CERT_DIR", str(signer.directory))
    engine = IngestEngine(db_engine)
    yield SnsStory(
        engine, seed("security", type_="aws_securityhub"), signer, "aws_securityhub", TOPIC
    )
    engine.close()


def test_one_control_in_several_standards_is_one_incident(
    story: SnsStory, db_engine: Engine
) -> None:
    body, first = story.publish(in_standard(0, "aws-foundational-security-best-practices/v/1.0.0"))
    assert first == [Outcome.OPENED]
    assert story.post(body) == [Outcome.DUPLICATE]
    assert story.publish(in_standard(1, "nist-800-53/v/5.0.0"))[1] == [Outcome.ATTACHED]
    assert story.publish(in_standard(2, "pci-dss/v/3.2.1"))[1] == [Outcome.ATTACHED]
    # Another instance failing the same control is another incident.
    other = fixture(EC2_8)
    other["Resources"][0]["Id"] = INSTANCE.replace("i-077c", "i-999c")
    other["UpdatedAt"] = "2026-03-01T12:03:00.000Z"
    assert story.publish(json.dumps(hub_event(other, "sh-other")))[1] == [Outcome.OPENED]
    # The instance is fixed: the control passes (one standard's copy is enough).
    passed = in_standard(5, "nist-800-53/v/5.0.0", Compliance={"Status": "PASSED"})
    assert story.publish(passed)[1] == [Outcome.RESOLVED]
    late = in_standard(4, "pci-dss/v/3.2.1")
    # older than the PASSED: reopens nothing, joins the resolved incident (issue 25)
    assert story.publish(late)[1] == [Outcome.LATE_ATTACHED]
    with Session(db_engine) as session:
        rows = session.execute(
            select(Incident.fingerprint, Incident.status, Incident.alert_count).order_by(
                Incident.id
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (f"aws_securityhub:EC2.8:{INSTANCE}:111111111111", "resolved", 4),
        (
            f"aws_securityhub:EC2.8:{INSTANCE.replace('i-077c', 'i-999c')}:111111111111",
            "triggered",
            1,
        ),
    ]

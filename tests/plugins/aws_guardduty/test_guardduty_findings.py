"""aws_guardduty parsing: published GuardDuty findings (aws-samples, see SOURCE.md), as
EventBridge events, SNS envelopes, lists of either and bare findings, through
``alertgate parse`` and the real hooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alertgate.models import Severity
from alertgate.plugins.aws_guardduty.findings import BANDS, severity_band
from tests.eventbridge_support import (
    envelope,
    event,
    fixture,
    parse_alerts,
    parse_json,
    run_parse,
)

EC2 = "guardduty/awssamples_guardduty_ec2_finding.json"
IAM = "guardduty/awssamples_guardduty_iam_finding.json"
S3 = "guardduty/awssamples_guardduty_s3_finding.json"
EC2_ID = "16afba5c5c43e07c9e3e5e2e544e95df"
FP = f"aws_guardduty:finding:123456789012:us-east-1:{EC2_ID}"


def gd_event(finding: dict[str, Any], event_id: str = "evt-1", **kw: Any) -> dict[str, Any]:
    return event("aws.guardduty", finding, event_id=event_id, **kw)


@pytest.mark.parametrize(
    ("score", "band", "severity"),
    [
        (1.0, "low", Severity.INFO),
        (3.9, "low", Severity.INFO),
        (4.0, "medium", Severity.WARNING),
        (6.9, "medium", Severity.WARNING),
        (7.0, "high", Severity.ERROR),
        (8.9, "high", Severity.ERROR),
        (9.0, "critical", Severity.CRITICAL),
        (10.0, "critical", Severity.CRITICAL),
    ],
)
def test_severity_bands_follow_the_guardduty_user_guide(
    score: float, band: str, severity: Severity
) -> None:
    assert severity_band(score) == (band, severity)
    assert [b for _, b, _ in BANDS] == ["critical", "high", "medium", "low"]


def test_published_ec2_finding_as_an_eventbridge_event(tmp_path: Path) -> None:
    [alert] = parse_alerts("aws_guardduty", gd_event(fixture(EC2)), tmp_path)
    assert alert["action"] == "trigger"
    assert alert["fingerprint"] == FP
    assert alert["severity"] == "warning"
    assert alert["title"] == (
        "GuardDuty medium: Canary:EC2/Stateless.IntegTest "
        "(Instance i-05746eb48123455e0, 123456789012, us-east-1)"
    )
    assert alert["source_time"] == "2017-10-31T23:16:23.824000+00:00"
    assert alert["dedupe_key"] == "eventbridge:evt-1"
    attrs = alert["attributes"]
    assert attrs["severity_score"] == 5
    assert attrs["count"] == 1
    assert attrs["archived"] is False
    assert attrs["resource_key"] == "Instance:i-05746eb48123455e0"
    assert alert["links"]["finding"] == (
        "https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1"
        f"#/findings?macros=current&fId={EC2_ID}"
    )
    for needle in ("Severity: 5 (medium)", "Account: 123456789012   Region: us-east-1"):
        assert needle in alert["summary"]


def test_archived_findings_resolve(tmp_path: Path) -> None:
    """The IAM and S3 samples are archived findings: they resolve their incident."""
    alerts = parse_alerts(
        "aws_guardduty", [gd_event(fixture(IAM)), gd_event(fixture(S3), "e2")], tmp_path
    )
    assert [a["action"] for a in alerts] == ["resolve", "resolve"]
    assert alerts[0]["title"].startswith("GuardDuty medium: archived: ")
    assert (
        "(AccessKey GeneratedFindingUserName (GeneratedFindingAccessKeyId), " in alerts[0]["title"]
    )
    assert "(S3Bucket bucketName, 123456789012, us-east-1)" in alerts[1]["title"]


def test_sns_envelope_list_of_envelopes_and_bare_finding(tmp_path: Path) -> None:
    doc = gd_event(fixture(EC2))
    one = parse_json("aws_guardduty", envelope(doc), tmp_path)
    assert one["deliveries"][0]["input"] == "sns_envelope"
    [alert] = one["deliveries"][0]["alerts"]
    assert alert["fingerprint"] == FP
    assert alert["attributes"]["delivery"] == "sns"
    both = parse_alerts(
        "aws_guardduty", [envelope(doc), envelope(gd_event(fixture(IAM), "e2"))], tmp_path
    )
    assert [a["action"] for a in both] == ["trigger", "resolve"]
    [bare] = parse_alerts("aws_guardduty", fixture(EC2), tmp_path)
    assert bare["fingerprint"] == FP
    assert bare["dedupe_key"].startswith(f"guardduty:{EC2_ID}:2017-10-31T23:16:23.824000")


def test_event_fills_account_and_region_a_finding_lacks(tmp_path: Path) -> None:
    finding = fixture(EC2)
    del finding["accountId"], finding["region"]
    [alert] = parse_alerts(
        "aws_guardduty", gd_event(finding, account="999988887777", region="eu-west-1"), tmp_path
    )
    assert alert["fingerprint"] == f"aws_guardduty:finding:999988887777:eu-west-1:{EC2_ID}"


def test_cross_region_grouping_and_minimum_severity(tmp_path: Path) -> None:
    east = fixture(IAM)
    west = fixture(IAM)
    west.update(region="eu-west-1", id="0" * 32)
    for finding in (east, west):
        finding["service"]["archived"] = False
    both = [gd_event(east), gd_event(west, "e2")]
    default = parse_alerts("aws_guardduty", both, tmp_path)
    assert default[0]["fingerprint"] != default[1]["fingerprint"]
    grouped = parse_alerts("aws_guardduty", both, tmp_path, "group_across_regions=true")
    assert (
        grouped[0]["fingerprint"]
        == grouped[1]["fingerprint"]
        == (
            "aws_guardduty:type:123456789012:Recon:IAMUser/MaliciousIPCaller.Custom:"
            "AccessKey:GeneratedFindingUserName (GeneratedFindingAccessKeyId)"
        )
    )
    quiet = parse_alerts("aws_guardduty", both, tmp_path, "minimum_severity=7")
    assert [a["action"] for a in quiet] == ["info", "info"]


def test_other_messages_are_info_and_bad_documents_are_refused(tmp_path: Path) -> None:
    [alert] = parse_alerts("aws_guardduty", {"hello": "world"}, tmp_path)
    assert (alert["action"], alert["title"]) == ("info", "Not a GuardDuty finding: SNS message")
    mixed = [gd_event(fixture(EC2)), {"source": "aws.health"}]
    result = run_parse("aws_guardduty", mixed, tmp_path)
    assert result.exit_code == 1
    assert json.loads(result.output)["rejected"][0]["code"] == "invalid_event"
    no_id = fixture(EC2)
    del no_id["id"]
    result = run_parse("aws_guardduty", gd_event(no_id), tmp_path)
    assert result.exit_code == 1
    assert json.loads(result.output)["rejected"][0]["code"] == "invalid_finding"

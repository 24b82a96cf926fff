"""The detections added after comparing the catalog with the CIS AWS Foundations
Benchmark, SigmaHQ's AWS CloudTrail rules and Stratus Red Team's AWS techniques.

Records are the real ones of tests/fixtures/aws/cloudtrail (an AWS documentation root
event, a Stratus Red Team detonation), changed only in the fields each rule reads, each
with a near miss that must stay quiet.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from alertgate.plugins.aws_cloudtrail.catalog import builtin_by_id
from alertgate.plugins.aws_cloudtrail.events import document_alerts, extract_records
from alertgate.plugins.aws_cloudtrail.settings import CloudTrailSettings
from tests.conftest import FIXTURES

CLOUDTRAIL = FIXTURES / "aws" / "cloudtrail"


def _record(name: str, index: int = 0) -> dict[str, Any]:
    found = extract_records(json.loads((CLOUDTRAIL / name).read_text()))
    assert found is not None
    return copy.deepcopy(dict(found[0][index]))


ROOT = _record("awsdocs_console_signin_example_09.json")  # root, iam.amazonaws.com
USER = _record("stratus_aws.persistence.iam-backdoor-user.json")  # IAM user christophe


def call(base: dict[str, Any], source: str, name: str, **changes: Any) -> dict[str, Any]:
    record = copy.deepcopy(base)
    record.update(eventSource=source, eventName=name, requestParameters={}, **changes)
    return record


def detections(record: dict[str, Any]) -> set[str | None]:
    return {a.attributes["detection"] for a in document_alerts(record, CloudTrailSettings()) or []}


BPA = "PublicAccessBlockConfiguration"

CASES: list[tuple[str, dict[str, Any], set[str | None]]] = [
    (
        "root creates an access key",
        call(ROOT, "iam.amazonaws.com", "CreateAccessKey"),
        {"root_access_key_created"},
    ),
    (
        "root uploads a signing certificate",
        call(ROOT, "iam.amazonaws.com", "UploadSigningCertificate"),
        {"root_access_key_created"},
    ),
    ("a user creates their own key", call(USER, "iam.amazonaws.com", "CreateAccessKey"), {None}),
    (
        "GuardDuty detector deleted",
        call(USER, "guardduty.amazonaws.com", "DeleteDetector"),
        {"guardduty_disabled"},
    ),
    (
        "GuardDuty detector disabled",
        call(USER, "guardduty.amazonaws.com", "UpdateDetector")
        | {"requestParameters": {"detectorId": "d", "enable": False}},
        {"guardduty_disabled"},
    ),
    (
        "GuardDuty detector settings changed, still enabled",
        call(USER, "guardduty.amazonaws.com", "UpdateDetector")
        | {"requestParameters": {"detectorId": "d", "enable": True}},
        {None},
    ),
    (
        "flow logs deleted",
        call(USER, "ec2.amazonaws.com", "DeleteFlowLogs"),
        {"vpc_flow_logs_deleted"},
    ),
    (
        "EBS encryption by default disabled",
        call(USER, "ec2.amazonaws.com", "DisableEbsEncryptionByDefault"),
        {"ebs_default_encryption_disabled"},
    ),
    (
        "bucket public access block deleted",
        call(USER, "s3.amazonaws.com", "DeleteBucketPublicAccessBlock"),
        {"s3_block_public_access_weakened"},
    ),
    (
        "bucket public access block weakened",
        call(USER, "s3.amazonaws.com", "PutBucketPublicAccessBlock")
        | {"requestParameters": {BPA: {"BlockPublicAcls": True, "BlockPublicPolicy": False}}},
        {"s3_block_public_access_weakened"},
    ),
    (
        "bucket public access block fully on",
        call(USER, "s3.amazonaws.com", "PutBucketPublicAccessBlock")
        | {"requestParameters": {BPA: {"BlockPublicAcls": True, "BlockPublicPolicy": True}}},
        {None},
    ),
    (
        "EBS snapshot shared",
        call(USER, "ec2.amazonaws.com", "ModifySnapshotAttribute"),
        {"snapshot_or_image_shared"},
    ),
    (
        "RDS snapshot shared",
        call(USER, "rds.amazonaws.com", "ModifyDBSnapshotAttribute"),
        {"snapshot_or_image_shared"},
    ),
]


@pytest.mark.parametrize(("record", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_gap_detections(record: dict[str, Any], expected: set[str | None]) -> None:
    assert detections(record) == expected


def test_root_access_key_replaces_root_usage_and_has_its_metric_filter() -> None:
    [alert] = (
        document_alerts(call(ROOT, "iam.amazonaws.com", "CreateAccessKey"), CloudTrailSettings())
        or []
    )
    assert alert.severity == "critical"
    assert alert.title.startswith(
        "Root user access key or signing certificate created: CreateAccessKey by root"
    )
    detection = builtin_by_id()["root_access_key_created"]
    assert detection.pattern() == (
        '{ ($.userIdentity.type = "Root") && ($.eventSource = "iam.amazonaws.com") && '
        '(($.eventName = "CreateAccessKey") || ($.eventName = "UploadSigningCertificate")) }',
        True,
    )
    assert "RootAccessKeyCreated" in detection.metric_names

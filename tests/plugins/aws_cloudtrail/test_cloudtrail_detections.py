"""The CloudTrail detection catalog against every real record in tests/fixtures/aws/cloudtrail.

Stratus Red Team detonation logs (one file per attack technique, several records each) and
the AWS documentation's console sign-in examples. Each record must land in the detection a
security engineer would expect, and read-only or unrelated records must stay ``info``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from alertgate.models import Action, Severity
from alertgate.plugins.aws_cloudtrail import event_fingerprint
from alertgate.plugins.aws_cloudtrail.catalog import BUILTIN_DETECTIONS
from alertgate.plugins.aws_cloudtrail.events import document_alerts, extract_records
from alertgate.plugins.aws_cloudtrail.settings import CloudTrailSettings
from tests.conftest import FIXTURES

CLOUDTRAIL = FIXTURES / "aws" / "cloudtrail"

# (file, record index, eventName, detections expected; empty = info only)
EXPECTED: list[tuple[str, int, str, set[str]]] = [
    # AWS docs: IAM user signs in without MFA / with MFA / fails.
    ("awsdocs_console_signin_example_01.json", 0, "ConsoleLogin", {"console_signin_without_mfa"}),
    ("awsdocs_console_signin_example_02.json", 0, "ConsoleLogin", set()),
    ("awsdocs_console_signin_example_03.json", 0, "ConsoleLogin", {"console_auth_failures"}),
    # The sign-in flow checking whether MFA is needed: routine.
    ("awsdocs_console_signin_example_04.json", 0, "CheckMfa", set()),
    ("awsdocs_console_signin_example_05.json", 0, "CheckMfa", set()),
    # Root signs in without MFA, with MFA ("YES"), fails; root changes MFA and password.
    (
        "awsdocs_console_signin_example_06.json",
        0,
        "ConsoleLogin",
        {"root_account_usage", "console_signin_without_mfa"},
    ),
    ("awsdocs_console_signin_example_07.json", 0, "ConsoleLogin", {"root_account_usage"}),
    (
        "awsdocs_console_signin_example_08.json",
        0,
        "ConsoleLogin",
        {"root_account_usage", "console_auth_failures"},
    ),
    ("awsdocs_console_signin_example_09.json", 0, "EnableMFADevice", {"root_account_usage"}),
    ("awsdocs_console_signin_example_10.json", 0, "PasswordUpdated", {"root_account_usage"}),
    # Defense evasion.
    (
        "stratus_aws.defense-evasion.cloudtrail-delete.json",
        0,
        "DeleteTrail",
        {"cloudtrail_changes"},
    ),
    (
        "stratus_aws.defense-evasion.cloudtrail-event-selectors.json",
        0,
        "PutEventSelectors",
        {"cloudtrail_changes"},
    ),
    ("stratus_aws.defense-evasion.cloudtrail-stop.json", 0, "StopLogging", {"cloudtrail_changes"}),
    ("stratus_aws.defense-evasion.organizations-leave.json", 0, "AssumeRole", set()),
    (
        "stratus_aws.defense-evasion.organizations-leave.json",
        1,
        "LeaveOrganization",
        # Refused, so also an unauthorized call; the specific detection replaces the
        # generic "Organizations changed" one.
        {"organizations_leave", "unauthorized_api_calls"},
    ),
    ("stratus_aws.defense-evasion.organizations-leave.json", 2, "AssumeRole", set()),
    # Execution: RunInstances refused with Client.UnauthorizedOperation.
    (
        "stratus_aws.execution.ec2-launch-unusual-instances.json",
        0,
        "RunInstances",
        {"unauthorized_api_calls"},
    ),
    ("stratus_aws.execution.ec2-launch-unusual-instances.json", 1, "AssumeRole", set()),
    ("stratus_aws.execution.ec2-launch-unusual-instances.json", 2, "AssumeRole", set()),
    # Initial access.
    (
        "stratus_aws.initial-access.console-login-without-mfa.json",
        0,
        "ConsoleLogin",
        {"console_signin_without_mfa"},
    ),
    # Persistence and privilege escalation.
    (
        "stratus_aws.persistence.iam-backdoor-role.json",
        0,
        "UpdateAssumeRolePolicy",
        {"iam_role_trust_policy_changes"},
    ),
    (
        "stratus_aws.persistence.iam-backdoor-user.json",
        0,
        "CreateAccessKey",
        {"iam_access_key_for_other_user"},
    ),
    (
        "stratus_aws.persistence.iam-create-admin-user.json",
        0,
        "AttachUserPolicy",
        {"iam_policy_changes"},
    ),
    (
        "stratus_aws.persistence.iam-create-admin-user.json",
        1,
        "CreateAccessKey",
        {"iam_access_key_for_other_user"},
    ),
    ("stratus_aws.persistence.iam-create-admin-user.json", 2, "CreateUser", set()),
    (
        "stratus_aws.persistence.iam-create-backdoor-role.json",
        0,
        "AttachRolePolicy",
        {"iam_policy_changes"},
    ),
    ("stratus_aws.persistence.iam-create-backdoor-role.json", 1, "CreateRole", set()),
    ("stratus_aws.persistence.iam-create-user-login-profile.json", 0, "GetCallerIdentity", set()),
    # A failed cleanup call with a non-permission error: not an attack signal.
    ("stratus_aws.persistence.iam-create-user-login-profile.json", 1, "DeleteLoginProfile", set()),
    (
        "stratus_aws.persistence.iam-create-user-login-profile.json",
        2,
        "CreateLoginProfile",
        {"iam_login_profile_changes"},
    ),
    (
        "stratus_aws.persistence.sts-federation-token.json",
        0,
        "GetFederationToken",
        {"sts_federation_token"},
    ),
    ("stratus_aws.persistence.sts-federation-token.json", 1, "GetCallerIdentity", set()),
    (
        "stratus_aws.privilege-escalation.iam-update-user-login-profile.json",
        0,
        "UpdateLoginProfile",
        {"iam_login_profile_changes"},
    ),
]


def _records(name: str) -> list[Any]:
    found = extract_records(json.loads((CLOUDTRAIL / name).read_text()))
    assert found is not None, name
    return list(found[0])


def test_table_covers_every_fixture_record() -> None:
    listed = {(name, index) for name, index, _, _ in EXPECTED}
    on_disk = {
        (path.name, index)
        for path in CLOUDTRAIL.glob("*.json")
        for index in range(len(_records(path.name)))
    }
    assert on_disk == listed
    assert len(on_disk) >= 30


@pytest.mark.parametrize(
    ("name", "index", "event_name", "expected"),
    EXPECTED,
    ids=[f"{name.removesuffix('.json')}[{index}]-{event}" for name, index, event, _ in EXPECTED],
)
def test_record_lands_in_expected_detections(
    name: str, index: int, event_name: str, expected: set[str]
) -> None:
    record = _records(name)[index]
    assert record["eventName"] == event_name
    alerts = document_alerts(record, CloudTrailSettings())
    assert alerts is not None
    detections = {alert.attributes["detection"] for alert in alerts}
    if not expected:
        assert len(alerts) == 1
        (alert,) = alerts
        assert detections == {None}
        assert alert.severity is Severity.INFO
        assert alert.title.startswith("CloudTrail event: ")
        return
    assert detections == expected
    catalog = {d.id: d for d in BUILTIN_DETECTIONS}
    for alert in alerts:
        detection = catalog[alert.attributes["detection"]]
        attrs = alert.attributes
        assert alert.kind == "cloudtrail_event"
        assert alert.severity is detection.severity
        assert attrs["category"] == detection.category
        assert attrs["cis"] == detection.cis
        assert attrs["event_name"] == event_name
        assert attrs["account"] == record.get("recipientAccountId", "111122223333")
        assert attrs["region"] == record["awsRegion"]
        assert attrs["source_ip"] == record["sourceIPAddress"]
        assert attrs["error_code"] == record.get("errorCode")
        assert attrs["principal"]
        assert alert.title.startswith(detection.title + ": " + event_name + " by ")
        assert alert.source_time.isoformat().startswith(record["eventTime"].rstrip("Z"))
        # One alert per record keeps the eventID; several get the detection appended.
        suffix = "" if len(alerts) == 1 else f"#{detection.id}"
        assert alert.dedupe_key == record["eventID"] + suffix


def test_detections_summarise_the_event_for_a_responder() -> None:
    (alert,) = document_alerts(
        _records("stratus_aws.defense-evasion.cloudtrail-stop.json")[0], CloudTrailSettings()
    ) or [None]
    assert alert is not None
    assert alert.title == "CloudTrail configuration changed: StopLogging by christophe"
    assert alert.severity is Severity.CRITICAL
    attrs = alert.attributes
    assert attrs["principal"].endswith(":user/christophe")
    assert attrs["principal_type"] == "IAMUser"
    assert attrs["event_source"] == "cloudtrail.amazonaws.com"
    assert "CIS AWS Foundations 4.5" in alert.summary
    assert "Source IP: " + attrs["source_ip"] in alert.summary


def test_refused_call_names_error_and_assumed_role() -> None:
    record = _records("stratus_aws.defense-evasion.organizations-leave.json")[1]
    alerts = document_alerts(record, CloudTrailSettings()) or []
    by_id = {alert.attributes["detection"]: alert for alert in alerts}
    leave = by_id["organizations_leave"]
    assert leave.severity is Severity.CRITICAL
    assert leave.attributes["error_code"] == "AccessDenied"
    assert "(failed: AccessDenied)" in leave.title
    assert leave.attributes["principal_type"] == "AssumedRole"
    # The session ARN is shown; grouping uses the role, so the next session joins.
    assert leave.attributes["principal"].startswith("arn:aws:sts::307578594326:assumed-role/")
    assert (
        leave.attributes["principal_key"]
        == "arn:aws:iam::307578594326:role/stratus-red-team-leave-org-role"
    )


def test_fingerprint_is_detection_account_principal() -> None:
    record = _records("stratus_aws.defense-evasion.organizations-leave.json")[1]
    other_session = json.loads(json.dumps(record))
    other_session["eventID"] = "another"
    other_session["userIdentity"]["arn"] = other_session["userIdentity"]["arn"].rsplit("/", 1)[0]
    other_session["userIdentity"]["arn"] += "/another-session"
    settings = CloudTrailSettings()
    first = {
        a.attributes["detection"]: event_fingerprint(a)
        for a in document_alerts(record, settings) or []
    }
    second = {
        a.attributes["detection"]: event_fingerprint(a)
        for a in document_alerts(other_session, settings) or []
    }
    assert first == second
    assert first["organizations_leave"] == (
        "aws_cloudtrail:organizations_leave:307578594326:"
        "arn:aws:iam::307578594326:role/stratus-red-team-leave-org-role"
    )
    assert first["organizations_leave"] != first["unauthorized_api_calls"]
    other_account = json.loads(json.dumps(record))
    other_account["recipientAccountId"] = "999999999999"
    third = document_alerts(other_account, settings) or []
    assert all(event_fingerprint(a) not in first.values() for a in third)


def test_records_file_yields_alerts_for_every_record() -> None:
    doc = {"Records": [r for name, *_ in EXPECTED[:3] for r in _records(name)]}
    alerts = document_alerts(doc, CloudTrailSettings()) or []
    assert [a.attributes["event_id"] for a in alerts] == [r["eventID"] for r in doc["Records"]]
    assert [a.attributes["detection"] for a in alerts] == [
        "console_signin_without_mfa",
        None,
        "console_auth_failures",
    ]


def test_bare_list_of_records_is_a_log_file_too() -> None:
    records = _records("stratus_aws.persistence.iam-create-admin-user.json")
    alerts = document_alerts(records, CloudTrailSettings()) or []
    assert [a.attributes["event_name"] for a in alerts] == [
        "AttachUserPolicy",
        "CreateAccessKey",
        "CreateUser",
    ]


def test_fixture_actions_via_classify() -> None:
    """Detections trigger, the rest is info, and nothing ever resolves."""
    from alertgate.plugins.aws_cloudtrail import alertgate_classify

    settings = CloudTrailSettings()
    seen = set()
    for name, index, _, expected in EXPECTED:
        for alert in document_alerts(_records(name)[index], settings) or []:
            action = alertgate_classify("aws_cloudtrail", alert, settings)
            seen.add(action)
            assert action is (Action.TRIGGER if expected else Action.INFO)
    assert seen == {Action.TRIGGER, Action.INFO}


def test_catalog_covers_the_cis_monitoring_controls() -> None:
    cis = {d.cis for d in BUILTIN_DETECTIONS if d.cis}
    assert cis == {f"4.{n}" for n in range(1, 16)}
    ids = [d.id for d in BUILTIN_DETECTIONS]
    assert len(ids) == len(set(ids))
    for detection in BUILTIN_DETECTIONS:
        assert detection.metric_names, detection.id
        pattern, _ = detection.pattern()
        # CloudWatch Logs limits a metric filter pattern to 1024 characters.
        assert pattern.startswith("{ ") and len(pattern) <= 1024


def test_catalog_rules_are_plain_json() -> None:
    from alertgate.plugins.aws_cloudtrail.catalog import Detection

    for detection in BUILTIN_DETECTIONS:
        data = json.loads(json.dumps(detection.describe()))
        data.pop("filter_pattern")
        data.pop("filter_pattern_exact")
        assert Detection.model_validate(data) == detection


def test_access_key_for_a_user_by_a_role_or_for_oneself() -> None:
    record = _records("stratus_aws.persistence.iam-backdoor-user.json")[0]
    settings = CloudTrailSettings()
    by_role = json.loads(json.dumps(record))
    by_role["userIdentity"] = _records("stratus_aws.defense-evasion.organizations-leave.json")[1][
        "userIdentity"
    ]
    (alert,) = document_alerts(by_role, settings) or []
    assert alert.attributes["detection"] == "iam_access_key_for_other_user"
    own = json.loads(json.dumps(record))
    own["requestParameters"]["userName"] = own["userIdentity"]["userName"]
    (alert,) = document_alerts(own, settings) or []
    assert alert.attributes["detection"] is None
    del own["requestParameters"]["userName"]
    (alert,) = document_alerts(own, settings) or []
    assert alert.attributes["detection"] is None


def _call(source: str, name: str, **extra: Any) -> dict[str, Any]:
    """A minimal successful API call by an IAM user (controls with no Stratus fixture)."""
    return {
        "eventVersion": "1.09",
        "eventSource": source,
        "eventName": name,
        "eventTime": "2024-08-01T13:33:28Z",
        "eventType": "AwsApiCall",
        "eventID": f"synthetic-{name}",
        "awsRegion": "us-east-1",
        "recipientAccountId": "123456789012",
        "sourceIPAddress": "198.51.100.7",
        "readOnly": False,
        "userIdentity": {
            "type": "IAMUser",
            "arn": "arn:aws:iam::123456789012:user/ops",
            "accountId": "123456789012",
            "userName": "ops",
        },
        **extra,
    }


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (_call("iam.amazonaws.com", "PutRolePolicy"), {"iam_policy_changes"}),
        (_call("iam.amazonaws.com", "CreatePolicyVersion"), {"iam_policy_changes"}),
        (_call("kms.amazonaws.com", "DisableKey"), {"kms_key_disabled_or_deleted"}),
        (_call("kms.amazonaws.com", "ScheduleKeyDeletion"), {"kms_key_disabled_or_deleted"}),
        (_call("s3.amazonaws.com", "PutBucketPolicy"), {"s3_bucket_policy_changes"}),
        (_call("s3.amazonaws.com", "DeleteBucketCors"), {"s3_bucket_policy_changes"}),
        (_call("config.amazonaws.com", "StopConfigurationRecorder"), {"config_changes"}),
        (_call("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress"), {"security_group_changes"}),
        (_call("ec2.amazonaws.com", "ReplaceNetworkAclEntry"), {"nacl_changes"}),
        (_call("ec2.amazonaws.com", "AttachInternetGateway"), {"network_gateway_changes"}),
        (_call("ec2.amazonaws.com", "CreateRoute"), {"route_table_changes"}),
        (_call("ec2.amazonaws.com", "CreateVpcPeeringConnection"), {"vpc_changes"}),
        (_call("organizations.amazonaws.com", "DetachPolicy"), {"organizations_changes"}),
        (_call("organizations.amazonaws.com", "LeaveOrganization"), {"organizations_leave"}),
        (_call("cloudtrail.amazonaws.com", "PutInsightSelectors"), {"cloudtrail_changes"}),
        # Denied read-only call: unauthorized; S3 log delivery and HeadBucket are excluded.
        (
            _call(
                "ec2.amazonaws.com", "DescribeInstances", errorCode="AccessDenied", readOnly=True
            ),
            {"unauthorized_api_calls"},
        ),
        (_call("s3.amazonaws.com", "HeadBucket", errorCode="AccessDenied"), set()),
        (
            _call(
                "s3.amazonaws.com",
                "PutObject",
                errorCode="AccessDenied",
                sourceIPAddress="delivery.logs.amazonaws.com",
            ),
            set(),
        ),
        # Organizations' own CreatePolicy is not an IAM policy change.
        (_call("organizations.amazonaws.com", "CreatePolicy"), {"organizations_changes"}),
        # Near misses: read-only or unrelated calls.
        (_call("kms.amazonaws.com", "DescribeKey", readOnly=True), set()),
        (_call("ec2.amazonaws.com", "DescribeSecurityGroups", readOnly=True), set()),
        (_call("s3.amazonaws.com", "GetBucketPolicy", readOnly=True), set()),
        (_call("lambda.amazonaws.com", "CreateFunction20150331"), set()),
        # Root via an AWS service on its behalf is not root activity.
        (
            _call(
                "ec2.amazonaws.com",
                "DescribeRegions",
                userIdentity={"type": "Root", "invokedBy": "support.amazonaws.com"},
            ),
            set(),
        ),
    ],
    ids=lambda value: value["eventName"] if isinstance(value, dict) else None,
)
def test_cis_controls_on_synthetic_calls(record: dict[str, Any], expected: set[str]) -> None:
    alerts = document_alerts(record, CloudTrailSettings()) or []
    assert {a.attributes["detection"] for a in alerts} - {None} == expected

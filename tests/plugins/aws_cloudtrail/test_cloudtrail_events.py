"""CloudTrail events delivered by EventBridge: through signed SNS, or posted directly.

Deliveries go through the real plugin manager (entry points), the real SNS layer (signature
verification against a certificate the test signer wrote) and the plugin's hooks.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from alertgate.errors import ForbiddenDelivery, MalformedDelivery
from alertgate.models import Action, InboundRequest, ParseContext, ParseResult, Severity
from alertgate.plugins.aws_cloudtrail.settings import CloudTrailSettings
from alertgate.plugins.aws_sns.settings import CERT_DIR_ENV
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.plugins.aws_sns.unsigned import hash_secret
from alertgate.registry import Plugins, load_plugins
from tests.conftest import FIXTURES

CLOUDTRAIL = FIXTURES / "aws" / "cloudtrail"
TOPIC = "arn:aws:sns:us-east-1:123456789012:cloudtrail-events"
SECRET = "s3cret-for-eventbridge"


def records(name: str) -> list[dict[str, Any]]:
    doc = json.loads((CLOUDTRAIL / name).read_text())
    if isinstance(doc, list):
        return doc
    return doc.get("Records", [doc])


def eventbridge(record: dict[str, Any]) -> dict[str, Any]:
    """Wrap a record the way EventBridge delivers CloudTrail events."""
    sign_in = record.get("eventType") == "AwsConsoleSignIn"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS Console Sign In via CloudTrail"
        if sign_in
        else "AWS API Call via CloudTrail",
        "source": "aws." + record["eventSource"].split(".")[0],
        "account": record.get("recipientAccountId", "111122223333"),
        "time": record["eventTime"],
        "region": record["awsRegion"],
        "resources": [],
        "detail": record,
    }


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    return load_plugins()


@pytest.fixture
def signer(tmp_path: Path, plugins: Plugins) -> SnsSigner:
    signer = SnsSigner(tmp_path / "certs", name="cloudtrail-test")
    plugins.configure(environ={CERT_DIR_ENV: str(signer.directory)})
    return signer


def context(plugins: Plugins, **settings: Any) -> ParseContext:
    model = plugins.validate_settings("aws_cloudtrail", settings)
    return ParseContext(integration_id=1, integration_type="aws_cloudtrail", settings=model)


def signed(signer: SnsSigner, doc: Any, **kwargs: Any) -> tuple[InboundRequest, dict[str, Any]]:
    message = doc if isinstance(doc, str) else json.dumps(doc)
    envelope = signer.notification(message, topic_arn=TOPIC, **kwargs)
    body = signer.body(envelope)
    request = InboundRequest(
        body=body if isinstance(body, bytes) else body.encode(),
        headers={"content-type": "text/plain; charset=UTF-8"},
        content_type="text/plain",
    )
    return request, envelope


def direct(doc: Any, secret: str | None = SECRET) -> InboundRequest:
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["x-alertgate-key"] = secret
    return InboundRequest(json.dumps(doc).encode(), headers, "application/json")


DIRECT = {"accept_direct_posts": True, "shared_secret_sha256": hash_secret(SECRET)}


def test_stop_logging_via_eventbridge_and_signed_sns(plugins: Plugins, signer: SnsSigner) -> None:
    record = records("stratus_aws.defense-evasion.cloudtrail-stop.json")[0]
    request, envelope = signed(signer, eventbridge(record), subject=None)
    result = plugins.parse(context(plugins), request)
    (alert,) = result.alerts
    assert alert.action is Action.TRIGGER
    assert alert.attributes["detection"] == "cloudtrail_changes"
    assert alert.attributes["detail_type"] == "AWS API Call via CloudTrail"
    assert alert.severity is Severity.CRITICAL
    assert alert.dedupe_key == envelope["MessageId"]
    assert alert.payload == envelope
    account = record["recipientAccountId"]
    assert alert.fingerprint == (
        f"aws_cloudtrail:cloudtrail_changes:{account}:arn:aws:iam::{account}:user/christophe"
    )
    # The first verified notification records the subscription as confirmed.
    assert result.state_updates["sns"]["status"] == "confirmed"


def test_console_sign_in_event_without_mfa(plugins: Plugins, signer: SnsSigner) -> None:
    record = records("awsdocs_console_signin_example_01.json")[0]
    request, _ = signed(signer, eventbridge(record))
    (alert,) = plugins.parse(context(plugins), request).alerts
    assert alert.attributes["detail_type"] == "AWS Console Sign In via CloudTrail"
    assert alert.attributes["detection"] == "console_signin_without_mfa"
    assert alert.attributes["mfa_used"] == "No"
    assert alert.attributes["principal"] == "arn:aws:iam::111122223333:user/anaya"
    assert alert.action is Action.TRIGGER


def test_read_only_event_is_info(plugins: Plugins, signer: SnsSigner) -> None:
    record = records("stratus_aws.persistence.sts-federation-token.json")[1]
    assert record["readOnly"] is True
    request, envelope = signed(signer, eventbridge(record))
    (alert,) = plugins.parse(context(plugins), request).alerts
    assert alert.action is Action.INFO
    assert alert.severity is Severity.INFO
    assert alert.attributes["detection"] is None
    assert alert.dedupe_key == envelope["MessageId"]


def test_one_event_several_detections_get_distinct_keys(
    plugins: Plugins, signer: SnsSigner
) -> None:
    record = records("awsdocs_console_signin_example_08.json")[0]  # failed root sign-in
    request, envelope = signed(signer, eventbridge(record))
    alerts = plugins.parse(context(plugins), request).alerts
    keys = {a.attributes["detection"]: a.dedupe_key for a in alerts}
    assert keys == {
        "root_account_usage": f"{envelope['MessageId']}#root_account_usage",
        "console_auth_failures": f"{envelope['MessageId']}#console_auth_failures",
    }
    assert len({a.fingerprint for a in alerts}) == 2
    assert all(a.action is Action.TRIGGER for a in alerts)


def test_tampered_sns_delivery_is_refused(plugins: Plugins, signer: SnsSigner) -> None:
    record = records("stratus_aws.defense-evasion.cloudtrail-stop.json")[0]
    envelope = signer.notification(json.dumps(eventbridge(record)), topic_arn=TOPIC)
    envelope["Message"] = envelope["Message"].replace("StopLogging", "StartLogging")
    request = InboundRequest(json.dumps(envelope).encode(), {}, "text/plain")
    with pytest.raises(ForbiddenDelivery):
        plugins.parse(context(plugins), request)


def test_direct_post_uses_event_id_and_needs_the_secret(plugins: Plugins) -> None:
    record = records("stratus_aws.persistence.iam-backdoor-role.json")[0]
    event = eventbridge(record)
    result = plugins.parse(context(plugins, **DIRECT), direct(event))
    (alert,) = result.alerts
    assert alert.attributes["detection"] == "iam_role_trust_policy_changes"
    assert alert.attributes["eventbridge_id"] == event["id"]
    assert alert.dedupe_key == record["eventID"]
    assert alert.payload == event
    with pytest.raises(ForbiddenDelivery):
        plugins.parse(context(plugins, **DIRECT), direct(event, secret="wrong"))
    with pytest.raises(ForbiddenDelivery):
        plugins.parse(context(plugins, **DIRECT), direct(event, secret=None))
    # Without the opt-in a bare document is not accepted at all.
    with pytest.raises(MalformedDelivery):
        plugins.parse(context(plugins), direct(event))


def test_direct_post_of_a_records_file(plugins: Plugins) -> None:
    doc = {"Records": records("stratus_aws.persistence.iam-create-admin-user.json")}
    alerts = plugins.parse(context(plugins, **DIRECT), direct(doc)).alerts
    assert [a.dedupe_key for a in alerts] == [r["eventID"] for r in doc["Records"]]
    assert [a.action for a in alerts] == [Action.TRIGGER, Action.TRIGGER, Action.INFO]
    assert alerts[0].payload == doc["Records"][0]


def test_temporary_credentials_are_not_kept(plugins: Plugins, signer: SnsSigner) -> None:
    record = records("stratus_aws.persistence.sts-federation-token.json")[0]
    token = record["responseElements"]["credentials"]["sessionToken"]
    request, envelope = signed(signer, eventbridge(record))
    (alert,) = plugins.parse(context(plugins), request).alerts
    assert alert.attributes["detection"] == "sts_federation_token"
    assert token not in json.dumps(alert.payload)
    assert alert.payload["MessageId"] == envelope["MessageId"]
    assert alert.payload["alertgate_redacted"] is True
    kept = json.loads(alert.payload["Message"])
    assert kept["detail"]["responseElements"]["credentials"]["accessKeyId"].startswith("ASIA")
    (direct_alert,) = plugins.parse(context(plugins, **DIRECT), direct(record)).alerts
    assert token not in json.dumps(direct_alert.payload)


def test_message_that_is_not_cloudtrail_is_info(plugins: Plugins, signer: SnsSigner) -> None:
    request, envelope = signed(signer, "Hello from the SNS console", subject="test")
    (alert,) = plugins.parse(context(plugins), request).alerts
    assert alert.action is Action.INFO
    assert alert.dedupe_key == envelope["MessageId"]
    request, _ = signed(signer, {"detail-type": "EC2 Instance State-change Notification"})
    (alert,) = plugins.parse(context(plugins), request).alerts
    assert alert.action is Action.INFO


def test_bad_records_file_is_rejected(plugins: Plugins) -> None:
    with pytest.raises(MalformedDelivery):
        plugins.parse(context(plugins, **DIRECT), direct({"Records": [{"nope": 1}]}))
    with pytest.raises(MalformedDelivery):
        plugins.parse(context(plugins, **DIRECT), direct([1, 2, 3]))


# -- per-integration settings ----------------------------------------------------------------


def test_disabled_detection_turns_event_into_info(plugins: Plugins) -> None:
    record = records("stratus_aws.defense-evasion.cloudtrail-stop.json")[0]
    ctx = context(plugins, disabled_detections=["cloudtrail_changes"], **DIRECT)
    (alert,) = plugins.parse(ctx, direct(record)).alerts
    assert alert.action is Action.INFO


def test_custom_detection_and_severity_override(plugins: Plugins) -> None:
    custom = {
        "id": "iam_user_created",
        "title": "IAM user created",
        "severity": "warning",
        "category": "iam",
        "rule": {
            "all": [
                {"field": "eventSource", "equals": ["iam.amazonaws.com"]},
                {"field": "eventName", "equals": ["CreateUser"]},
            ]
        },
    }
    ctx = context(
        plugins,
        custom_detections=[custom],
        severity_overrides={"iam_policy_changes": "critical"},
        **DIRECT,
    )
    doc = {"Records": records("stratus_aws.persistence.iam-create-admin-user.json")}
    alerts = plugins.parse(ctx, direct(doc)).alerts
    by_event = {a.attributes["event_name"]: a for a in alerts}
    created = by_event["CreateUser"]
    assert created.action is Action.TRIGGER
    assert created.attributes["detection"] == "iam_user_created"
    assert created.severity is Severity.WARNING
    assert created.title == "IAM user created: CreateUser by christophe"
    assert by_event["AttachUserPolicy"].severity is Severity.CRITICAL


def test_unmatched_events_can_be_dropped(plugins: Plugins) -> None:
    record = records("stratus_aws.persistence.sts-federation-token.json")[1]
    result = plugins.parse(
        context(plugins, record_unmatched_events=False, **DIRECT), direct(record)
    )
    assert isinstance(result, ParseResult)
    assert result.alerts == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"disabled_detections": ["no_such_detection"]}, "unknown detection"),
        ({"severity_overrides": {"nope": "info"}}, "unknown detection"),
        (
            {
                "custom_detections": [
                    {
                        "id": "root_account_usage",
                        "title": "x",
                        "rule": {"field": "eventName", "equals": ["x"]},
                    }
                ]
            },
            "is a built-in detection",
        ),
        (
            {
                "custom_detections": [
                    {
                        "id": "two_ops",
                        "title": "x",
                        "rule": {"field": "eventName", "equals": ["x"], "like": ["y*"]},
                    }
                ]
            },
            "exactly one of",
        ),
        (
            {
                "custom_detections": [
                    {"id": "bad_field", "title": "x", "rule": {"field": "a..b", "equals": ["x"]}}
                ]
            },
            "field",
        ),
        ({"quiet_period_minutes": 0}, "greater than or equal to 1"),
    ],
)
def test_invalid_settings_are_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CloudTrailSettings.model_validate(settings)


def test_quiet_period_is_optional() -> None:
    assert CloudTrailSettings().quiet_period_minutes is None
    assert CloudTrailSettings(quiet_period_minutes=90).quiet_period_minutes == 90


def test_settings_round_trip_as_stored() -> None:
    """The admin API stores ``model_dump(mode="json")`` and validates it again per load."""
    raw = {
        "custom_detections": [
            {
                "id": "admin_policy_attached",
                "title": "AdministratorAccess attached",
                "supersedes": ["iam_policy_changes"],
                "rule": {
                    "all": [
                        {"field": "eventName", "equals": ["AttachUserPolicy"]},
                        {"any": [{"field": "requestParameters.policyArn", "like": ["*/Admin*"]}]},
                    ]
                },
            }
        ],
        "metric_map": {"Mine": {"detection": "admin_policy_attached"}},
        "quiet_period_minutes": 60,
    }
    settings = CloudTrailSettings.model_validate(raw)
    stored = json.loads(json.dumps(settings.model_dump(mode="json")))
    assert stored["custom_detections"][0]["rule"] == raw["custom_detections"][0]["rule"]
    again = CloudTrailSettings.model_validate(stored)
    assert again == settings
    record = records("stratus_aws.persistence.iam-create-admin-user.json")[0]
    from alertgate.plugins.aws_cloudtrail.events import document_alerts

    (alert,) = document_alerts(record, again) or []
    # The custom detection supersedes the built-in generic one.
    assert alert.attributes["detection"] == "admin_policy_attached"

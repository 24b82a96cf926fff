"""CloudTrail events (path 2): find the records in a document, run the detections, build alerts.

Accepted shapes, however they arrive (SNS Message, direct post, a file for
``alertgate parse``):

- an EventBridge event whose ``detail-type`` ends in "via CloudTrail" ("AWS API Call via
  CloudTrail", "AWS Console Sign In via CloudTrail", ...): ``detail`` is the record;
- a CloudTrail log file ``{"Records": [...]}`` (S3) or a list of records;
- one bare record (CloudWatch Logs, the CloudTrail console's "view event").

A record that matches detections yields one ``trigger`` alert per detection (after
``supersedes`` is applied); one that matches none yields one ``info`` alert, or nothing when
``record_unmatched_events`` is off.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from alertgate.errors import MalformedDelivery
from alertgate.models import Alert, Severity
from alertgate.plugins.aws_cloudtrail.catalog import Detection
from alertgate.plugins.aws_cloudtrail.rules import matches
from alertgate.plugins.aws_cloudtrail.settings import CloudTrailSettings
from alertgate.plugins.aws_sns.eventbridge import console_url

KIND = "cloudtrail_event"
"""``Alert.kind`` of every alert made from a CloudTrail record."""

MAX_RECORDS = 10_000
_MAX_TEXT = 1024
_SECRET_KEYS = frozenset({"sessiontoken", "secretaccesskey", "password", "newpassword"})
_REDACTED = "[redacted by alertgate]"


@dataclass(frozen=True, slots=True)
class Envelope:
    """Where a record came from: EventBridge metadata, if any."""

    detail_type: str | None = None
    event_bridge_id: str | None = None
    account: str | None = None
    region: str | None = None
    time: str | None = None


def _text(value: Any, limit: int = _MAX_TEXT) -> str | None:
    if value is None or isinstance(value, dict | list | bool):
        return None
    text = str(value).strip()
    return text[:limit] if text else None


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _parse_time(value: Any) -> datetime | None:
    text = _text(value, 64)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    try:
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:  # beyond the calendar in UTC: 0001-01-01T00:00:00+14:00
        return None


def is_record(doc: Any) -> bool:
    """A CloudTrail record: has an event name and an event source or version."""
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("eventName"), str)
        and ("eventSource" in doc or "eventVersion" in doc)
    )


def is_cloudtrail_event(doc: Any) -> bool:
    """An EventBridge event that carries a CloudTrail record."""
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("detail-type"), str)
        and doc["detail-type"].endswith("via CloudTrail")
        and isinstance(doc.get("detail"), dict)
    )


def extract_records(doc: Any) -> tuple[list[Mapping[str, Any]], Envelope] | None:
    """The CloudTrail records in a decoded document, or ``None`` if it holds none.

    :raises MalformedDelivery: More than :data:`MAX_RECORDS` records, or a ``Records``
        list with entries that are not records.
    """
    if is_cloudtrail_event(doc):
        envelope = Envelope(
            detail_type=_text(doc.get("detail-type"), 200),
            event_bridge_id=_text(doc.get("id"), 200),
            account=_text(doc.get("account"), 64),
            region=_text(doc.get("region"), 64),
            time=_text(doc.get("time"), 64),
        )
        return [doc["detail"]], envelope
    if is_record(doc):
        return [doc], Envelope()
    if isinstance(doc, dict) and isinstance(doc.get("Records"), list):
        records: Any = doc["Records"]
    elif isinstance(doc, list) and doc and all(is_record(item) for item in doc[:1]):
        records = doc
    else:
        return None
    if len(records) > MAX_RECORDS:
        raise MalformedDelivery(
            "too_many_records", f"{len(records)} CloudTrail records; at most {MAX_RECORDS}"
        )
    if not all(is_record(item) for item in records):
        raise MalformedDelivery(
            "invalid_record", "every entry of Records must be a CloudTrail record object"
        )
    return list(records), Envelope()


_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d{1,2}$")


def event_links(attrs: Mapping[str, Any]) -> dict[str, str]:
    """Console links into its region's CloudTrail event history: the record itself, and
    the history filtered to its principal (event history's "User name": the IAM user, the
    role session, ``root``) and to the access key it signed with, to see what else they
    did."""
    region = attrs.get("region")
    if not isinstance(region, str) or not _REGION.match(region):
        return {}
    base = f"cloudtrailv2/home?region={region}#/events"
    links: dict[str, str] = {}
    for name, value, where in (
        ("cloudtrail_event", attrs.get("event_id"), "/{}"),
        ("cloudtrail_principal", attrs.get("user_name"), "?Username={}"),
        ("cloudtrail_access_key", attrs.get("access_key_id"), "?AccessKeyId={}"),
    ):
        if isinstance(value, str) and value:
            links[name] = console_url(region, base + where.format(quote(value, safe="")))
    return links


def lookup_user_name(ui: Mapping[str, Any], principal: Principal) -> str | None:
    """What CloudTrail's event history calls the actor's "User name" (its ``Username``
    lookup attribute): the IAM user's name, the assumed role's session name, ``root``."""
    if principal.type == "Root":
        return "root"
    if principal.type == "AssumedRole":
        arn = _text(ui.get("arn"), 2048)
        return arn.rsplit("/", 1)[-1] if arn and arn.count("/") >= 2 else None
    if principal.type == "IAMUser":
        return _text(ui.get("userName"), 256) or principal.name
    return None


# -------------------------------------------------------------------------------------------
# What a record says, normalized
# -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Principal:
    """Who acted: the full ARN for people, a stable key for grouping."""

    arn: str
    key: str
    """Same as ``arn`` except for assumed-role sessions, which group by their role."""
    name: str
    type: str | None


def principal_of(record: Mapping[str, Any], account: str | None) -> Principal:
    """Identify the actor of a record from ``userIdentity``."""
    ui = _map(record.get("userIdentity"))
    kind = _text(ui.get("type"), 64)
    arn = _text(ui.get("arn"), 2048)
    user = _text(ui.get("userName"), 256)
    issuer = _map(_map(ui.get("sessionContext")).get("sessionIssuer"))
    issuer_arn = _text(issuer.get("arn"), 2048)
    acct = _text(ui.get("accountId"), 64) or account or "unknown-account"
    if kind == "Root":
        arn = arn or f"arn:aws:iam::{acct}:root"
        return Principal(arn, arn, "root", kind)
    if kind == "AssumedRole":
        session = arn.rsplit("/", 1)[-1] if arn else None
        role = _text(issuer.get("userName"), 256)
        key = issuer_arn or (arn.rsplit("/", 1)[0] if arn and arn.count("/") >= 2 else arn)
        name = f"{role}/{session}" if role and session else (arn or "unknown")
        return Principal(arn or key or "unknown", key or "unknown", name, kind)
    if kind == "AWSService":
        service = _text(ui.get("invokedBy"), 256) or "aws-service"
        return Principal(service, service, service, kind)
    if arn:
        name = user or arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        return Principal(arn, arn, name, kind)
    if user:
        made = f"arn:aws:iam::{acct}:user/{user}" if kind == "IAMUser" else user
        return Principal(made, made, user, kind)
    fallback = _text(ui.get("principalId"), 256) or _text(ui.get("invokedBy"), 256) or "unknown"
    return Principal(fallback, fallback, fallback, kind)


def _event_attributes(
    record: Mapping[str, Any], envelope: Envelope
) -> tuple[dict[str, Any], Principal]:
    account = (
        _text(record.get("recipientAccountId"), 64)
        or envelope.account
        or _text(_map(record.get("userIdentity")).get("accountId"), 64)
    )
    principal = principal_of(record, account)
    response = _map(record.get("responseElements"))
    extra = _map(record.get("additionalEventData"))
    read_only = record.get("readOnly")
    attrs: dict[str, Any] = {
        "account": account,
        "region": _text(record.get("awsRegion"), 64) or envelope.region,
        "event_name": _text(record.get("eventName"), 256),
        "event_source": _text(record.get("eventSource"), 256),
        "event_id": _text(record.get("eventID"), 256),
        "event_type": _text(record.get("eventType"), 64),
        "event_time": _text(record.get("eventTime"), 64) or envelope.time,
        "error_code": _text(record.get("errorCode"), 256),
        "error_message": _text(record.get("errorMessage")),
        "principal": principal.arn,
        "principal_key": principal.key,
        "principal_name": principal.name,
        "principal_type": principal.type,
        "user_name": lookup_user_name(_map(record.get("userIdentity")), principal),
        "access_key_id": _text(_map(record.get("userIdentity")).get("accessKeyId"), 128),
        "source_ip": _text(record.get("sourceIPAddress"), 256),
        "user_agent": _text(record.get("userAgent")),
        "read_only": read_only if isinstance(read_only, bool) else None,
        "mfa_used": _text(extra.get("MFAUsed"), 16),
        "console_login": _text(response.get("ConsoleLogin"), 32),
        "detail_type": envelope.detail_type,
        "eventbridge_id": envelope.event_bridge_id,
    }
    return attrs, principal


def _outcome(attrs: Mapping[str, Any]) -> str:
    if attrs["error_code"]:
        return f" (failed: {attrs['error_code']})"
    if attrs["console_login"] == "Failure":
        return " (failed)"
    return ""


def _summary(attrs: Mapping[str, Any], detection: Detection | None) -> str:
    lines = []
    if detection is not None:
        cis = f", CIS AWS Foundations {detection.cis}" if detection.cis else ""
        lines.append(f"Detection: {detection.title} [{detection.id}{cis}]")
        if detection.description:
            lines.append(detection.description)
    lines.append(
        f"Event: {attrs['event_source'] or '?'} {attrs['event_name']} at "
        f"{attrs['event_time'] or '?'}{_outcome(attrs)}"
    )
    if attrs["error_message"]:
        lines.append(f"Error: {attrs['error_message']}")
    who = f"Principal: {attrs['principal']} ({attrs['principal_type'] or 'unknown type'})"
    if attrs["mfa_used"]:
        who += f", MFA used: {attrs['mfa_used']}"
    lines.append(who)
    lines.append(
        f"Source IP: {attrs['source_ip'] or '?'}   User agent: {attrs['user_agent'] or '?'}"
    )
    lines.append(f"Account: {attrs['account'] or '?'}   Region: {attrs['region'] or '?'}")
    return "\n".join(lines)


def matching_detections(
    record: Mapping[str, Any], detections: Sequence[Detection]
) -> list[Detection]:
    """The detections a record matches, minus those superseded by another match."""
    found = [detection for detection in detections if matches(detection.rule, record)]
    superseded = {sid for detection in found for sid in detection.supersedes}
    return [detection for detection in found if detection.id not in superseded]


def redact(value: Any) -> Any:
    """A copy with credential values (session tokens, secret keys, passwords) replaced.

    Records of AssumeRole, GetFederationToken, ... carry live temporary credentials; they
    are not kept in alert payloads.
    """
    if isinstance(value, dict):
        return {
            key: _REDACTED
            if isinstance(key, str) and key.lower() in _SECRET_KEYS and value[key] is not None
            else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def has_secrets(text: str) -> bool:
    """Cheap pre-check before :func:`redact`: could this JSON text hold a credential?"""
    lowered = text.lower()
    return any(f'"{key}"' in lowered for key in _SECRET_KEYS)


def _stable_id(record: Mapping[str, Any]) -> str:
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record_alerts(
    record: Mapping[str, Any],
    settings: CloudTrailSettings,
    *,
    envelope: Envelope = Envelope(),
    dedupe_key: str | None = None,
    payload: Any = None,
    fallback_time: datetime | None = None,
) -> list[Alert]:
    """Alerts for one CloudTrail record.

    :param dedupe_key: Base dedupe key (the SNS MessageId); defaults to the record's
        ``eventID`` (then the EventBridge id, then a hash of the record). When a record
        yields several alerts each gets ``#<detection id>`` appended.
    :param payload: Kept on every alert; defaults to the (redacted) record.
    """
    attrs, principal = _event_attributes(record, envelope)
    base = dedupe_key or attrs["event_id"] or envelope.event_bridge_id or _stable_id(record)
    source_time = (
        _parse_time(record.get("eventTime"))
        or _parse_time(envelope.time)
        or fallback_time
        or datetime.now(UTC)
    )
    kept = redact(record) if payload is None else payload
    found = matching_detections(record, settings.detections())
    actor = principal.name
    what = f"{attrs['event_name']} by {actor}{_outcome(attrs)}"
    if not found:
        if not settings.record_unmatched_events:
            return []
        info = {**attrs, "detection": None, "category": None, "cis": None}
        return [
            Alert(
                title=f"CloudTrail event: {what}",
                source_time=source_time,
                dedupe_key=base,
                kind=KIND,
                severity=Severity.INFO,
                summary=_summary(attrs, None) + "\nNo detection matched: recorded as info.",
                attributes=info,
                links=event_links(attrs),
                payload=kept,
            )
        ]
    alerts = []
    for detection in found:
        detected = {
            **attrs,
            "detection": detection.id,
            "detection_title": detection.title,
            "category": detection.category,
            "cis": detection.cis,
        }
        alerts.append(
            Alert(
                title=f"{detection.title}: {what}",
                source_time=source_time,
                dedupe_key=base if len(found) == 1 else f"{base}#{detection.id}",
                kind=KIND,
                severity=detection.severity,
                summary=_summary(attrs, detection),
                attributes=detected,
                links=event_links(attrs),
                payload=kept,
            )
        )
    return alerts


def document_alerts(
    doc: Any,
    settings: CloudTrailSettings,
    *,
    message_id: str | None = None,
    payload: Any = None,
    fallback_time: datetime | None = None,
) -> list[Alert] | None:
    """Alerts for every record of a decoded document; ``None`` if it holds no records.

    :param message_id: The SNS MessageId. Used as the dedupe key of a single-record
        message; with several records each record's eventID is used (prefixed by it).
    :param payload: What to keep on alerts of a single-record document (e.g. the SNS
        envelope); records of a multi-record file keep themselves.
    """
    found = extract_records(doc)
    if found is None:
        return None
    records, envelope = found
    single = len(records) == 1
    alerts: list[Alert] = []
    for index, record in enumerate(records):
        key = message_id
        if message_id and not single:
            key = f"{message_id}#{_text(record.get('eventID'), 256) or index}"
        alerts.extend(
            record_alerts(
                record,
                settings,
                envelope=envelope,
                dedupe_key=key,
                payload=payload if single else None,
                fallback_time=fallback_time,
            )
        )
    return alerts

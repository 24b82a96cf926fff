"""GuardDuty findings: from an EventBridge "GuardDuty Finding" event (or a bare finding, as
exported to S3 or saved from the console) to alerts.

GuardDuty sends an event when a finding is created and again, aggregated, when it is
updated (``service.count`` grows, ``updatedAt`` moves on, the severity may change) or
archived. Every version of one finding has the same fingerprint, so updates join its
incident instead of opening another; ``updatedAt`` is the source time, so the engine
orders versions however they arrive; an archived version resolves the incident.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field

from alertgate.errors import MalformedDelivery
from alertgate.models import Action, Alert, ParseResult, Severity
from alertgate.plugins.aws_sns.eventbridge import (
    EventBridgeEvent,
    bare_documents,
    console_url,
    dedupe_key,
    event_result,
    kept_payload,
    mapping,
    other_fingerprint,
    parse_time,
    text,
    version_key,
)
from alertgate.plugins.aws_sns.models import SnsNotification, SnsSettings

SOURCE = "aws.guardduty"
KIND = "guardduty_finding"
"""``Alert.kind`` of every alert made from a GuardDuty finding."""

Band = Literal["low", "medium", "high", "critical"]

BANDS: tuple[tuple[float, Band, Severity], ...] = (
    (9.0, "critical", Severity.CRITICAL),
    (7.0, "high", Severity.ERROR),
    (4.0, "medium", Severity.WARNING),
    (0.0, "low", Severity.INFO),
)
"""GuardDuty's severity levels ("Severity levels of GuardDuty findings", GuardDuty User
Guide): Critical 9.0-10.0, High 7.0-8.9, Medium 4.0-6.9, Low 1.0-3.9; with the alertgate
severity each opens an incident at."""


class GuardDutySettings(SnsSettings):
    """Per-integration options of an Amazon GuardDuty integration."""

    group_across_regions: bool = Field(
        False,
        title="One incident across regions",
        description="One incident per finding type and resource across regions (e.g. the same "
        "IAM access key misused from several regions), instead of one per finding.",
    )
    minimum_severity: float = Field(
        0.0,
        ge=0.0,
        le=10.0,
        title="Lowest score that opens an incident",
        description="Findings scored below this (0 to 10) are recorded as info and open nothing; "
        "e.g. 4.0 keeps medium and above.",
    )


def severity_band(score: float) -> tuple[Band, Severity]:
    """The GuardDuty level of a numeric severity and the alertgate severity it maps to."""
    for floor, band, severity in BANDS:
        if score >= floor:
            return band, severity
    return "low", Severity.INFO


def finding_fingerprint(account: str | None, region: str | None, finding_id: str) -> str:
    """The grouping key of one GuardDuty finding. The ``aws_securityhub`` type gives a
    GuardDuty finding imported into Security Hub the same key, so both integrations on one
    service share one incident per finding."""
    where = f"{account or 'unknown-account'}:{region or 'unknown-region'}"
    return f"aws_guardduty:finding:{where}:{finding_id}"


def finding_console_link(region: str | None, finding_id: str) -> str:
    where = region or "us-east-1"
    return console_url(
        where, f"guardduty/home?region={where}#/findings?macros=current&fId={quote(finding_id)}"
    )


@dataclass(frozen=True, slots=True)
class Resource:
    """What a finding is about: a label for people and a key for cross-region grouping."""

    type: str
    label: str
    key: str


def _first(items: Any) -> Mapping[str, Any]:
    return mapping(items[0]) if isinstance(items, list) and items else {}


def resource_of(resource: Mapping[str, Any]) -> Resource:
    """The resource a finding's ``resource`` section describes."""
    kind = text(resource.get("resourceType"), 64) or "Unknown"
    ident: str | None = None
    if kind == "AccessKey":
        key = mapping(resource.get("accessKeyDetails"))
        user = text(key.get("userName"), 256)
        access_key = text(key.get("accessKeyId"), 128)
        ident = f"{user} ({access_key})" if user and access_key else user or access_key
    elif kind == "Instance":
        ident = text(mapping(resource.get("instanceDetails")).get("instanceId"), 64)
    elif kind == "S3Bucket":
        ident = text(_first(resource.get("s3BucketDetails")).get("name"), 256)
    elif kind in ("EKSCluster", "KubernetesCluster"):
        ident = text(mapping(resource.get("eksClusterDetails")).get("name"), 256)
    elif kind == "ECSCluster":
        ident = text(mapping(resource.get("ecsClusterDetails")).get("name"), 256)
    elif kind == "Lambda":
        ident = text(mapping(resource.get("lambdaDetails")).get("functionName"), 256)
    elif kind == "RDSDBInstance":
        details = mapping(resource.get("rdsDbInstanceDetails"))
        ident = text(details.get("dbInstanceIdentifier"), 256)
    label = f"{kind} {ident}" if ident else kind
    return Resource(kind, label, f"{kind}:{ident or '-'}")


@dataclass(frozen=True, slots=True)
class Finding:
    """The fields of a GuardDuty finding a responder and the grouping need."""

    id: str
    arn: str | None
    type: str
    title: str
    description: str
    account: str | None
    region: str | None
    score: float
    band: Band
    severity: Severity
    resource: Resource
    count: int | None
    archived: bool
    sample: bool
    created_at: datetime | None
    updated_at: datetime | None
    first_seen: str | None
    last_seen: str | None


def is_finding(doc: Any) -> bool:
    """A bare GuardDuty finding (the ``detail`` of a "GuardDuty Finding" event)."""
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("id"), str)
        and isinstance(doc.get("type"), str)
        and isinstance(doc.get("service"), dict)
        and "severity" in doc
    )


def _score(value: Any) -> float:
    if isinstance(value, bool):
        return 0.0
    try:
        score = float(value)
    except (TypeError, ValueError):
        return 0.0
    return min(max(score, 0.0), 10.0) if score == score else 0.0  # NaN -> 0


def read_finding(doc: Mapping[str, Any], event: EventBridgeEvent | None) -> Finding:
    """Normalize one finding; ``event`` supplies account and region when it lacks them.

    :raises MalformedDelivery: The finding has no id.
    """
    finding_id = text(doc.get("id"), 256)
    if finding_id is None:
        raise MalformedDelivery("invalid_finding", "a GuardDuty finding without an id")
    service = mapping(doc.get("service"))
    score = _score(doc.get("severity"))
    band, severity = severity_band(score)
    count = service.get("count")
    return Finding(
        id=finding_id,
        arn=text(doc.get("arn"), 2048),
        type=text(doc.get("type"), 256) or "unknown",
        title=text(doc.get("title"), 512) or text(doc.get("type"), 256) or "GuardDuty finding",
        description=text(doc.get("description"), 2000) or "",
        account=text(doc.get("accountId"), 64) or (event.account if event else None),
        region=text(doc.get("region"), 64) or (event.region if event else None),
        score=score,
        band=band,
        severity=severity,
        resource=resource_of(mapping(doc.get("resource"))),
        count=count if isinstance(count, int) and not isinstance(count, bool) else None,
        archived=service.get("archived") is True,
        sample=mapping(service.get("additionalInfo")).get("sample") is True,
        created_at=parse_time(doc.get("createdAt")),
        updated_at=parse_time(doc.get("updatedAt")),
        first_seen=text(service.get("eventFirstSeen"), 64),
        last_seen=text(service.get("eventLastSeen"), 64),
    )


def _summary(finding: Finding) -> str:
    lines = [
        f"Finding type: {finding.type}",
        f"Severity: {finding.score:g} ({finding.band})",
        f"Resource: {finding.resource.label}",
        f"Account: {finding.account or '?'}   Region: {finding.region or '?'}",
        f"Seen: {finding.count or '?'} time(s), first {finding.first_seen or '?'}, "
        f"last {finding.last_seen or '?'}",
    ]
    if finding.description:
        lines.append(finding.description)
    if finding.archived:
        lines.append("The finding was archived: the incident resolves.")
    if finding.sample:
        lines.append("This is a sample finding (generated by CreateSampleFindings).")
    lines.append(f"Finding id: {finding.id}")
    return "\n".join(lines)


def finding_alert(
    finding: Finding,
    *,
    dedupe: str | None,
    payload: Any,
    fallback_time: datetime,
    delivery: str,
) -> Alert:
    where = f"{finding.account or '?'}, {finding.region or '?'}"
    state = "archived: " if finding.archived else ""
    return Alert(
        title=f"GuardDuty {finding.band}: {state}{finding.title} "
        f"({finding.resource.label}, {where})",
        source_time=finding.updated_at or finding.created_at or fallback_time,
        dedupe_key=dedupe,
        kind=KIND,
        severity=finding.severity,
        summary=_summary(finding),
        attributes={
            "finding_id": finding.id,
            "finding_arn": finding.arn,
            "finding_type": finding.type,
            "account": finding.account,
            "region": finding.region,
            "severity_score": finding.score,
            "severity_band": finding.band,
            "resource_type": finding.resource.type,
            "resource": finding.resource.label,
            "resource_key": finding.resource.key,
            "count": finding.count,
            "archived": finding.archived,
            "sample": finding.sample,
            "first_seen": finding.first_seen,
            "last_seen": finding.last_seen,
            "delivery": delivery,
        },
        links={"finding": finding_console_link(finding.region, finding.id)},
        payload=payload,
    )


def _bare_alerts(doc: Any, notification: SnsNotification) -> list[Alert] | None:
    """Alerts for bare findings (one or a list), keyed by their version."""
    found = bare_documents(doc, is_finding, "a GuardDuty finding")
    if found is None:
        return None
    alerts = []
    for item in found:
        finding = read_finding(item, None)
        key = version_key(
            "guardduty", finding.id, finding.updated_at, finding.count, finding.archived
        )
        alerts.append(
            finding_alert(
                finding,
                dedupe=key,
                payload=item,
                fallback_time=notification.timestamp,
                delivery=notification.kind,
            )
        )
    return alerts


def alerts_for(notification: SnsNotification, settings: GuardDutySettings) -> ParseResult:
    """Alerts for one unwrapped message: events, bare findings, or one ``info`` alert."""

    def per_event(event: EventBridgeEvent, single: bool) -> list[Alert]:
        finding = read_finding(event.detail, event)
        return [
            finding_alert(
                finding,
                dedupe=dedupe_key(event, notification),
                payload=kept_payload(event, notification, single),
                fallback_time=event.time or notification.timestamp,
                delivery=notification.kind,
            )
        ]

    return event_result(
        notification,
        SOURCE,
        "a GuardDuty finding",
        per_event,
        lambda doc: _bare_alerts(doc, notification),
    )


def fingerprint(alert: Alert, settings: Any) -> str:
    """One incident per finding; with ``group_across_regions``, per finding type and
    resource in the account."""
    if alert.kind != KIND:
        return other_fingerprint(alert)
    attrs = alert.attributes
    if getattr(settings, "group_across_regions", False):
        account = attrs.get("account") or "unknown-account"
        where = f"{account}:{attrs.get('finding_type')}:{attrs.get('resource_key')}"
        return f"aws_guardduty:type:{where}"
    return finding_fingerprint(attrs.get("account"), attrs.get("region"), str(attrs["finding_id"]))


def action(alert: Alert, settings: Any) -> Action:
    """Archived resolves; scored below ``minimum_severity`` is info; else trigger."""
    if alert.kind != KIND:
        return Action.INFO
    if alert.attributes.get("archived") is True:
        return Action.RESOLVE
    score = alert.attributes.get("severity_score")
    minimum = getattr(settings, "minimum_severity", 0.0)
    return Action.INFO if isinstance(score, int | float) and score < minimum else Action.TRIGGER

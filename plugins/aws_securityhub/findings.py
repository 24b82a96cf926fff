"""Security Hub findings (ASFF) from "Security Hub Findings - Imported" events to alerts.

Security Hub sends an event each time a finding is created or updated. Grouping follows
what is wrong, with what, where: the control (the consolidated ``SecurityControlId`` when
present, so one control failing in several standards is one incident; else the
standard's control id, the generator or the finding type), the resource and the account.
A finding GuardDuty produced keeps the ``aws_guardduty`` type's fingerprint for that
finding, so both integrations on one service share its incident.

``Compliance.Status`` PASSED, ``Workflow.Status`` RESOLVED or SUPPRESSED, or ``RecordState``
ARCHIVED resolve; anything else triggers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field

from alertgate.errors import MalformedDelivery
from alertgate.models import Action, Alert, ParseResult, Severity
from alertgate.plugins.aws_guardduty.findings import finding_fingerprint
from alertgate.plugins.aws_sns.eventbridge import (
    EventBridgeEvent,
    bare_documents,
    console_url,
    dedupe_key,
    event_result,
    https_link,
    kept_payload,
    mapping,
    other_fingerprint,
    parse_time,
    text,
    version_key,
)
from alertgate.plugins.aws_sns.models import SnsNotification, SnsSettings

SOURCE = "aws.securityhub"
KIND = "securityhub_finding"
MAX_FINDINGS = 100
"""Findings per event (Security Hub sends one; custom actions at most 100 by API limits)."""

Label = Literal["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
LABELS: Mapping[str, tuple[int, Severity]] = {
    "INFORMATIONAL": (0, Severity.INFO),
    "LOW": (1, Severity.INFO),
    "MEDIUM": (2, Severity.WARNING),
    "HIGH": (3, Severity.ERROR),
    "CRITICAL": (4, Severity.CRITICAL),
}
"""ASFF ``Severity.Label``: its rank and the alertgate severity it opens an incident at."""

_GUARDDUTY_ID = re.compile(
    r"^arn:aws[a-z-]*:guardduty:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"detector/[^/]+/finding/(?P<id>[A-Za-z0-9]+)$"
)


class SecurityHubSettings(SnsSettings):
    """Per-integration options of an AWS Security Hub integration."""

    minimum_label: Label = Field(
        "LOW",
        title="Lowest severity label that opens an incident",
        description="Findings labelled below this are recorded as info and open nothing "
        "(resolving signals still resolve). The default keeps everything but "
        "INFORMATIONAL.",
    )


def label_of(finding: Mapping[str, Any]) -> str:
    """``Severity.Label``, else derived from ``Severity.Normalized`` as Security Hub does."""
    severity = mapping(finding.get("Severity"))
    label = text(severity.get("Label"), 32)
    if label and label.upper() in LABELS:
        return label.upper()
    normalized = severity.get("Normalized")
    if isinstance(normalized, int | float) and not isinstance(normalized, bool):
        for floor, name in ((90, "CRITICAL"), (70, "HIGH"), (40, "MEDIUM"), (1, "LOW")):
            if normalized >= floor:
                return name
    return "INFORMATIONAL"


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    title: str
    description: str
    account: str | None
    region: str | None
    product: str
    control: str
    control_kind: str
    """``security_control``, ``standard_control``, ``generator`` or ``type``."""
    resource: str
    resource_type: str | None
    label: str
    compliance: str | None
    workflow: str | None
    record_state: str | None
    standards: tuple[str, ...]
    updated_at: datetime | None
    guardduty_fingerprint: str | None
    remediation_url: str | None


def _control(finding: Mapping[str, Any]) -> tuple[str, str]:
    compliance = mapping(finding.get("Compliance"))
    fields = mapping(finding.get("ProductFields"))
    types = finding.get("Types")
    for kind, value in (
        ("security_control", compliance.get("SecurityControlId")),
        ("standard_control", fields.get("ControlId") or fields.get("RuleId")),
        ("generator", finding.get("GeneratorId")),
        ("type", types[0] if isinstance(types, list) and types else None),
    ):
        found = text(value, 512)
        if found:
            return found, kind
    return "unknown", "type"


def _standards(finding: Mapping[str, Any]) -> tuple[str, ...]:
    compliance = mapping(finding.get("Compliance"))
    fields = mapping(finding.get("ProductFields"))
    associated = compliance.get("AssociatedStandards")
    listed = associated if isinstance(associated, list) else []
    found = [text(mapping(item).get("StandardsId"), 256) for item in listed]
    found += [text(fields.get(key), 256) for key in ("StandardsArn", "StandardsGuideArn")]
    return tuple(dict.fromkeys(s for s in found if s))


def _guardduty_fingerprint(finding: Mapping[str, Any], finding_id: str) -> str | None:
    product = text(finding.get("ProductArn"), 512) or ""
    if not product.endswith(":product/aws/guardduty"):
        return None
    match = _GUARDDUTY_ID.match(finding_id)
    if match is None:
        return None
    return finding_fingerprint(match["account"], match["region"], match["id"])


def read_finding(doc: Mapping[str, Any], account: str | None, region: str | None) -> Finding:
    """Normalize one ASFF finding; ``account``/``region`` (the event's) fill gaps.

    :raises MalformedDelivery: The finding has no ``Id``.
    """
    finding_id = text(doc.get("Id"), 1024)
    if finding_id is None:
        raise MalformedDelivery("invalid_finding", "a Security Hub finding without an Id")
    control, control_kind = _control(doc)
    resource = _first(doc.get("Resources"))
    product = text(doc.get("ProductName"), 128) or text(
        mapping(doc.get("ProductFields")).get("aws/securityhub/ProductName"), 128
    )
    return Finding(
        id=finding_id,
        title=text(doc.get("Title"), 512) or control,
        description=text(doc.get("Description"), 2000) or "",
        account=text(doc.get("AwsAccountId"), 64) or account,
        region=text(doc.get("Region"), 64) or text(resource.get("Region"), 64) or region,
        product=product or "Security Hub",
        control=control,
        control_kind=control_kind,
        resource=text(resource.get("Id"), 2048) or "unknown-resource",
        resource_type=text(resource.get("Type"), 128),
        label=label_of(doc),
        compliance=text(mapping(doc.get("Compliance")).get("Status"), 32),
        workflow=text(mapping(doc.get("Workflow")).get("Status"), 32)
        or text(doc.get("WorkflowState"), 32),
        record_state=text(doc.get("RecordState"), 32),
        standards=_standards(doc),
        updated_at=parse_time(doc.get("UpdatedAt")) or parse_time(doc.get("LastObservedAt")),
        guardduty_fingerprint=_guardduty_fingerprint(doc, finding_id),
        remediation_url=https_link(
            mapping(mapping(doc.get("Remediation")).get("Recommendation")).get("Url")
        ),
    )


def _first(items: Any) -> Mapping[str, Any]:
    return mapping(items[0]) if isinstance(items, list) and items else {}


def resolved_by(finding: Finding) -> str | None:
    """Why the finding no longer needs anyone, or ``None`` if it still does."""
    if finding.compliance == "PASSED":
        return "Compliance.Status PASSED"
    if finding.workflow in ("RESOLVED", "SUPPRESSED"):
        return f"Workflow.Status {finding.workflow}"
    if finding.record_state == "ARCHIVED":
        return "RecordState ARCHIVED"
    return None


def _links(finding: Finding) -> dict[str, str]:
    region = finding.region or "us-east-1"
    search = quote(f"Id=\\operator\\:EQUALS\\:{finding.id}", safe="=")
    links = {
        "finding": console_url(
            region, f"securityhub/home?region={region}#/findings?search={quote(search)}"
        )
    }
    if finding.control_kind == "security_control":
        links["control"] = console_url(
            region, f"securityhub/home?region={region}#/controls/{quote(finding.control)}"
        )
    if finding.remediation_url:
        links["remediation"] = finding.remediation_url
    return links


def _summary(finding: Finding, resolution: str | None) -> str:
    lines = [
        f"Control: {finding.control}"
        if finding.control_kind.endswith("control")
        else f"Finding type: {finding.control}",
        f"Product: {finding.product}   Severity: {finding.label}",
        f"Resource: {finding.resource}"
        + (f" ({finding.resource_type})" if finding.resource_type else ""),
        f"Account: {finding.account or '?'}   Region: {finding.region or '?'}",
        f"Compliance: {finding.compliance or '-'}   Workflow: {finding.workflow or '-'}   "
        f"Record: {finding.record_state or '-'}",
    ]
    if finding.standards:
        lines.append("Standards: " + ", ".join(finding.standards))
    if finding.description:
        lines.append(finding.description)
    if resolution:
        lines.append(f"Resolved: {resolution}.")
    lines.append(f"Finding id: {finding.id}")
    return "\n".join(lines)


def finding_alert(
    finding: Finding, *, dedupe: str | None, payload: Any, fallback_time: datetime, delivery: str
) -> Alert:
    resolution = resolved_by(finding)
    where = f"{finding.account or '?'}, {finding.region or '?'}"
    prefix = "resolved: " if resolution else ""
    return Alert(
        title=f"Security Hub {finding.label}: {prefix}{finding.title} "
        f"({finding.resource}, {where})",
        source_time=finding.updated_at or fallback_time,
        dedupe_key=dedupe,
        kind=KIND,
        severity=LABELS[finding.label][1],
        summary=_summary(finding, resolution),
        attributes={
            "finding_id": finding.id,
            "control": finding.control,
            "control_kind": finding.control_kind,
            "product": finding.product,
            "account": finding.account,
            "region": finding.region,
            "resource": finding.resource,
            "resource_type": finding.resource_type,
            "severity_label": finding.label,
            "compliance_status": finding.compliance,
            "workflow_status": finding.workflow,
            "record_state": finding.record_state,
            "standards": list(finding.standards),
            "resolved_by": resolution,
            "guardduty_fingerprint": finding.guardduty_fingerprint,
            "delivery": delivery,
        },
        links=_links(finding),
        payload=payload,
    )


def _findings_of(detail: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    found = detail.get("findings")
    if not isinstance(found, list) or not all(isinstance(f, dict) for f in found):
        raise MalformedDelivery("invalid_finding", "detail.findings must be a list of findings")
    if len(found) > MAX_FINDINGS:
        raise MalformedDelivery("too_many_findings", f"at most {MAX_FINDINGS} findings per event")
    return found


def is_finding(doc: Any) -> bool:
    """A bare ASFF finding."""
    return isinstance(doc, dict) and "ProductArn" in doc and "Id" in doc and "SchemaVersion" in doc


def _bare_alerts(doc: Any, notification: SnsNotification) -> list[Alert] | None:
    """Alerts for bare ASFF findings: one, a list, or a GetFindings answer
    ``{"Findings": [...]}``; keyed by their version."""
    if isinstance(doc, dict) and isinstance(doc.get("Findings"), list):
        doc = doc["Findings"]
    found = bare_documents(doc, is_finding, "a Security Hub finding")
    if found is None:
        return None
    alerts = []
    for item in found:
        finding = read_finding(item, None, None)
        alerts.append(
            finding_alert(
                finding,
                dedupe=version_key("securityhub", finding.id, finding.updated_at),
                payload=item,
                fallback_time=notification.timestamp,
                delivery=notification.kind,
            )
        )
    return alerts


def alerts_for(notification: SnsNotification, settings: SecurityHubSettings) -> ParseResult:
    """Alerts for one unwrapped message: events, bare findings, or one ``info`` alert."""

    def per_event(event: EventBridgeEvent, single: bool) -> list[Alert]:
        found = _findings_of(event.detail)
        many = len(found) > 1
        return [
            finding_alert(
                read_finding(item, event.account, event.region),
                dedupe=dedupe_key(event, notification, str(index) if many else None),
                payload=kept_payload(event, notification, single and not many),
                fallback_time=event.time or notification.timestamp,
                delivery=notification.kind,
            )
            for index, item in enumerate(found)
        ]

    return event_result(
        notification,
        SOURCE,
        "a Security Hub finding",
        per_event,
        lambda doc: _bare_alerts(doc, notification),
    )


def fingerprint(alert: Alert, settings: object = None) -> str:
    """(control or finding type, resource, account); GuardDuty's key for its findings."""
    if alert.kind != KIND:
        return other_fingerprint(alert)
    attrs = alert.attributes
    if attrs.get("guardduty_fingerprint"):
        return str(attrs["guardduty_fingerprint"])
    account = attrs.get("account") or "unknown-account"
    return f"aws_securityhub:{attrs.get('control')}:{attrs.get('resource')}:{account}"


def action(alert: Alert, settings: Any) -> Action:
    """A resolving state resolves; labelled below ``minimum_label`` is info; else trigger."""
    if alert.kind != KIND:
        return Action.INFO
    if alert.attributes.get("resolved_by"):
        return Action.RESOLVE
    minimum = getattr(settings, "minimum_label", "LOW")
    rank = LABELS.get(str(alert.attributes.get("severity_label")), (0, Severity.INFO))[0]
    return Action.INFO if rank < LABELS[minimum][0] else Action.TRIGGER

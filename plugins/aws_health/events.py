"""AWS Health events ("AWS Health Event" / "AWS Health Abuse Event") to alerts.

AWS Health sends an event when an event opens, is updated, and closes (``statusCode``
``upcoming`` / ``open`` / ``closed``). One incident per event ARN and affected account, and
per affected entity when the event lists entities (one alert per entity), so an instance
retirement for five instances is five incidents that close one by one or together. The
account is ``detail.affectedAccount`` when present: with AWS Health organizational view the
management (or delegated administrator) account receives the events of every member, and
the event's own ``account`` is the receiving one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from pydantic import Field

from alertgate.errors import MalformedDelivery
from alertgate.models import Action, Alert, ParseResult, Severity
from alertgate.plugins.aws_sns.eventbridge import (
    EventBridgeEvent,
    dedupe_key,
    event_result,
    kept_payload,
    mapping,
    other_fingerprint,
    parse_time,
    text,
)
from alertgate.plugins.aws_sns.models import SnsNotification, SnsSettings

SOURCE = "aws.health"
KIND = "health_event"
MAX_ENTITIES = 500
"""Affected entities per event (AWS Health pages longer lists into several events)."""


class HealthSettings(SnsSettings):
    """Per-integration options of an AWS Health integration."""

    issue_severity: Severity = Field(
        Severity.ERROR,
        title="Severity of service issues",
        description="The severity of incidents for service issues (and abuse events).",
    )
    scheduled_change_severity: Severity = Field(
        Severity.WARNING,
        title="Severity of scheduled changes",
        description="The severity of upcoming and ongoing scheduled changes (maintenance, "
        "retirements).",
    )
    account_notification_severity: Severity = Field(
        Severity.INFO,
        title="Severity of account notifications",
        description="The severity of account notifications and investigations.",
    )


@dataclass(frozen=True, slots=True)
class HealthEvent:
    arn: str
    service: str
    type_code: str
    category: str
    scope: str | None
    status: str
    account: str | None
    region: str | None
    description: str
    start: str | None
    end: str | None
    updated_at: datetime | None
    organizational: bool
    abuse: bool


def _region_of(arn: str) -> str | None:
    parts = arn.split(":")
    return (parts[3] or None) if len(parts) > 5 else None


def read_event(event: EventBridgeEvent) -> HealthEvent:
    """Normalize one AWS Health event.

    :raises MalformedDelivery: The event has no ``eventArn``.
    """
    detail = event.detail
    arn = text(detail.get("eventArn"), 1600)
    if arn is None:
        raise MalformedDelivery("invalid_event", "an AWS Health event without an eventArn")
    affected = text(detail.get("affectedAccount"), 64)
    descriptions = detail.get("eventDescription")
    first = mapping(descriptions[0]) if isinstance(descriptions, list) and descriptions else {}
    return HealthEvent(
        arn=arn,
        service=text(detail.get("service"), 128) or "unknown",
        type_code=text(detail.get("eventTypeCode"), 256) or "unknown",
        category=text(detail.get("eventTypeCategory"), 64) or "unknown",
        scope=text(detail.get("eventScopeCode"), 64),
        status=(text(detail.get("statusCode"), 32) or "open").lower(),
        account=affected or event.account,
        region=text(detail.get("eventRegion"), 64) or _region_of(arn) or event.region,
        description=text(first.get("latestDescription"), 4000) or "",
        start=text(detail.get("startTime"), 64),
        end=text(detail.get("endTime"), 64),
        updated_at=parse_time(detail.get("lastUpdatedTime")),
        organizational=affected is not None and affected != event.account,
        abuse=event.detail_type == "AWS Health Abuse Event",
    )


def entities_of(event: EventBridgeEvent) -> list[str]:
    """Affected entities (``detail.affectedEntities``, else the event's ``resources``)."""
    listed = event.detail.get("affectedEntities")
    if isinstance(listed, list):
        found = [text(mapping(item).get("entityValue"), 1024) for item in listed]
    else:
        found = list(event.resources)
    entities = list(dict.fromkeys(e for e in found if e))
    if len(entities) > MAX_ENTITIES:
        raise MalformedDelivery("too_many_entities", f"at most {MAX_ENTITIES} affected entities")
    return entities


def severity_of(health: HealthEvent, settings: HealthSettings) -> Severity:
    if health.abuse or health.category == "issue":
        return settings.issue_severity
    if health.category == "scheduledChange":
        return settings.scheduled_change_severity
    return settings.account_notification_severity


def event_link(health: HealthEvent) -> str:
    view = "organization" if health.organizational else "account"
    return (
        f"https://health.aws.amazon.com/health/home#/{view}/event-log?"
        f"eventID={quote(health.arn, safe='')}&eventTab=details"
    )


def _summary(health: HealthEvent, entity: str | None) -> str:
    lines = [
        f"Event: {health.type_code} ({health.service}, {health.category}), status {health.status}",
        f"Account: {health.account or '?'}   Region: {health.region or '?'}"
        + ("   (organizational view)" if health.organizational else ""),
        f"Start: {health.start or '?'}   End: {health.end or '-'}",
    ]
    if entity:
        lines.append(f"Affected entity: {entity}")
    if health.description:
        lines.append(health.description)
    lines.append(f"Event ARN: {health.arn}")
    return "\n".join(lines)


def health_alert(
    health: HealthEvent,
    entity: str | None,
    settings: HealthSettings,
    *,
    dedupe: str | None,
    payload: Any,
    fallback_time: datetime,
    delivery: str,
) -> Alert:
    what = "abuse report" if health.abuse else health.category
    target = f" on {entity}" if entity else ""
    status = "" if health.status == "open" else f"{health.status}: "
    return Alert(
        title=f"AWS Health {what}: {status}{health.type_code}{target} "
        f"({health.account or '?'}, {health.region or '?'})",
        source_time=health.updated_at or fallback_time,
        dedupe_key=dedupe,
        kind=KIND,
        severity=severity_of(health, settings),
        summary=_summary(health, entity),
        attributes={
            "event_arn": health.arn,
            "service": health.service,
            "event_type_code": health.type_code,
            "category": health.category,
            "scope": health.scope,
            "status": health.status,
            "account": health.account,
            "region": health.region,
            "entity": entity,
            "organizational": health.organizational,
            "start_time": health.start,
            "end_time": health.end,
            "delivery": delivery,
        },
        links={"event": event_link(health)},
        payload=payload,
    )


def alerts_for(notification: SnsNotification, settings: HealthSettings) -> ParseResult:
    """Alerts for one unwrapped message: one per affected entity (or one for the event)."""

    def per_event(event: EventBridgeEvent, single: bool) -> list[Alert]:
        health = read_event(event)
        entities: list[str | None] = [*entities_of(event)]
        many = len(entities) > 1
        return [
            health_alert(
                health,
                entity,
                settings,
                dedupe=dedupe_key(event, notification, entity if many else None),
                payload=kept_payload(event, notification, single and not many),
                fallback_time=event.time or notification.timestamp,
                delivery=notification.kind,
            )
            for entity in (entities or [None])
        ]

    return event_result(notification, SOURCE, "an AWS Health event", per_event, lambda _: None)


def fingerprint(alert: Alert, settings: object = None) -> str:
    """Event ARN and affected account, plus the entity when the event lists one."""
    if alert.kind != KIND:
        return other_fingerprint(alert)
    attrs = alert.attributes
    key = f"aws_health:{attrs.get('account') or 'unknown-account'}:{attrs.get('event_arn')}"
    return f"{key}:{attrs['entity']}" if attrs.get("entity") else key


def action(alert: Alert, settings: object = None) -> Action:
    """``statusCode`` closed resolves; upcoming and open trigger."""
    if alert.kind != KIND:
        return Action.INFO
    return Action.RESOLVE if alert.attributes.get("status") == "closed" else Action.TRIGGER

"""alertgate plugin: the ``grafana_alerting`` integration type.

A source posts JSON to the Integration URL, one alert per request::

    {"id": "evt-1", "name": "disk full on db-1", "status": "firing",
     "severity": "critical", "summary": "...", "time": "2026-03-01T12:00:00Z"}

``status`` ``firing`` opens (or joins) an incident, ``resolved`` resolves it; alerts with the
same ``name`` (or ``fingerprint``, when given) group into one incident. Change the parser
below to the format of your source.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alertgate import (
    Action,
    Alert,
    InboundRequest,
    IntegrationType,
    MalformedDelivery,
    ParseContext,
    ParseResult,
    Severity,
    hookimpl,
)

SLUG = "grafana_alerting"
ALERTGATE_HOOK_API = ">=1.0,<2"
"""The alertgate hook-API versions this plugin works with (checked when it is loaded)."""

MAX_BODY_BYTES = 256 * 1024


class Settings(BaseModel):
    """Per-integration options, validated when an integration is created."""

    # A misspelt option is an error instead of being ignored.
    model_config = ConfigDict(extra="forbid")

    default_severity: Severity = Field(
        Severity.ERROR, description="Severity of alerts that do not say."
    )


@hookimpl
def alertgate_integration_types() -> list[IntegrationType]:
    return [
        IntegrationType(
            slug=SLUG,
            title="Grafana Alerting",
            description="JSON alerts posted by Grafana Alerting: firing opens, resolved resolves.",
            docs_url="https://pypi.org/project/alertgate-grafana-alerting/",
            settings_model=Settings,
            parses_inline=True,  # pure computation: parse on the event loop
        )
    ]


def _field(doc: dict[str, Any], key: str, limit: int = 1000) -> str:
    value = doc.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedDelivery("invalid_field", f"{key!r} must be a string")
    return value[:limit]


def _time(text: str) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedDelivery("invalid_time", "'time' must be an ISO 8601 time") from None
    if when.tzinfo is None:
        raise MalformedDelivery("invalid_time", "'time' needs a timezone")
    return when.astimezone(UTC)


@hookimpl
def alertgate_parse_request(
    integration_type: str, request: InboundRequest, context: ParseContext
) -> ParseResult | None:
    if integration_type != SLUG:
        return None
    if len(request.body) > MAX_BODY_BYTES:
        raise MalformedDelivery("too_large", f"body over {MAX_BODY_BYTES} bytes")
    try:
        doc = json.loads(request.body)
    except (ValueError, RecursionError):
        raise MalformedDelivery("invalid_json", "the body is not JSON") from None
    if not isinstance(doc, dict):
        raise MalformedDelivery("invalid_alert", "expected a JSON object")
    name = _field(doc, "name", 200)
    status = _field(doc, "status")
    if not name or status not in ("firing", "resolved"):
        raise MalformedDelivery(
            "invalid_alert", "expected 'name' and 'status' ('firing' or 'resolved')"
        )
    settings = context.settings
    assert isinstance(settings, Settings)
    try:
        severity = Severity(_field(doc, "severity") or settings.default_severity)
    except ValueError:
        severity = settings.default_severity
    alert = Alert(
        title=name,
        source_time=_time(_field(doc, "time", 64)),
        dedupe_key=_field(doc, "id", 200) or None,
        kind=SLUG,
        severity=severity,
        summary=_field(doc, "summary"),
        attributes={
            "name": name,
            "status": status,
            "fingerprint": _field(doc, "fingerprint", 200),
        },
        payload=doc,
    )
    return ParseResult(alerts=[alert], note=f"{name!r} {status}")


@hookimpl
def alertgate_fingerprint(integration_type: str, alert: Alert) -> str | None:
    if integration_type != SLUG:
        return None
    return f"{SLUG}:{alert.attributes['fingerprint'] or alert.attributes['name']}"


@hookimpl
def alertgate_classify(integration_type: str, alert: Alert) -> Action | None:
    if integration_type != SLUG:
        return None
    return Action.RESOLVE if alert.attributes["status"] == "resolved" else Action.TRIGGER

"""alertgate plugin: the ``grafana_alerting`` integration type (Grafana Alerting webhooks).

Point a Grafana Alerting webhook contact point at an Integration URL. Grafana posts a group
of alerts (``alerts[]``), each with its ``status`` (``firing`` or ``resolved``), labels,
annotations, ``startsAt``/``endsAt`` and a ``fingerprint`` of its labels. Every alert of
the group becomes one alertgate alert: ``firing`` opens or joins the incident of its
fingerprint, ``resolved`` resolves it. So one Grafana alert instance is one incident, however
Grafana groups its notifications. The payload format is described in Grafana's
documentation, "Configure webhook notifications" (JSON payload).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alertgate import (
    Action,
    Alert,
    ForbiddenDelivery,
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

MAX_BODY_BYTES = 1024 * 1024
MAX_ALERTS = 1000
MAX_TEXT = 1000
UNSET_TIME = "0001-01-01T00:00:00Z"  # Grafana's endsAt of an alert that has not ended
SEVERITIES = {
    "critical": Severity.CRITICAL,
    "high": Severity.CRITICAL,
    "error": Severity.ERROR,
    "major": Severity.ERROR,
    "warning": Severity.WARNING,
    "minor": Severity.WARNING,
    "info": Severity.INFO,
}


class Settings(BaseModel):
    """Per-integration options of a Grafana Alerting integration."""

    model_config = ConfigDict(extra="forbid")

    default_severity: Severity = Field(
        Severity.ERROR, description="Severity of alerts without a 'severity' label."
    )
    authorization_sha256: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{64}$",
        description="Hex SHA-256 of the credentials the contact point sends in its "
        "Authorization header ('Authentication Header Credentials'); unset: not checked.",
    )


@hookimpl
def alertgate_integration_types() -> list[IntegrationType]:
    return [
        IntegrationType(
            slug=SLUG,
            title="Grafana Alerting",
            description="Grafana Alerting webhook contact point: each alert instance is an "
            "incident, opened when firing and resolved when Grafana resolves it.",
            docs_url="https://grafana.com/docs/grafana/latest/alerting/configure-notifications/"
            "manage-contact-points/integrations/webhook-notifier/",
            settings_model=Settings,
            parses_inline=True,  # pure computation: parse on the event loop
        )
    ]


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _strings(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or len(value) > 200:
        raise MalformedDelivery("invalid_alert", f"{where} must be an object of strings")
    return {_text(k, 200): _text(v) for k, v in value.items() if isinstance(k, str)}


_FRACTION = re.compile(r"(\.\d{6})\d+")  # Go writes nanoseconds; Python reads microseconds


def _time(value: Any, where: str) -> datetime | None:
    text = _text(value, 64)
    if not text or text == UNSET_TIME:
        return None
    try:
        when = datetime.fromisoformat(_FRACTION.sub(r"\1", text).replace("Z", "+00:00"))
    except ValueError:
        raise MalformedDelivery("invalid_time", f"{where} is not an RFC 3339 time") from None
    if when.tzinfo is None:
        raise MalformedDelivery("invalid_time", f"{where} has no timezone")
    return when.astimezone(UTC)


def _check_authorization(request: InboundRequest, settings: Settings) -> None:
    if settings.authorization_sha256 is None:
        return
    _, _, credentials = request.headers.get("authorization", "").partition(" ")
    digest = hashlib.sha256(credentials.encode()).hexdigest()
    if not credentials or not hmac.compare_digest(digest, settings.authorization_sha256):
        raise ForbiddenDelivery("bad_authorization", "missing or wrong Authorization header")


def _alert(item: Any, index: int, settings: Settings, group: Mapping[str, Any]) -> Alert:
    where = f"alerts[{index}]"
    if not isinstance(item, Mapping):
        raise MalformedDelivery("invalid_alert", f"{where} must be an object")
    status = item.get("status")
    fingerprint = _text(item.get("fingerprint"), 200)
    if status not in ("firing", "resolved") or not fingerprint:
        raise MalformedDelivery(
            "invalid_alert", f"{where} needs 'status' (firing or resolved) and 'fingerprint'"
        )
    labels = _strings(item.get("labels"), f"{where}.labels")
    annotations = _strings(item.get("annotations"), f"{where}.annotations")
    starts = _time(item.get("startsAt"), f"{where}.startsAt")
    ends = _time(item.get("endsAt"), f"{where}.endsAt")
    # A resolved alert happened when it ended; a firing one when it started.
    when = (ends if status == "resolved" else starts) or starts or datetime.now(UTC)
    name = labels.get("alertname") or "Grafana alert"
    summary = annotations.get("summary") or annotations.get("description", "")
    severity = SEVERITIES.get(labels.get("severity", "").lower(), settings.default_severity)
    links = {
        key: url
        for key, url in (
            ("source", _text(item.get("generatorURL"))),
            ("silence", _text(item.get("silenceURL"))),
            ("dashboard", _text(item.get("dashboardURL"))),
            ("panel", _text(item.get("panelURL"))),
            ("runbook", annotations.get("runbook_url", "")),
        )
        if url.startswith(("https://", "http://"))
    }
    return Alert(
        title=f"{name}: {summary}" if summary else name,
        source_time=when,
        # Grafana repeats a notification for as long as an alert fires: one copy is enough.
        dedupe_key=f"{fingerprint}:{status}:{when.isoformat()}",
        kind="grafana_alert",
        severity=severity,
        summary=annotations.get("description", summary),
        attributes={
            "fingerprint": fingerprint,
            "status": status,
            "labels": labels,
            "annotations": annotations,
            "receiver": _text(group.get("receiver"), 200),
            "org_id": group.get("orgId") if isinstance(group.get("orgId"), int) else None,
        },
        links=links,
        payload=dict(item),
    )


@hookimpl
def alertgate_parse_request(
    integration_type: str, request: InboundRequest, context: ParseContext
) -> ParseResult | None:
    if integration_type != SLUG:
        return None
    settings = context.settings
    assert isinstance(settings, Settings)
    _check_authorization(request, settings)
    if len(request.body) > MAX_BODY_BYTES:
        raise MalformedDelivery("too_large", f"body over {MAX_BODY_BYTES} bytes")
    try:
        doc = json.loads(request.body)
    except (ValueError, RecursionError):
        raise MalformedDelivery("invalid_json", "the body is not JSON") from None
    alerts = doc.get("alerts") if isinstance(doc, dict) else None
    if not isinstance(alerts, list) or not alerts:
        raise MalformedDelivery("invalid_payload", "expected a Grafana webhook with 'alerts'")
    if len(alerts) > MAX_ALERTS:
        raise MalformedDelivery("too_many_alerts", f"more than {MAX_ALERTS} alerts")
    parsed = [_alert(item, i, settings, doc) for i, item in enumerate(alerts)]
    firing = sum(1 for a in parsed if a.attributes["status"] == "firing")
    return ParseResult(alerts=parsed, note=f"{firing} firing, {len(parsed) - firing} resolved")


@hookimpl
def alertgate_fingerprint(integration_type: str, alert: Alert) -> str | None:
    if integration_type != SLUG:
        return None
    return f"grafana:{alert.attributes['fingerprint']}"


@hookimpl
def alertgate_classify(integration_type: str, alert: Alert) -> Action | None:
    if integration_type != SLUG:
        return None
    return Action.RESOLVE if alert.attributes["status"] == "resolved" else Action.TRIGGER

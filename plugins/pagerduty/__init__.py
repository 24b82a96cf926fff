"""The ``pagerduty`` channel: PagerDuty Events API v2, so alertgate can sit in front of an
existing pager.

``opened`` (and re-notifications) trigger, ``acknowledged`` acknowledges and ``resolved``
resolves the PagerDuty alert whose ``dedup_key`` is ``alertgate-<incident id>``. The
routing key is a secret; the API's base URL is a setting (tests and proxies).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from alertgate import (
    URL_SCHEMA,
    ChannelPlugin,
    ChannelType,
    Notification,
    NotifyEvent,
    OutboundHttp,
    check_url,
)

SLUG = "pagerduty"
ACTIONS = {NotifyEvent.ACKNOWLEDGED: "acknowledge", NotifyEvent.RESOLVED: "resolve"}
SEVERITIES = {"critical", "error", "warning", "info"}


class PagerDutySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    routing_key: SecretStr = Field(description="The integration key of a PagerDuty service.")
    base_url: str = Field(
        "https://events.pagerduty.com",
        description="Events API base URL.",
        max_length=2048,
        json_schema_extra=URL_SCHEMA,
    )

    @field_validator("base_url")
    @classmethod
    def _outbound(cls, value: str) -> str:
        return check_url(value)


def dedup_key(notification: Notification) -> str:
    if notification.event is NotifyEvent.TEST:
        return notification.idempotency_key
    return f"alertgate-{notification.incident.get('id')}"


def event(notification: Notification, routing_key: str) -> dict[str, Any]:
    """The Events API v2 body."""
    inc = notification.incident
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": ACTIONS.get(notification.event, "trigger"),
        "dedup_key": dedup_key(notification),
    }
    if body["event_action"] != "trigger":
        return body
    severity = str(inc.get("severity"))
    body["payload"] = {
        "summary": notification.headline[:1024],
        "source": str(inc.get("service") or "alertgate"),
        "severity": severity if severity in SEVERITIES else "error",
        "custom_details": {
            "what_changed": notification.what_changed,
            "fingerprint": inc.get("fingerprint"),
            "alertgate_incident": inc.get("id"),
        },
    }
    if inc.get("url"):
        body["links"] = [{"href": inc["url"], "text": "alertgate incident"}]
    return body


class PagerDuty(ChannelPlugin):
    channel_type = ChannelType(
        slug=SLUG,
        title="PagerDuty",
        description="Triggers, acknowledges and resolves PagerDuty alerts (Events API v2).",
        settings_model=PagerDutySettings,
    )

    def send(self, notification: Notification, settings: Any, http: OutboundHttp) -> None:
        assert isinstance(settings, PagerDutySettings)
        body = json.dumps(event(notification, settings.routing_key.get_secret_value())).encode()
        http.post(
            settings.base_url.rstrip("/") + "/v2/enqueue",
            content=body,
            headers={"Content-Type": "application/json"},
        )


plugin = PagerDuty()

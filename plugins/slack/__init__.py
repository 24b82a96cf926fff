"""The ``slack`` channel: a readable message to a Slack incoming webhook.

The message says the status, severity, service and title, what changed, and links to the
incident (and, while it is open, to the signed acknowledge link). The webhook URL is a
secret: anyone holding it can post to the channel.
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

SLUG = "slack"
EMOJI = {"critical": ":red_circle:", "error": ":large_orange_circle:", "warning": ":warning:"}
RESOLVED_EMOJI = ":white_check_mark:"


class SlackSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: SecretStr = Field(
        description="The incoming webhook URL Slack gave you.", json_schema_extra=URL_SCHEMA
    )

    @field_validator("webhook_url")
    @classmethod
    def _outbound(cls, value: SecretStr) -> SecretStr:
        check_url(value.get_secret_value())
        return value


def message(notification: Notification) -> dict[str, Any]:
    """The Slack message (``text`` for notifications, ``blocks`` for the channel)."""
    inc = notification.incident
    resolved = notification.event is NotifyEvent.RESOLVED
    emoji = RESOLVED_EMOJI if resolved else EMOJI.get(str(inc.get("severity")), ":bell:")
    headline = f"{emoji} {notification.headline}"
    fields = [
        {"type": "mrkdwn", "text": f"*Status*\n{inc.get('status', '')}"},
        {"type": "mrkdwn", "text": f"*Severity*\n{inc.get('severity', '')}"},
        {"type": "mrkdwn", "text": f"*Service*\n{inc.get('service', '')}"},
        {"type": "mrkdwn", "text": f"*Incident*\n#{inc.get('id', '')}"},
    ]
    links = [f"<{inc['url']}|Open incident>"] if inc.get("url") else []
    ack_url = notification.payload.get("ack_url")
    if ack_url:
        links.append(f"<{ack_url}|Acknowledge>")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*"}},
        {"type": "section", "fields": fields},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": notification.what_changed}]},
    ]
    if links:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": " · ".join(links)}})
    return {"text": f"{headline} — {notification.what_changed}", "blocks": blocks}


class Slack(ChannelPlugin):
    channel_type = ChannelType(
        slug=SLUG,
        title="Slack",
        description="Posts a readable message to a Slack incoming webhook.",
        settings_model=SlackSettings,
    )

    def send(self, notification: Notification, settings: Any, http: OutboundHttp) -> None:
        assert isinstance(settings, SlackSettings)
        body = json.dumps(message(notification)).encode()
        http.post(
            settings.webhook_url.get_secret_value(),
            content=body,
            headers={"Content-Type": "application/json"},
        )


plugin = Slack()

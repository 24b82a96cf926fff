"""What channel plugins see: the contract of ``alertgate_channel_types`` and
``alertgate_send_notification`` (exported from :mod:`alertgate`)."""

from __future__ import annotations

import enum
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, SecretStr


class NotifyEvent(enum.StrEnum):
    """Why a notification is sent (the ``event`` field of every payload)."""

    OPENED = "opened"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    RENOTIFIED = "renotified"
    DIGEST = "digest"
    TEST = "test"


_LABELS = {
    NotifyEvent.OPENED: "TRIGGERED",
    NotifyEvent.ACKNOWLEDGED: "ACKNOWLEDGED",
    NotifyEvent.RESOLVED: "RESOLVED",
    NotifyEvent.RENOTIFIED: "STILL TRIGGERED",
    NotifyEvent.DIGEST: "DIGEST",
    NotifyEvent.TEST: "TEST",
}
_CHANGES = {
    NotifyEvent.OPENED: "Incident opened",
    NotifyEvent.ACKNOWLEDGED: "Acknowledged",
    NotifyEvent.RESOLVED: "Resolved",
    NotifyEvent.RENOTIFIED: "Still triggered, not acknowledged",
    NotifyEvent.DIGEST: "Several changes folded into one message",
    NotifyEvent.TEST: "A test notification: this channel works",
}

ROUTABLE_EVENTS = (NotifyEvent.OPENED, NotifyEvent.ACKNOWLEDGED, NotifyEvent.RESOLVED)
"""Events a routing rule may select; repeats of an open incident are only sent as digests."""


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_is_secret(arg) for arg in typing.get_args(annotation))


@dataclass(frozen=True, slots=True)
class ChannelType:
    """One channel type, returned by ``alertgate_channel_types``.

    Fields of ``settings_model`` annotated :class:`pydantic.SecretStr` (or
    ``SecretStr | None``) are secrets: stored encrypted, never returned by the API,
    masked in the UI and never logged.
    """

    slug: str
    title: str
    description: str
    settings_model: type[BaseModel]

    @property
    def secret_fields(self) -> frozenset[str]:
        return frozenset(
            name
            for name, info in self.settings_model.model_fields.items()
            if _is_secret(info.annotation)
        )


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to send, as the send hook receives it."""

    idempotency_key: str
    """The same on every attempt of this notification, across retries and restarts."""
    event: NotifyEvent
    payload: Mapping[str, Any]
    """The documented JSON body (docs/notifications.md): ``event``, ``incident``,
    ``ack_url`` while the incident is open, ... A webhook sends it verbatim."""
    channel_name: str
    attempt: int = 1

    @property
    def incident(self) -> Mapping[str, Any]:
        value = self.payload.get("incident")
        return value if isinstance(value, Mapping) else {}

    @property
    def headline(self) -> str:
        """One line for chat and mail subjects: ``[RESOLVED] error payments: CPU high``."""
        inc = self.incident
        label = _LABELS.get(self.event, self.event.value.upper())
        if inc.get("out_of_order"):
            label = "FIRED AND CLEARED"
        return (
            f"[{label}] {inc.get('severity', '')} {inc.get('service', '')}: {inc.get('title', '')}"
        )

    @property
    def what_changed(self) -> str:
        """A sentence saying what happened, for people."""
        digest = self.payload.get("digest")
        if self.event is NotifyEvent.DIGEST and isinstance(digest, Mapping):
            return str(digest.get("summary", _CHANGES[NotifyEvent.DIGEST]))
        actor = self.payload.get("actor")
        alert = self.payload.get("alert")
        inc = self.incident
        if inc.get("out_of_order"):
            return (
                f"Fired at {inc.get('opened_at')} and cleared at {inc.get('resolved_at')} "
                "(source times; the alarm reached alertgate after it had cleared)"
            )
        by = f" by {actor}" if actor and actor != "alert" else ""
        if self.event is NotifyEvent.OPENED and isinstance(alert, Mapping):
            return f"Opened by alert: {alert.get('title', '')}"
        if self.event is NotifyEvent.RESOLVED and isinstance(alert, Mapping):
            return f"Resolved by alert: {alert.get('title', '')}"
        return _CHANGES.get(self.event, "Incident updated") + by


class NotificationError(Exception):
    """Raised by a send hook when the message did not get through.

    The message is stored on the notification and shown in the API and UI: it must not
    contain secrets (a Slack webhook URL, a routing key, a password).

    :param retryable: False for failures another attempt cannot fix (e.g. 4xx, a rejected
        routing key): the notification is marked failed at once.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable

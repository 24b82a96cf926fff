"""A small integration type for the kit's own tests, with switches that break its contract."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from alertgate import (
    Action,
    Alert,
    IncidentEvent,
    IntegrationType,
    MalformedDelivery,
    ParseResult,
    hookimpl,
)

SLUG = "tiny"


class TinySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prefix: str = "tiny"


class LaxSettings(BaseModel):
    prefix: str = "tiny"


class Tiny:
    """``{"name": ..., "state": "firing" | "ok"}``; the keyword switches break one rule each."""

    def __init__(self, **breaks: bool) -> None:
        self.breaks = breaks
        self.__name__ = f"tiny-{'-'.join(sorted(breaks)) or 'good'}"

    @hookimpl
    def alertgate_integration_types(self) -> list[IntegrationType]:
        model = LaxSettings if self.breaks.get("lax_settings") else TinySettings
        return [IntegrationType(SLUG, "Tiny", "for tests", "", model)]

    @hookimpl
    def alertgate_parse_request(self, integration_type: str, request: Any) -> ParseResult | None:
        if integration_type != SLUG:
            return None
        if self.breaks.get("parse_raises"):
            raise RuntimeError("parser bug")
        try:
            doc = json.loads(request.body)
            name, state = str(doc["name"]), str(doc["state"])
        except (ValueError, KeyError, TypeError):
            if self.breaks.get("accepts_garbage"):
                return ParseResult()
            raise MalformedDelivery("invalid_tiny", "expected {name, state}") from None
        when = datetime.fromisoformat(doc.get("at", "2026-01-01T00:00:00+00:00"))
        return ParseResult(
            alerts=[
                Alert(
                    title=name,
                    source_time=when.astimezone(UTC),
                    attributes={"name": name, "state": state},
                )
            ]
        )

    @hookimpl
    def alertgate_fingerprint(self, integration_type: str, alert: Alert) -> Any:
        if integration_type != SLUG:
            return None
        if self.breaks.get("int_fingerprint"):
            return 42
        if self.breaks.get("unstable_fingerprint"):
            return uuid.uuid4().hex
        return f"tiny:{alert.attributes['name']}"

    @hookimpl
    def alertgate_classify(self, integration_type: str, alert: Alert) -> Action | None:
        if integration_type != SLUG:
            return None
        if alert.attributes["state"] == "ok" and not self.breaks.get("never_resolves"):
            return Action.RESOLVE
        return Action.TRIGGER

    @hookimpl
    def alertgate_incident_opened(self, event: IncidentEvent) -> None:
        if self.breaks.get("lifecycle_raises"):
            raise RuntimeError("notifier bug")


def body(name: str, state: str, at: str = "2026-01-01T00:00:00+00:00") -> bytes:
    return json.dumps({"name": name, "state": state, "at": at}).encode()


TRIGGER = [body("disk", "firing"), body("cpu", "firing")]
RESOLVE = [
    body("disk", "ok", "2026-01-01T00:05:00+00:00"),
    body("cpu", "ok", "2026-01-01T00:05:00+00:00"),
]
GARBAGE = [b"", b"{", b'{"name": "x"}', b"\xff\xfe"]

"""Incidents for console tests, made through the engine: one alert per delivery, so each
has its own received time, in order."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from alertgate.engine import Delivery, IngestEngine
from alertgate.models import Action, Alert, Severity

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def trigger(n: int, fingerprint: str, title: str, summary: str = "") -> Alert:
    """A triggering alert whose source time is ``n`` seconds after T0."""
    return Alert(
        title=title,
        summary=summary,
        source_time=T0 + timedelta(seconds=n),
        dedupe_key=f"{fingerprint}-{n}",
        kind="test",
        severity=Severity.ERROR,
        fingerprint=fingerprint,
        action=Action.TRIGGER,
    )


def ingest(db: Engine, integration_id: int, service_id: int, alerts: Iterable[Alert]) -> None:
    engine = IngestEngine(db)
    try:
        for alert in alerts:
            engine.ingest(Delivery(integration_id, service_id, [alert]))
    finally:
        engine.close()  # delivers the lifecycle notifications before the test goes on

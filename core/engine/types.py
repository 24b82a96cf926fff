"""What goes into the engine (a :class:`Delivery`) and what comes out (an :class:`IngestReport`)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from alertgate.models import Alert


class Outcome(enum.StrEnum):
    """What the engine did with one alert."""

    OPENED = "opened"
    """A triggering alert opened a new incident."""
    ATTACHED = "attached"
    """A triggering alert joined the open incident of its grouping key."""
    RESOLVED = "resolved"
    """A resolving alert resolved the open incident."""
    STALE = "stale"
    """Older than the last state change applied to its grouping key: recorded, no effect."""
    DUPLICATE = "duplicate"
    """Same integration and dedupe key as a stored alert: not stored again."""
    INFO = "info"
    """An info alert: recorded, no effect on incidents."""
    NO_OPEN_INCIDENT = "no_open_incident"
    """A resolving alert with no open incident to resolve: recorded, nothing created."""


@dataclass(slots=True)
class Delivery:
    """One accepted HTTP delivery: its alerts (fingerprinted and classified) and the
    integration state it wants merged, applied in one transaction."""

    integration_id: int
    service_id: int
    alerts: Sequence[Alert] = ()
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    state_updates: dict[str, Any] = field(default_factory=dict)
    """Top-level keys replace those of ``integrations.state`` in the same transaction."""


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """The fate of one alert of a delivery (same order as ``Delivery.alerts``)."""

    outcome: Outcome
    alert_id: int
    """The stored alert; for a duplicate, the alert stored the first time."""
    incident_id: int | None
    """The incident opened, joined or resolved (for a duplicate: the first one's)."""


@dataclass(frozen=True, slots=True)
class IngestReport:
    """Returned by :meth:`alertgate.engine.IngestEngine.ingest` once the delivery is committed."""

    outcomes: list[AlertOutcome]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for o in self.outcomes if o.outcome is outcome)


@dataclass(frozen=True, slots=True)
class IncidentChange:
    """Result of a manual acknowledge or resolve."""

    incident_id: int
    status: str
    """The status after the call."""
    changed: bool
    """False when the incident already was in (or past) the requested state."""


class IncidentNotFound(LookupError):
    """No incident with this id."""


class StorageUnavailable(Exception):
    """The database could not be reached or stayed locked; nothing was committed (503)."""

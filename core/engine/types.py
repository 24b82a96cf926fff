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
    LATE_OPENED = "late_opened"
    """A trigger older than its grouping key's clock that no incident covers: made an
    incident already resolved (by the next resolve that belonged to no incident), marked
    ``out_of_order``. Never open, never paged as open."""
    LATE_ATTACHED = "late_attached"
    """A trigger older than its grouping key's clock: joined the incident whose time span
    contains it (resolved or open; nothing reopens)."""
    LATE_RESOLVED = "late_resolved"
    """A resolve older than its grouping key's clock that falls inside an incident's span:
    that span ends here, as in a replay in source-time order (the incident's triggers after
    it stay with the incident; the ones before it become an incident of their own, already
    resolved, marked ``out_of_order``)."""
    STALE = "stale"
    """Older than its grouping key's clock and nothing to place it in (a resolve between
    incidents): recorded, no effect. A later late trigger may still be resolved by it."""
    DUPLICATE = "duplicate"
    """Same integration and dedupe key as a stored alert: not stored again."""
    INFO = "info"
    """An info alert: recorded, no effect on incidents."""
    NO_OPEN_INCIDENT = "no_open_incident"
    """A resolving alert with no open incident to resolve: recorded, nothing created (a
    trigger that arrives later and is older than it makes a ``late_opened`` incident that
    this resolve ends)."""


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """A lifecycle notification to send once the transaction has committed."""

    hook: str
    """``incident_opened``, ``alert_attached`` or ``incident_resolved``."""
    incident_id: int
    service_id: int
    fingerprint: str
    title: str
    severity: str
    status: str
    integration_id: int | None
    alert_id: int | None
    actor: str | None = None
    out_of_order: bool = False
    """The incident was made already resolved (see ``Outcome.LATE_OPENED``): its
    ``incident_opened`` is immediately followed by its ``incident_resolved``."""
    opened_at: datetime | None = None
    resolved_at: datetime | None = None


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

"""The incident page: one timeline, newest first and paged, of the incident's alerts and
what people did (acknowledged, resolved by hand, notes), each with who.

Times: every alert shows its source time (the monitored system's clock) and, where it
differs by more than a second, when alertgate received it. People's actions happen on
alertgate's clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from starlette.responses import Response

from alertgate.server import admin, console, notify_admin
from alertgate.storage.schema import Alert, Incident, Integration
from alertgate.web.app import Page, PageError, safe_next

PAGE_SIZE = 50
CLOCK_SKEW = timedelta(seconds=1)
SYSTEM_RESOLVERS = ("alert", "quiet-period")


@dataclass(frozen=True, slots=True)
class AlertEntry:
    id: int
    action: str
    outcome: str
    title: str
    summary: str
    severity: str
    source_time: datetime
    received_at: datetime
    integration: str
    payload: Any
    repeat: bool
    """Same title as a newer alert shown above: shown compactly, with ``differs``."""
    differs: list[str]
    """For a repeat, the lines of its description the full one above does not have."""
    received_differs: bool
    kind: str = "alert"

    @property
    def at(self) -> datetime:
        return self.received_at


@dataclass(frozen=True, slots=True)
class HumanEntry:
    at: datetime
    actor: str
    verb: str
    """acknowledged, resolved or note."""
    text: str = ""
    kind: str = "human"


@dataclass
class Timeline:
    entries: list[AlertEntry | HumanEntry]
    total: int
    shown: int
    next_query: str | None
    extra: dict[str, Any] = field(default_factory=dict)


def _alert_entries(alerts: list[Alert], names: dict[int, str]) -> list[AlertEntry]:
    """The page's alerts; the newest of each title is shown in full, older ones with the
    same title compactly, by what their description says that the full one does not."""
    full: dict[str, set[str]] = {}
    entries = []
    for a in alerts:
        summary = a.summary or ""
        shown = full.get(a.title)
        differs = [] if shown is None else [x for x in summary.splitlines() if x not in shown]
        entries.append(
            AlertEntry(
                id=a.id,
                action=a.action,
                outcome=a.outcome,
                title=a.title,
                summary=a.summary or "",
                severity=a.severity,
                source_time=a.source_time,
                received_at=a.received_at,
                integration=names.get(a.integration_id, "deleted integration"),
                payload=a.payload,
                repeat=shown is not None,
                differs=differs,
                received_differs=abs(a.received_at - a.source_time) > CLOCK_SKEW,
            )
        )
        full.setdefault(a.title, set(summary.splitlines()))
    return entries


def _human_entries(s: Any, incident: Incident) -> list[HumanEntry]:
    found = [
        HumanEntry(n.created_at, n.actor, "note", n.text)
        for n in console.incident_notes(s, incident.id)
    ]
    if incident.acknowledged_at and incident.acknowledged_by:
        found.append(HumanEntry(incident.acknowledged_at, incident.acknowledged_by, "acknowledged"))
    if incident.resolved_at and incident.resolved_by not in (None, *SYSTEM_RESOLVERS):
        found.append(HumanEntry(incident.resolved_at, incident.resolved_by or "", "resolved"))
    return found


def timeline(page: Page, s: Any, incident: Incident) -> Timeline:
    cursor = page.request.query_params.get("cursor") or None
    raw_shown = page.request.query_params.get("shown", "0")
    before = int(raw_shown) if raw_shown.isascii() and raw_shown.isdigit() else 0
    try:
        found = console.incident_alerts(s, incident.id, limit=PAGE_SIZE, after=cursor)
    except admin.InvalidInput:
        message = "This page link is no longer valid: start again from the newest alerts."
        raise PageError(400, message) from None
    ids = {a.integration_id for a in found.items}
    rows = s.execute(select(Integration.id, Integration.name).where(Integration.id.in_(ids)))
    names = {row.id: row.name for row in rows}
    alerts = _alert_entries(list(found.items), names)
    # People's actions go on the page whose alerts surround them in time.
    newest = None if cursor is None else (alerts[0].at if alerts else None)
    oldest = None if found.next_cursor is None else (alerts[-1].at if alerts else None)
    humans = [
        h
        for h in _human_entries(s, incident)
        if (newest is None or h.at < newest) and (oldest is None or h.at >= oldest)
    ]
    entries: list[AlertEntry | HumanEntry] = sorted(
        [*alerts, *humans], key=lambda e: e.at, reverse=True
    )
    shown = min(before + len(alerts), found.total)
    next_query = None
    if found.next_cursor:
        next_query = f"cursor={found.next_cursor}&shown={shown}"
    return Timeline(entries, found.total, shown, next_query)


@dataclass(frozen=True, slots=True)
class Facts:
    """Opened, last alert and resolved on the sources' clock, with received times."""

    opened: datetime
    opened_received: datetime | None
    last: datetime
    resolved: datetime | None
    resolved_clock: str


def facts(s: Any, incident: Incident) -> Facts:
    opened_received: datetime | None = incident.created_at
    if abs(incident.created_at - incident.first_alert_at) <= CLOCK_SKEW:
        opened_received = None
    resolved, clock = incident.resolved_at, "alertgate's clock"
    if incident.resolved_by == "alert":
        resolving = s.scalar(
            select(Alert.source_time)
            .where(Alert.incident_id == incident.id, Alert.outcome == "resolved")
            .order_by(Alert.id.desc())
            .limit(1)
        )
        if resolving is not None:
            resolved, clock = resolving, "source time"
    return Facts(incident.first_alert_at, opened_received, incident.last_alert_at, resolved, clock)


def incident_detail(page: Page) -> Response:
    incident_id = page.path_int("incident_id")
    with page.state.sessions() as s:
        incident = admin.get_incident(s, incident_id, page.org_id)
        service = admin.get_service(s, incident.service_id, page.org_id)
        found = timeline(page, s, incident)
        return page.render(
            "incident.html",
            incident=incident,
            service=service,
            timeline=found,
            facts=facts(s, incident),
            links=admin.incident_links(s, incident.id),
            notifications=notify_admin.incident_notifications(s, incident.id),
        )


def add_note(page: Page) -> Response:
    incident_id = page.path_int("incident_id")
    assert page.user is not None
    text = page.form.get("text", "")
    with page.state.sessions.begin() as s:
        incident = admin.get_incident(s, incident_id, page.org_id)
        try:
            console.add_note(s, incident, page.org_id, page.user.actor, text)
            page.flash("Note added.")
        except admin.InvalidInput as exc:
            page.flash(exc.message)
    return page.redirect(safe_next(f"/incidents/{incident_id}#timeline-heading"))

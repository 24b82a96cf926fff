"""Operations of the incident console, shared by the admin API, the web UI and the CLI:
keyset-paged incident and timeline listings, notes, and acknowledge/resolve of many.

Keyset paging (a cursor naming the last row seen) keeps every page as cheap as the first
at any depth, and rows inserted meanwhile never shift a page the way an offset does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from sqlalchemy import ColumnElement, func, literal, select, tuple_
from sqlalchemy.orm import Session, sessionmaker

from alertgate.server import admin, audit, cursor
from alertgate.server.admin import InvalidInput, NotFound
from alertgate.storage.schema import Alert, Incident, IncidentNote, Integration, Service

if TYPE_CHECKING:
    from alertgate.engine import IngestEngine

IncidentSort = Literal["newest", "oldest", "opened"]
SORTS: tuple[IncidentSort, ...] = ("newest", "oldest", "opened")
"""``newest``/``oldest``: by last alert (default newest); ``opened``: newest opened first."""
Verb = Literal["acknowledge", "resolve"]
NOTE_MAX = 10_000
BULK_MAX = 100


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    service_id: int | None = None
    status: str | None = None
    severity: str | None = None
    integration_id: int | None = None
    q: str | None = None
    """Case-insensitive text contained in the title."""


@dataclass(frozen=True, slots=True)
class IncidentPage:
    items: Sequence[Incident]
    next_cursor: str | None
    total: int


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _conditions(org_id: int | None, f: IncidentFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if org_id is not None:
        owned = select(Service.id).where(Service.organization_id == org_id)
        where.append(Incident.service_id.in_(owned))
    if f.service_id is not None:
        where.append(Incident.service_id == f.service_id)
    if f.integration_id is not None:
        where.append(Incident.integration_id == f.integration_id)
    if f.severity is not None:
        where.append(Incident.severity == f.severity)
    if f.status == "open":
        where.append(Incident.status.in_(("triggered", "acknowledged")))
    elif f.status in admin.INCIDENT_STATUSES:
        where.append(Incident.status == f.status)
    elif f.status is not None:
        raise InvalidInput(
            "invalid_status", "status must be triggered, acknowledged, resolved or open"
        )
    if f.q:
        where.append(func.lower(Incident.title).like(_like_pattern(f.q), escape="\\"))
    return where


def _after(sort: IncidentSort, after: str) -> ColumnElement[bool]:
    if sort == "opened":
        return Incident.id < cursor.decode_id(after, sort)
    at, last_id = cursor.decode(after, sort, 2)
    try:
        when = datetime.fromisoformat(at)
    except (TypeError, ValueError):
        raise InvalidInput("invalid_cursor", "cursor is not valid for this list") from None
    if not isinstance(last_id, int) or isinstance(last_id, bool):
        raise InvalidInput("invalid_cursor", "cursor is not valid for this list")
    key = tuple_(Incident.last_alert_at, Incident.id)
    bound = tuple_(_time_literal(when), last_id)
    return key < bound if sort == "newest" else key > bound


def _time_literal(when: datetime) -> ColumnElement[datetime]:
    return literal(when, Incident.last_alert_at.type)


def _cursor_of(sort: IncidentSort, row: Incident) -> str:
    if sort == "opened":
        return cursor.encode(sort, row.id)
    at = admin.as_utc(row.last_alert_at)
    assert at is not None
    return cursor.encode(sort, at.isoformat(), row.id)


def list_incidents(
    session: Session,
    org_id: int | None,
    f: IncidentFilter,
    *,
    limit: int,
    after: str | None = None,
    sort: IncidentSort = "newest",
    offset: int = 0,
) -> IncidentPage:
    """One page of incidents matching ``f``, the next page's cursor and the total."""
    where = _conditions(org_id, f)
    total = session.scalar(select(func.count()).select_from(Incident).where(*where)) or 0
    query = select(Incident).where(*where)
    if after:
        query = query.where(_after(sort, after))
    if sort == "opened":
        query = query.order_by(Incident.id.desc())
    elif sort == "newest":
        query = query.order_by(Incident.last_alert_at.desc(), Incident.id.desc())
    else:
        query = query.order_by(Incident.last_alert_at, Incident.id)
    rows = session.scalars(query.offset(offset).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return IncidentPage(rows, _cursor_of(sort, rows[-1]) if more else None, total)


@dataclass(frozen=True, slots=True)
class AlertPage:
    items: Sequence[Alert]
    next_cursor: str | None
    total: int
    """Every alert on the incident's timeline (triggers, repeats, resolves, info)."""


def incident_alerts(
    session: Session, incident_id: int, *, limit: int, after: str | None = None
) -> AlertPage:
    """An incident's alerts newest first (in the order received), one page."""
    query = select(Alert).where(Alert.incident_id == incident_id)
    if after:
        query = query.where(Alert.id < cursor.decode_id(after, "alerts"))
    rows = session.scalars(query.order_by(Alert.id.desc()).limit(limit + 1)).all()
    total = (
        session.scalar(
            select(func.count()).select_from(Alert).where(Alert.incident_id == incident_id)
        )
        or 0
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return AlertPage(rows, cursor.encode("alerts", rows[-1].id) if more else None, total)


def add_note(
    session: Session, incident: Incident, org_id: int, actor: str, text: str
) -> IncidentNote:
    """A note on ``incident`` by ``actor``, recorded in the audit log too (without its text)."""
    text = text.strip()
    if not text or len(text) > NOTE_MAX:
        raise InvalidInput("invalid_note", f"a note must be 1 to {NOTE_MAX} characters")
    note = IncidentNote(
        incident_id=incident.id, actor=actor[:200], text=text, created_at=admin.utcnow()
    )
    session.add(note)
    session.flush()
    audit.record(session, org_id, actor, "incident.note", incident.id, {"note_id": note.id})
    return note


def incident_notes(session: Session, incident_id: int, limit: int = 500) -> Sequence[IncidentNote]:
    """An incident's notes, newest first."""
    query = (
        select(IncidentNote)
        .where(IncidentNote.incident_id == incident_id)
        .order_by(IncidentNote.id.desc())
        .limit(limit)
    )
    return session.scalars(query).all()


@dataclass(frozen=True, slots=True)
class Changed:
    id: int
    status: str
    changed: bool


def change_incidents(
    engine: IngestEngine,
    sessions: sessionmaker[Session],
    org_id: int | None,
    ids: Sequence[int],
    verb: Verb,
    actor: str,
) -> list[Changed]:
    """Acknowledge or resolve each incident through the engine (so lifecycle hooks run),
    recording each change in its organization's audit log.

    Every id is checked first: if any is unknown (or another organization's) nothing
    changes, so a typo never applies half a request.
    """
    unique = list(dict.fromkeys(ids))
    if not 0 < len(unique) <= BULK_MAX:
        raise InvalidInput("invalid_ids", f"give 1 to {BULK_MAX} incident ids")
    with sessions() as session:
        query = (
            select(Incident.id, Service.organization_id)
            .join(Service, Service.id == Incident.service_id)
            .where(Incident.id.in_(unique))
        )
        if org_id is not None:
            query = query.where(Service.organization_id == org_id)
        owners = {row.id: row.organization_id for row in session.execute(query)}
    missing = [i for i in unique if i not in owners]
    if missing:
        shown = ", ".join(str(i) for i in missing[:10])
        raise NotFound("incident_not_found", f"no incident with id {shown}")
    change_one = admin.acknowledge_incident if verb == "acknowledge" else admin.resolve_incident
    results = []
    for incident_id in unique:
        change = change_one(engine, incident_id, actor)
        if change.changed:
            audit.record_in_new_transaction(
                sessions, owners[incident_id], actor, f"incident.{verb}", incident_id
            )
        results.append(Changed(incident_id, change.status, change.changed))
    return results


def delete_integration(
    session: Session, org_id: int, actor: str, integration: Integration
) -> admin.IntegrationImpact:
    """Delete an integration (its alerts go, its incidents stay) and record who did it."""
    detail: dict[str, object] = {"name": integration.name, "type": integration.type}
    integration_id = integration.id
    impact = admin.delete_integration(session, integration)
    detail["alerts_deleted"] = impact.alerts
    audit.record(session, org_id, actor, "integration.delete", integration_id, detail)
    return impact


def update_service(
    session: Session,
    org_id: int,
    actor: str,
    service: Service,
    *,
    name: str | None = None,
    description: str | None = None,
) -> Service:
    """Rename a service or change its description, recording what changed (the new name;
    for the description only that it changed)."""
    was = (service.name, service.description or "")
    admin.update_service(session, service, name=name, description=description)
    detail: dict[str, object] = {}
    if service.name != was[0]:
        detail["name"] = service.name
    if (service.description or "") != was[1]:
        detail["description_changed"] = True
    if detail:
        audit.record(session, org_id, actor, "service.update", service.id, detail)
    return service


def delete_service(
    session: Session, org_id: int, actor: str, service: Service
) -> admin.ServiceImpact:
    """Delete a service with its integrations, incidents and alerts, and record who did it."""
    service_id, name = service.id, service.name
    impact = admin.delete_service(session, service)
    detail = {
        "name": name,
        "integrations_deleted": impact.integrations,
        "incidents_deleted": impact.incidents,
        "alerts_deleted": impact.alerts,
    }
    audit.record(session, org_id, actor, "service.delete", service_id, detail)
    return impact

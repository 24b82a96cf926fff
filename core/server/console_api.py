"""Admin API routes of the incident console: an incident's timeline and notes, bulk
acknowledge/resolve, and the audit log."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from alertgate.server import admin, audit, console
from alertgate.server.console_schemas import (
    AlertList,
    AuditList,
    AuditOut,
    IncidentChangeOut,
    IncidentChanges,
    IncidentIds,
    NoteCreate,
    NoteList,
    NoteOut,
)
from alertgate.server.routing import ApiRoute, Call
from alertgate.server.schemas import AlertOut

CURSOR = Field(
    None, min_length=1, max_length=200, description="`next_cursor` of the previous page."
)


class CursorQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=500, description="Page size.")
    cursor: str | None = CURSOR


def incident_alerts(call: Call) -> AlertList:
    q: CursorQuery = call.query
    with call.state.sessions() as s:
        incident = admin.get_incident(s, call.path["incident_id"], call.org_id)
        page = console.incident_alerts(s, incident.id, limit=q.limit, after=q.cursor)
        return AlertList(
            items=[AlertOut.of(a) for a in page.items],
            total=page.total,
            limit=q.limit,
            next_cursor=page.next_cursor,
        )


def list_notes(call: Call) -> NoteList:
    with call.state.sessions() as s:
        incident = admin.get_incident(s, call.path["incident_id"], call.org_id)
        return NoteList(items=[NoteOut.of(n) for n in console.incident_notes(s, incident.id)])


def add_note(call: Call) -> NoteOut:
    body: NoteCreate = call.body
    with call.state.sessions.begin() as s:
        incident = admin.get_incident(s, call.path["incident_id"], call.org_id)
        return NoteOut.of(console.add_note(s, incident, call.org_id, call.actor, body.text))


def _change_many(call: Call, verb: console.Verb) -> IncidentChanges:
    body: IncidentIds = call.body
    results = console.change_incidents(
        call.state.engine, call.state.sessions, call.org_id, body.ids, verb, call.actor
    )
    return IncidentChanges(
        items=[IncidentChangeOut(id=r.id, status=r.status, changed=r.changed) for r in results]
    )


def acknowledge_many(call: Call) -> IncidentChanges:
    return _change_many(call, "acknowledge")


def resolve_many(call: Call) -> IncidentChanges:
    return _change_many(call, "resolve")


def delete_integration(call: Call) -> None:
    with call.state.sessions.begin() as s:
        integration = admin.get_integration(s, call.path["integration_id"], call.org_id)
        console.delete_integration(s, call.org_id, call.actor, integration)
    call.state.cache.clear()


def list_audit(call: Call) -> AuditList:
    q: CursorQuery = call.query
    with call.state.sessions() as s:
        rows, next_cursor = audit.list_events(s, call.org_id, limit=q.limit, after=q.cursor)
        return AuditList(
            items=[AuditOut.of(r) for r in rows], limit=q.limit, next_cursor=next_cursor
        )


def routes(prefix: str) -> list[ApiRoute]:
    incident = f"{prefix}/incidents/{{incident_id:int}}"
    return [
        ApiRoute("GET", f"{incident}/alerts", incident_alerts,
                 "An incident's alerts, newest first, one page", "listIncidentAlerts",
                 "incidents", AlertList, query=CursorQuery, errors=(404, 422)),
        ApiRoute("GET", f"{incident}/notes", list_notes, "An incident's notes, newest first",
                 "listIncidentNotes", "incidents", NoteList, errors=(404,)),
        ApiRoute("POST", f"{incident}/notes", add_note, "Add a note to an incident",
                 "addIncidentNote", "incidents", NoteOut, status=201, body=NoteCreate,
                 errors=(400, 404, 413, 422)),
        ApiRoute("POST", f"{prefix}/incidents/acknowledge", acknowledge_many,
                 "Acknowledge many incidents (all ids are checked first)",
                 "acknowledgeIncidents", "incidents", IncidentChanges, body=IncidentIds,
                 errors=(400, 404, 413, 422)),
        ApiRoute("POST", f"{prefix}/incidents/resolve", resolve_many,
                 "Resolve many incidents (all ids are checked first)", "resolveIncidents",
                 "incidents", IncidentChanges, body=IncidentIds, errors=(400, 404, 413, 422)),
        ApiRoute("GET", f"{prefix}/audit", list_audit,
                 "The organization's audit log, newest first", "listAuditEvents", "audit",
                 AuditList, query=CursorQuery, errors=(422,)),
        ApiRoute("DELETE", f"{prefix}/integrations/{{integration_id:int}}", delete_integration,
                 "Delete an integration and the alerts it received (its incidents stay)",
                 "deleteIntegration", "integrations", None, status=204, errors=(404,)),
    ]  # fmt: skip

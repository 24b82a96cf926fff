"""Pydantic models of the incident console's API: cursor pages, notes, bulk changes and
the audit log (kept apart from schemas.py so each stays one job)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from alertgate.server.admin import as_utc
from alertgate.server.console import BULK_MAX, NOTE_MAX
from alertgate.server.schemas import AlertOut, IncidentOut, ObjectId, Page, RequestBody
from alertgate.storage import schema as db

NEXT_CURSOR = Field(description="Pass as `cursor` for the next page; null on the last page.")


class IncidentList(Page[IncidentOut]):
    """A page of incidents: ``next_cursor`` pages on (``offset`` is kept for old clients)."""

    next_cursor: str | None = NEXT_CURSOR


class AlertList(BaseModel):
    """A page of an incident's timeline, newest first."""

    items: list[AlertOut]
    total: int = Field(
        description="Alerts on the incident's timeline: triggers and their repeats, resolves"
        " and info alerts (the incident's `alert_count` counts triggers only)."
    )
    limit: int
    next_cursor: str | None = NEXT_CURSOR


class NoteCreate(RequestBody):
    text: str = Field(min_length=1, max_length=NOTE_MAX)


class NoteOut(BaseModel):
    id: int
    incident_id: int
    actor: str = Field(description="Who wrote it: `token:<prefix>`, `web:<token name>` or `cli`.")
    text: str
    created_at: datetime

    @classmethod
    def of(cls, row: db.IncidentNote) -> NoteOut:
        return cls(
            id=row.id,
            incident_id=row.incident_id,
            actor=row.actor,
            text=row.text,
            created_at=as_utc(row.created_at) or row.created_at,
        )


class NoteList(BaseModel):
    items: list[NoteOut]


class IncidentIds(RequestBody):
    ids: list[ObjectId] = Field(min_length=1, max_length=BULK_MAX)


class IncidentChangeOut(BaseModel):
    id: int
    status: str = Field(description="The status after the call.")
    changed: bool = Field(description="False when it already was in (or past) that state.")


class IncidentChanges(BaseModel):
    items: list[IncidentChangeOut]


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="`token:<prefix>` (API), `web:<token name>` (UI) or `cli`.")
    action: str = Field(description="`<object type>.<verb>`, e.g. `integration.rotate_key`.")
    object_type: str
    object_id: int | None
    detail: dict[str, Any] = Field(description="Never secrets: settings by field name only.")

    @classmethod
    def of(cls, row: db.AuditEvent) -> AuditOut:
        return cls(
            id=row.id,
            at=as_utc(row.at) or row.at,
            actor=row.actor,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            detail=dict(row.detail or {}),
        )


class AuditList(BaseModel):
    items: list[AuditOut]
    limit: int
    next_cursor: str | None = NEXT_CURSOR

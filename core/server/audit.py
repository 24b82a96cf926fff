"""The organization's audit log: who changed what, and when.

Callers record an event in the same transaction as the change it describes, so the log
never claims a change that was rolled back. ``detail`` must never hold a secret: settings
changes are recorded by field name only, keys and tokens by their public prefix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alertgate.server import cursor
from alertgate.server.admin import utcnow
from alertgate.storage.schema import AuditEvent, Incident, Integration, Service

CURSOR_KIND = "audit"


def record(
    session: Session,
    org_id: int,
    actor: str,
    action: str,
    object_id: int | None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add one event; ``action`` is ``<object type>.<verb>``, e.g. ``integration.rotate_key``."""
    event = AuditEvent(
        organization_id=org_id,
        at=utcnow(),
        actor=actor[:200],
        action=action,
        object_type=action.split(".", 1)[0],
        object_id=object_id,
        detail=dict(detail or {}),
    )
    session.add(event)
    session.flush()
    return event


def record_in_new_transaction(
    sessions: sessionmaker[Session],
    org_id: int,
    actor: str,
    action: str,
    object_id: int | None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """For changes made outside a session (acknowledge/resolve go through the engine)."""
    with sessions.begin() as session:
        record(session, org_id, actor, action, object_id, detail)


def service_org(session: Session, row: Integration | Incident) -> int:
    """The organization owning an integration or incident (the CLI works unscoped)."""
    org_id = session.scalar(select(Service.organization_id).where(Service.id == row.service_id))
    assert org_id is not None
    return org_id


def integration_created(
    session: Session, org_id: int, actor: str, integration: Integration
) -> None:
    detail = {"type": integration.type, "service_id": integration.service_id}
    record(session, org_id, actor, "integration.create", integration.id, detail)


def key_rotated(session: Session, org_id: int, actor: str, integration: Integration) -> None:
    """Only the new key's public prefix is recorded, never the key."""
    detail = {"key_prefix": integration.key_prefix}
    record(session, org_id, actor, "integration.rotate_key", integration.id, detail)


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Names of the settings whose values differ: the log says what changed, never to what."""
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


Was = tuple[str, bool, int | None]
"""An integration's name, enabled flag and rate limit before an update."""


def before_update(integration: Integration) -> tuple[dict[str, Any], Was]:
    """What :func:`record_integration_update` compares against: take it before changing."""
    was = (integration.name, integration.enabled, integration.rate_limit_per_minute)
    return dict(integration.settings or {}), was


def record_integration_update(
    session: Session,
    org_id: int,
    actor: str,
    integration: Integration,
    settings_before: Mapping[str, Any],
    was: Was,
) -> None:
    """Record what an update changed: renamed, settings (field names), rate limit,
    enabled/disabled."""
    detail: dict[str, Any] = {}
    if integration.name != was[0]:
        detail["name"] = integration.name
    if integration.rate_limit_per_minute != was[2]:
        detail["rate_limit_per_minute"] = integration.rate_limit_per_minute
    fields = changed_fields(settings_before, integration.settings or {})
    if fields:
        detail["settings_changed"] = fields
    if detail:
        record(session, org_id, actor, "integration.update", integration.id, detail)
    if integration.enabled != was[1]:
        verb = "enable" if integration.enabled else "disable"
        record(session, org_id, actor, f"integration.{verb}", integration.id)


def list_events(
    session: Session, org_id: int | None, *, limit: int, after: str | None = None
) -> tuple[Sequence[AuditEvent], str | None]:
    """Events newest first (``org_id`` None: every organization's), and the cursor of the
    next page (``None`` on the last)."""
    query = select(AuditEvent)
    if org_id is not None:
        query = query.where(AuditEvent.organization_id == org_id)
    if after:
        query = query.where(AuditEvent.id < cursor.decode_id(after, CURSOR_KIND))
    rows = session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, cursor.encode(CURSOR_KIND, rows[-1].id) if more else None

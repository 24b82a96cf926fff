"""Where an alert older than its grouping key's clock belongs (issue 25).

The in-order path (:mod:`alertgate.engine.apply` on SQLite, ``alertgate_apply_alert`` on
PostgreSQL) applies alerts as they arrive and stores one that is older than the last state
change of its grouping key as ``stale``. :func:`place_late` then puts that stored alert
where a sequential replay of the key's alerts in source-time order would have put it, in
the same transaction, with the same code on both databases. It never reopens or opens
anything: an incident it makes is already resolved.

A key's incidents cover disjoint time spans: from the first trigger to the resolve that
ended it (open incidents: to now; incidents resolved by hand: to the time they were
resolved). Resolves that found nothing open belong to no incident and wait, by time, in
``ix_alerts_unmatched_resolve``.

- A late **trigger** at time *t* joins the incident whose span contains *t*
  (``late_attached``). Otherwise it falls between two incidents: if a resolve that belongs
  to no incident follows it before the next incident starts, the trigger and that resolve
  make an incident already resolved, from *t* to that resolve, marked ``out_of_order``
  (``late_opened``); if not, it is the earliest trigger of the next incident, which it
  joins and whose span it extends back to *t* (``late_attached``).
- A late **resolve** at *t* inside the span of an open incident or one resolved by an
  alert ends that span at *t* (``late_resolved``): the incident's triggers up to *t* become
  an incident of their own, resolved at *t*, marked ``out_of_order`` (the incident keeps
  its id, status and its later triggers); if no trigger follows *t*, the incident is just
  resolved at *t* and the resolve that ended it before belongs to no incident again
  (``no_open_incident``). Between incidents it stays ``stale`` and may end a later late
  trigger's incident.

Alerts are compared by source time here (ordering in the in-order path uses the source
time capped at receipt + 15 minutes; the two differ only for clocks that far ahead).

On PostgreSQL the ordering guard's upsert locked the grouping key's ``fingerprint_states``
row for the transaction (also when it changed nothing), so no other writer changes the
key's incidents meanwhile; on SQLite the writer is alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from alertgate.engine.ordering import higher, order_time
from alertgate.engine.sql import RawSql
from alertgate.engine.types import Outcome, PendingEvent
from alertgate.models import Action

FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)
RESOLVED_BY_ALERT = "alert"


@dataclass(frozen=True, slots=True)
class LateAlert:
    """A stored alert the ordering guard found older than its key's clock."""

    alert_id: int
    service_id: int
    integration_id: int
    fingerprint: str
    action: Action
    when: datetime
    """Its order time (source time, capped)."""
    received_at: datetime
    title: str
    severity: str


@dataclass(slots=True)
class Placement:
    outcome: Outcome
    incident_id: int | None = None
    events: list[PendingEvent] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Span:
    id: int
    title: str
    severity: str
    status: str
    count: int
    first: datetime
    last: datetime
    end: datetime | None
    """``resolved_at``; None while open."""
    resolved_by: str | None

    def contains(self, t: datetime) -> bool:
        return self.first <= t and (self.end is None or t <= self.end)


def place_late(cur: Any, sql: RawSql, late: LateAlert) -> Placement:
    """Place ``late`` (stored as ``stale``) and update its row; see the module docstring."""
    if late.action is Action.TRIGGER:
        return _place_trigger(cur, sql, late)
    return _place_resolve(cur, sql, late)


def _place_trigger(cur: Any, sql: RawSql, late: LateAlert) -> Placement:
    t = late.when
    open_span = _open_span(cur, sql, late)
    before = _span_before(cur, sql, late, open_span)
    if before is not None and before.contains(t):
        return _join(cur, sql, late, before)
    after = _span_after(cur, sql, late, open_span)
    cur.execute(
        sql.select_unmatched_resolve,
        (
            late.fingerprint,
            late.service_id,
            sql.dt(t),
            sql.dt(FAR_FUTURE if after is None else after.first),
            late.alert_id,
        ),
    )
    resolve = cur.fetchone()
    if resolve is not None:
        resolve_id = int(resolve[0])
        end = order_time(sql.read_dt(resolve[1]), sql.read_dt(resolve[2]))
        incident_id = _insert_resolved(
            cur, sql, late, late.title, late.integration_id, late.severity, 1, t, t, end
        )
        cur.execute(sql.place_alert, (Outcome.LATE_OPENED.value, incident_id, late.alert_id))
        cur.execute(sql.place_alert, (Outcome.RESOLVED.value, incident_id, resolve_id))
        events = _opened_and_resolved(
            late, incident_id, late.title, late.severity, late.integration_id, resolve_id, t, end
        )
        return Placement(Outcome.LATE_OPENED, incident_id, events)
    if after is not None:
        return _join(cur, sql, late, after)
    return Placement(Outcome.STALE)  # nothing to place it in (an incident resolved by hand)


def _join(cur: Any, sql: RawSql, late: LateAlert, span: _Span) -> Placement:
    t = late.when
    level = higher(span.severity, late.severity)
    cur.execute(
        sql.update_span,
        (span.count + 1, level, sql.dt(min(span.first, t)), sql.dt(max(span.last, t)), span.id),
    )
    cur.execute(sql.place_alert, (Outcome.LATE_ATTACHED.value, span.id, late.alert_id))
    events = []
    if span.end is None:  # joining an open incident is an ordinary attach for notifiers
        events.append(_event("alert_attached", late, span, level))
    return Placement(Outcome.LATE_ATTACHED, span.id, events)


def _place_resolve(cur: Any, sql: RawSql, late: LateAlert) -> Placement:
    t = late.when
    span = _span_before(cur, sql, late, _open_span(cur, sql, late))
    if span is None or not (
        span.end is None or (span.resolved_by == RESOLVED_BY_ALERT and t < span.end)
    ):
        return Placement(Outcome.STALE)
    cur.execute(sql.select_triggers_of, (span.id,))
    triggers = [
        (sql.read_dt(source), order_time(sql.read_dt(source), sql.read_dt(received)), *rest)
        for source, received, *rest in cur.fetchall()
    ]
    earlier = [row for row in triggers if row[0] <= t]
    later = [row for row in triggers if row[0] > t]
    if not later:
        # t ends this incident: the resolve that ended it later belongs to nothing now.
        cur.execute(sql.unlink_resolves_of, (span.id,))
        cur.execute(sql.update_resolve, (sql.dt(t), RESOLVED_BY_ALERT, span.id))
        cur.execute(sql.place_alert, (Outcome.LATE_RESOLVED.value, span.id, late.alert_id))
        events = []
        if span.end is None:
            resolved = replace(span, status="resolved")
            events.append(_event("incident_resolved", late, resolved, span.severity))
        return Placement(Outcome.LATE_RESOLVED, span.id, events)
    if not earlier:  # cannot happen: the span starts at or before t
        return Placement(Outcome.STALE)
    _, _, _, title, integration_id = earlier[0]
    level, first = _highest(earlier), min(row[1] for row in earlier)
    incident_id = _insert_resolved(
        cur,
        sql,
        late,
        title,
        integration_id,
        level,
        len(earlier),
        first,
        max(row[1] for row in earlier),
        t,
    )
    cur.execute(sql.move_triggers_up_to, (incident_id, span.id, sql.dt(t)))
    cur.execute(
        sql.update_span,
        (
            len(later),
            _highest(later),
            sql.dt(min(row[1] for row in later)),
            sql.dt(max(row[1] for row in later)),
            span.id,
        ),
    )
    cur.execute(sql.place_alert, (Outcome.LATE_RESOLVED.value, incident_id, late.alert_id))
    events = _opened_and_resolved(
        late, incident_id, title, level, integration_id, late.alert_id, first, t
    )
    return Placement(Outcome.LATE_RESOLVED, incident_id, events)


def _highest(rows: list[tuple[Any, ...]]) -> str:
    level = str(rows[0][2])
    for row in rows[1:]:
        level = higher(level, str(row[2]))
    return level


def _insert_resolved(
    cur: Any,
    sql: RawSql,
    late: LateAlert,
    title: str,
    integration_id: int | None,
    level: str,
    count: int,
    first: datetime,
    last: datetime,
    end: datetime,
) -> int:
    cur.execute(
        sql.insert_resolved_incident,
        (
            late.service_id,
            integration_id,
            late.fingerprint,
            title,
            level,
            count,
            sql.dt(first),
            sql.dt(last),
            sql.dt(late.received_at),
            sql.dt(end),
        ),
    )
    return int(cur.fetchone()[0])


def _opened_and_resolved(
    late: LateAlert,
    incident_id: int,
    title: str,
    level: str,
    integration_id: int | None,
    resolve_id: int,
    opened_at: datetime,
    resolved_at: datetime,
) -> list[PendingEvent]:
    """An incident made already resolved is reported opened and resolved at once, in this
    order and in one notification batch: never an "opened" without its resolve."""
    opened = PendingEvent(
        "incident_opened",
        incident_id,
        late.service_id,
        late.fingerprint,
        title,
        level,
        "resolved",
        integration_id,
        late.alert_id,
        out_of_order=True,
        opened_at=opened_at,
        resolved_at=resolved_at,
    )
    return [
        opened,
        replace(opened, hook="incident_resolved", alert_id=resolve_id, actor=RESOLVED_BY_ALERT),
    ]


def _event(hook: str, late: LateAlert, span: _Span, level: str) -> PendingEvent:
    """``late`` attached to, or resolving, an incident that was open."""
    return PendingEvent(
        hook,
        span.id,
        late.service_id,
        late.fingerprint,
        span.title,
        level,
        span.status,
        late.integration_id,
        late.alert_id,
        RESOLVED_BY_ALERT if hook == "incident_resolved" else None,
    )


def _span(sql: RawSql, row: Any) -> _Span | None:
    if row is None:
        return None
    id_, title, level, status, count, first, last, end, resolved_by = row
    return _Span(
        int(id_),
        str(title),
        str(level),
        str(status),
        int(count),
        sql.read_dt(first),
        sql.read_dt(last),
        None if status != "resolved" or end is None else sql.read_dt(end),
        resolved_by,
    )


def _open_span(cur: Any, sql: RawSql, late: LateAlert) -> _Span | None:
    cur.execute(sql.select_open_span, (late.service_id, late.fingerprint))
    return _span(sql, cur.fetchone())


def _span_before(cur: Any, sql: RawSql, late: LateAlert, open_span: _Span | None) -> _Span | None:
    """The key's incident starting last at or before the alert (the open one starts last)."""
    if open_span is not None and open_span.first <= late.when:
        return open_span
    cur.execute(
        sql.select_resolved_span_before, (late.fingerprint, late.service_id, sql.dt(late.when))
    )
    return _span(sql, cur.fetchone())


def _span_after(cur: Any, sql: RawSql, late: LateAlert, open_span: _Span | None) -> _Span | None:
    """The key's incident starting first after the alert."""
    cur.execute(
        sql.select_resolved_span_after, (late.fingerprint, late.service_id, sql.dt(late.when))
    )
    found = _span(sql, cur.fetchone())
    if found is not None:
        return found
    return open_span if open_span is not None and open_span.first > late.when else None

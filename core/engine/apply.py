"""The incident semantics, applied to one delivery inside an open transaction.

Pure decisions on top of :mod:`alertgate.engine.sql`; the caller (the group-commit writer) owns
the transaction, the savepoint around each delivery and the retries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from alertgate.engine.sql import PG_APPLY_ALERT, RawSql, dump_json
from alertgate.engine.types import AlertOutcome, Delivery, Outcome
from alertgate.models import SEVERITY_RANK, Action, Alert, Severity
from alertgate.storage.schema import to_utc

MAX_FUTURE_SKEW = timedelta(minutes=15)
"""A source clock may run ahead of ours by this much. Beyond it, ordering uses our receive
time plus this skew, so one bogus far-future timestamp cannot make every later alert of its
grouping key stale."""

RESOLVED_BY_ALERT = "alert"


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


@dataclass(slots=True)
class Applied:
    outcomes: list[AlertOutcome] = field(default_factory=list)
    events: list[PendingEvent] = field(default_factory=list)
    stored: bool = False
    """Whether any alert was stored (drives ``integrations.last_alert_at``)."""


def _severity(value: str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        return Severity.ERROR


def _higher(a: str, b: str) -> str:
    return a if SEVERITY_RANK[_severity(a)] >= SEVERITY_RANK[_severity(b)] else b


def order_time(alert: Alert, received_at: datetime) -> datetime:
    return min(to_utc(alert.source_time), to_utc(received_at) + MAX_FUTURE_SKEW)


def apply_delivery(cur: Any, sql: RawSql, delivery: Delivery) -> Applied:
    """Apply every alert of ``delivery`` and its state updates; commit is the caller's."""
    if sql.postgresql:
        return apply_delivery_pg(cur, sql, delivery)
    result = Applied()
    received = sql.dt(delivery.received_at)
    for alert in delivery.alerts:
        result.outcomes.append(_apply_alert(cur, sql, delivery, alert, received, result))
    apply_state_updates(cur, sql, delivery)
    return result


STATE_TIMESTAMP_KEY = "updated_at"
"""Inside a state value (e.g. ``state["sns"]``), when that value last changed. An update that
would change nothing but this timestamp is not a change and is skipped: a worker's cached
integration state lags the database, so e.g. every SNS notification parsed before the cache
refreshes re-records "confirmed" with a fresh ``updated_at``; writing each would lock and
rewrite the integration row once per delivery under load (and the UI's "Subscription
updated" would show the last delivery's time instead of the last change's)."""


def _without_timestamp(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k != STATE_TIMESTAMP_KEY}
    return value


def state_changes(state: Mapping[str, Any], updates: Mapping[str, Any]) -> bool:
    """Whether merging ``updates`` (top-level keys replace) into ``state`` changes anything
    besides :data:`STATE_TIMESTAMP_KEY` timestamps."""
    for key, value in updates.items():
        if key not in state:
            return True
        old = state[key]
        if old != value and _without_timestamp(old) != _without_timestamp(value):
            return True
    return False


def apply_state_updates(cur: Any, sql: RawSql, delivery: Delivery) -> None:
    """Merge ``delivery.state_updates`` (top-level keys replace) into the integration,
    unless that changes nothing but timestamps (see :data:`STATE_TIMESTAMP_KEY`)."""
    if not delivery.state_updates:
        return
    iid = delivery.integration_id
    if sql.postgresql:
        # Look first without a row lock (FOR NO KEY UPDATE writes the tuple's lock): most
        # updates under load change nothing.
        cur.execute(sql.select_state_unlocked, (iid,))
        row = cur.fetchone()
        if row is None or not state_changes(sql.read_json(row[0]) or {}, delivery.state_updates):
            return
    cur.execute(sql.select_state, (iid,))
    row = cur.fetchone()
    if row is None:
        return
    state = dict(sql.read_json(row[0]) or {})
    if not state_changes(state, delivery.state_updates):
        return
    state.update(delivery.state_updates)
    cur.execute(sql.update_state, (dump_json(state), iid))


def apply_state_batch(cur: Any, sql: RawSql, deliveries: Sequence[Delivery]) -> None:
    """:func:`apply_state_updates` for every delivery of a committed-together batch, in
    integration id order (row locks in one global order: two writers cannot deadlock).

    A delivery whose updates change nothing but timestamps compared with the previous
    delivery's to the same integration in this batch is skipped without a round trip: under
    load a batch often carries the same update many times.
    """
    previous: dict[int, dict[str, Any]] = {}
    for delivery in sorted(deliveries, key=lambda d: d.integration_id):
        updates = delivery.state_updates
        if not updates:
            continue
        seen = previous.get(delivery.integration_id)
        if seen is not None and not state_changes(seen, updates):
            continue
        apply_state_updates(cur, sql, delivery)
        previous[delivery.integration_id] = {**(seen or {}), **updates}


# -- PostgreSQL: the same decisions, made by alertgate_apply_alert (migration 0002) ----------


def pg_alert_params(delivery: Delivery, alert: Alert) -> tuple[Any, ...]:
    """Arguments of one ``alertgate_apply_alert`` call."""
    action = Action(alert.action or Action.TRIGGER)
    return (
        delivery.integration_id,
        delivery.service_id,
        alert.dedupe_key,
        alert.fingerprint,
        action.value,
        alert.kind[:100],
        alert.title[:1000],
        str(_severity(str(alert.severity))),
        alert.summary,
        to_utc(alert.source_time),
        order_time(alert, delivery.received_at),
        to_utc(delivery.received_at),
        dump_json(alert.attributes),
        dump_json(alert.links),
        None if alert.payload is None else dump_json(alert.payload),
    )


_HOOK_OF = {
    "opened": "incident_opened",
    "attached": "alert_attached",
    "resolved": "incident_resolved",
}


def collect_pg_row(result: Applied, delivery: Delivery, alert: Alert, row: Any) -> None:
    """Record what ``alertgate_apply_alert`` returned for one alert."""
    outcome, alert_id, incident_id, title, severity, status = row
    result.outcomes.append(AlertOutcome(Outcome(outcome), int(alert_id), incident_id))
    if outcome != Outcome.DUPLICATE:
        result.stored = True
    hook = _HOOK_OF.get(outcome)
    if hook is not None:
        result.events.append(
            PendingEvent(
                hook,
                int(incident_id),
                delivery.service_id,
                alert.fingerprint,
                title,
                severity,
                status,
                delivery.integration_id,
                int(alert_id),
                RESOLVED_BY_ALERT if hook == "incident_resolved" else None,
            )
        )


def apply_delivery_pg(cur: Any, sql: RawSql, delivery: Delivery) -> Applied:
    """One delivery, one call per alert (the slow path, used inside a savepoint)."""
    result = Applied()
    for alert in delivery.alerts:
        cur.execute(PG_APPLY_ALERT, pg_alert_params(delivery, alert))
        collect_pg_row(result, delivery, alert, cur.fetchone())
    apply_state_updates(cur, sql, delivery)
    return result


def _apply_alert(
    cur: Any, sql: RawSql, delivery: Delivery, alert: Alert, received: Any, result: Applied
) -> AlertOutcome:
    integration_id, service_id = delivery.integration_id, delivery.service_id
    if alert.dedupe_key is not None:
        cur.execute(sql.select_duplicate, (integration_id, alert.dedupe_key))
        row = cur.fetchone()
        if row is not None:
            return AlertOutcome(Outcome.DUPLICATE, row[0], row[1])

    action = Action(alert.action or Action.TRIGGER)
    severity = str(_severity(str(alert.severity)))
    incident_id: int | None = None
    event: tuple[str, int, str, str, str] | None = None  # hook, incident, title, sev, status

    if action is Action.INFO:
        outcome = Outcome.INFO
    else:
        when = sql.dt(order_time(alert, delivery.received_at))
        cur.execute(sql.upsert_fingerprint, (service_id, alert.fingerprint, when, action.value))
        if cur.rowcount == 0:  # the ordering guard held: an older state change
            outcome = Outcome.STALE
        else:
            cur.execute(sql.select_open_incident, (service_id, alert.fingerprint))
            open_row = cur.fetchone()
            if action is Action.TRIGGER and open_row is None:
                cur.execute(
                    sql.insert_incident,
                    (
                        service_id,
                        integration_id,
                        alert.fingerprint,
                        alert.title[:1000],
                        severity,
                        when,
                        when,
                        received,
                    ),
                )
                incident_id = int(cur.lastrowid)
                outcome = Outcome.OPENED
                event = ("incident_opened", incident_id, alert.title[:1000], severity, "triggered")
            elif action is Action.TRIGGER:
                incident_id, title, current, status = open_row
                new_severity = _higher(current, severity)
                cur.execute(sql.update_attach, (new_severity, when, incident_id))
                outcome = Outcome.ATTACHED
                event = ("alert_attached", incident_id, title, new_severity, status)
            elif open_row is None:
                outcome = Outcome.NO_OPEN_INCIDENT
            else:
                incident_id, title, current, _status = open_row
                cur.execute(sql.update_resolve, (when, RESOLVED_BY_ALERT, incident_id))
                outcome = Outcome.RESOLVED
                event = ("incident_resolved", incident_id, title, current, "resolved")

    cur.execute(
        sql.insert_alert,
        (
            integration_id,
            service_id,
            incident_id,
            alert.dedupe_key,
            alert.fingerprint,
            action.value,
            outcome.value,
            alert.kind[:100],
            alert.title[:1000],
            severity,
            alert.summary,
            sql.dt(alert.source_time),
            received,
            dump_json(alert.attributes),
            dump_json(alert.links),
            None if alert.payload is None else dump_json(alert.payload),
        ),
    )
    alert_id = int(cur.lastrowid)
    result.stored = True
    if event is not None:
        hook, inc_id, title, sev, status = event
        result.events.append(
            PendingEvent(
                hook,
                inc_id,
                service_id,
                alert.fingerprint,
                title,
                sev,
                status,
                integration_id,
                alert_id,
                RESOLVED_BY_ALERT if hook == "incident_resolved" else None,
            )
        )
    return AlertOutcome(outcome, alert_id, incident_id)

"""The incident semantics, applied to one delivery inside an open transaction.

Pure decisions on top of :mod:`alertgate.engine.sql`; the caller (the group-commit writer) owns
the transaction, the savepoint around each delivery and the retries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from alertgate.engine.late import RESOLVED_BY_ALERT, LateAlert, place_late
from alertgate.engine.ordering import higher, order_time, severity
from alertgate.engine.sql import PG_APPLY_ALERT, RawSql, dump_json
from alertgate.engine.types import AlertOutcome, Delivery, Outcome, PendingEvent
from alertgate.models import Action, Alert
from alertgate.storage.schema import to_utc


@dataclass(slots=True)
class Applied:
    outcomes: list[AlertOutcome] = field(default_factory=list)
    events: list[PendingEvent] = field(default_factory=list)
    stored: bool = False
    """Whether any alert was stored (drives ``integrations.last_alert_at``)."""


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
        str(severity(str(alert.severity))),
        alert.summary,
        to_utc(alert.source_time),
        order_time(alert.source_time, delivery.received_at),
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


def collect_pg_row(
    result: Applied, cur: Any, sql: RawSql, delivery: Delivery, alert: Alert, row: Any
) -> None:
    """Record what ``alertgate_apply_alert`` returned for one alert; place it if stale.

    Stale alerts of a pipelined batch are placed after the batch's other alerts: the
    placement never changes which incident is open, so the order does not change the result.
    """
    outcome, alert_id, incident_id, title, level, status = row
    if outcome != Outcome.DUPLICATE:
        result.stored = True
    if outcome == Outcome.STALE:
        result.outcomes.append(_place(cur, sql, delivery, alert, int(alert_id), result))
        return
    result.outcomes.append(AlertOutcome(Outcome(outcome), int(alert_id), incident_id))
    hook = _HOOK_OF.get(outcome)
    if hook is not None:
        result.events.append(
            PendingEvent(
                hook,
                int(incident_id),
                delivery.service_id,
                alert.fingerprint,
                title,
                level,
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
        collect_pg_row(result, cur, sql, delivery, alert, cur.fetchone())
    apply_state_updates(cur, sql, delivery)
    return result


def _place(
    cur: Any, sql: RawSql, delivery: Delivery, alert: Alert, alert_id: int, result: Applied
) -> AlertOutcome:
    """Place a stored stale alert (:mod:`alertgate.engine.late`)."""
    placement = place_late(
        cur,
        sql,
        LateAlert(
            alert_id,
            delivery.service_id,
            delivery.integration_id,
            alert.fingerprint,
            Action(alert.action or Action.TRIGGER),
            order_time(alert.source_time, delivery.received_at),
            to_utc(delivery.received_at),
            alert.title[:1000],
            str(severity(str(alert.severity))),
        ),
    )
    result.events.extend(placement.events)
    return AlertOutcome(placement.outcome, alert_id, placement.incident_id)


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
    level = str(severity(str(alert.severity)))
    incident_id: int | None = None
    event: tuple[str, int, str, str, str] | None = None  # hook, incident, title, sev, status

    if action is Action.INFO:
        outcome = Outcome.INFO
    else:
        when = sql.dt(order_time(alert.source_time, delivery.received_at))
        cur.execute(sql.upsert_fingerprint, (service_id, alert.fingerprint, when, action.value))
        if cur.rowcount == 0:  # the ordering guard held: placed below, once stored
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
                        level,
                        when,
                        when,
                        received,
                    ),
                )
                incident_id = int(cur.lastrowid)
                outcome = Outcome.OPENED
                event = ("incident_opened", incident_id, alert.title[:1000], level, "triggered")
            elif action is Action.TRIGGER:
                incident_id, title, current, status = open_row
                new_level = higher(current, level)
                cur.execute(sql.update_attach, (new_level, when, incident_id))
                outcome = Outcome.ATTACHED
                event = ("alert_attached", incident_id, title, new_level, status)
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
            level,
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
    if outcome is Outcome.STALE:
        return _place(cur, sql, delivery, alert, alert_id, result)
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

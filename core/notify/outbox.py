"""The outbox: notifications written in the transaction of the incident change.

:meth:`Outbox.write_batch` runs inside the group-commit writer's transaction, after the
batch's incident changes are applied and before COMMIT; :meth:`Outbox.write_events` inside
a manual acknowledge or resolve. Either the change and its notifications commit together,
or neither does. A silenced notification is written too, as ``suppressed`` with the
silence's id, so the incident's timeline says which silence held it back.

The idempotency key is derived from (incident, event, channel): the row is unique on it,
so the same notification can never be queued twice, and every attempt carries the same key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from alertgate.engine.apply import Applied
from alertgate.engine.sql import RawSql, dump_json
from alertgate.engine.types import Delivery, PendingEvent
from alertgate.models import Alert
from alertgate.notify.routing import RoutingCache, RoutingTable
from alertgate.notify.silences import Subject
from alertgate.notify.sqlexec import ConnExec, CursorExec, Exec
from alertgate.notify.types import NotifyEvent

EVENT_OF_HOOK = {
    "incident_opened": NotifyEvent.OPENED,
    "incident_acknowledged": NotifyEvent.ACKNOWLEDGED,
    "incident_resolved": NotifyEvent.RESOLVED,
}
STATUS_OF_EVENT = {
    NotifyEvent.OPENED: "triggered",
    NotifyEvent.RENOTIFIED: "triggered",
    NotifyEvent.ACKNOWLEDGED: "acknowledged",
    NotifyEvent.RESOLVED: "resolved",
}

INSERT_NOTIFICATION = (
    "INSERT INTO notifications (incident_id, channel_id, event, idempotency_key, payload, "
    "status, attempts, next_attempt_at, silence_id, created_at) "
    "VALUES (?, ?, ?, ?, {json}, ?, 0, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING"
)


def idempotency_key(incident_id: int, event: str, channel_id: int) -> str:
    digest = hashlib.sha256(f"{incident_id}:{event}:{channel_id}".encode()).hexdigest()
    return f"ag-{incident_id}-{event}-{digest[:24]}"


def incident_path(incident_id: int) -> str:
    """Where the web UI shows the incident (the dispatcher prefixes the public URL)."""
    return f"/incidents/{incident_id}"


def event_payload(
    event: NotifyEvent, pending: PendingEvent, service: str, alert: Alert | None, now: datetime
) -> dict[str, Any]:
    """The stored part of the documented body; ``incident.url`` and ``ack_url`` are added
    at send time, from the server's settings."""
    payload: dict[str, Any] = {
        "event": event.value,
        "incident": {
            "id": pending.incident_id,
            "status": STATUS_OF_EVENT.get(event, pending.status),
            "title": pending.title,
            "severity": pending.severity,
            "service": service,
            "fingerprint": pending.fingerprint,
            "path": incident_path(pending.incident_id),
        },
        "occurred_at": now.isoformat(),
    }
    if pending.out_of_order:
        # Fired and cleared before alertgate saw it fire: one message with both times.
        payload["incident"]["out_of_order"] = True
        payload["incident"]["opened_at"] = _iso(pending.opened_at)
        payload["incident"]["resolved_at"] = _iso(pending.resolved_at)
    if pending.actor:
        payload["actor"] = pending.actor
    if alert is not None:
        payload["alert"] = {
            "id": pending.alert_id,
            "title": alert.title[:1000],
            "summary": alert.summary[:2000],
            "severity": str(alert.severity),
        }
    return payload


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class Outbox:
    """Writes notification rows. One per process, shared by the writer and manual actions.

    :param cache: The process's routing table cache.
    """

    def __init__(self, cache: RoutingCache | None = None) -> None:
        self.cache = cache or RoutingCache()
        self.on_written: Callable[[], None] | None = None
        """Called after a commit that queued notifications (wakes the dispatcher)."""

    def write_batch(
        self,
        cur: Any,
        sql: RawSql,
        deliveries: Sequence[Delivery],
        results: Sequence[Applied | BaseException],
    ) -> bool:
        """The notifications of one group-commit batch, on the writer's cursor, before
        COMMIT. Returns whether any row was written (then call :meth:`committed`)."""
        now = datetime.now(UTC)
        ex = CursorExec(cur, sql)
        table = self.cache.get(ex, now)
        if table.empty:
            return False
        rows: list[tuple[Any, ...]] = []
        for delivery, result in zip(deliveries, results, strict=True):
            if not isinstance(result, Applied) or not result.events:
                continue
            alerts = {
                outcome.alert_id: alert
                for alert, outcome in zip(delivery.alerts, result.outcomes, strict=False)
            }
            for pending in result.events:
                alert = alerts.get(pending.alert_id) if pending.alert_id is not None else None
                rows.extend(self._rows(table, sql, pending, alert, now))
        if rows:
            ex.many(INSERT_NOTIFICATION, rows)
        return bool(rows)

    def write_events(self, conn: Connection, events: Sequence[PendingEvent]) -> bool:
        """The notifications of manual changes, in the caller's transaction."""
        ex = ConnExec(conn)
        now = datetime.now(UTC)
        table = self.cache.get(ex, now)
        if table.empty:
            return False
        rows = [row for p in events for row in self._rows(table, ex.sql, p, None, now)]
        if rows:
            ex.many(INSERT_NOTIFICATION, rows)
        return bool(rows)

    def write_renotification(
        self, ex: Exec, pending: PendingEvent, channel_id: int, round_: int, now: datetime
    ) -> int:
        """Queue the ``round_``-th re-notification of an incident to an escalation channel
        (at most once: its idempotency key names the round). Returns 1 (offered)."""
        table = self.cache.get(ex, now)
        event = NotifyEvent.RENOTIFIED
        silence_id = self._silence(table, pending, None, now)
        payload = event_payload(event, pending, table.service_name(pending.service_id), None, now)
        payload["escalation"] = {"round": round_}
        at = ex.sql.dt(now)
        key = idempotency_key(pending.incident_id, f"{event.value}-{round_}", channel_id)
        status = "pending" if silence_id is None else "suppressed"
        row = (pending.incident_id, channel_id, event.value, key, dump_json(payload), status,
               at, silence_id, at)  # fmt: skip
        ex.many(INSERT_NOTIFICATION, [row])
        return 1

    def committed(self) -> None:
        if self.on_written is not None:
            self.on_written()

    @staticmethod
    def _silence(
        table: RoutingTable, pending: PendingEvent, alert: Alert | None, now: datetime
    ) -> int | None:
        """The id of the active silence holding this event back, if any."""
        if not table.silences:
            return None
        subject = Subject(
            table.service_name(pending.service_id),
            table.integrations.get(pending.integration_id or 0, ()),
            pending.severity,
            pending.title,
            pending.fingerprint,
            alert.attributes if alert is not None else {},
        )
        return table.silence_for(pending.service_id, subject, now)

    @staticmethod
    def _rows(
        table: RoutingTable,
        sql: RawSql,
        pending: PendingEvent,
        alert: Alert | None,
        now: datetime,
    ) -> list[tuple[Any, ...]]:
        event = EVENT_OF_HOOK.get(pending.hook)
        if event is None:
            return []
        if pending.out_of_order:
            # An incident made already resolved: never an "opened" page, only its resolve,
            # sent to every channel that wants either (docs/notifications.md).
            if event is not NotifyEvent.RESOLVED:
                return []
            wanted = [
                route
                for name in (NotifyEvent.OPENED.value, NotifyEvent.RESOLVED.value)
                for route in table.routes(pending.service_id, name, pending.severity)
            ]
            routes = list({route.channel_id: route for route in wanted}.values())
        else:
            routes = table.routes(pending.service_id, event.value, pending.severity)
        if not routes:
            return []
        service = table.service_name(pending.service_id)
        silence_id = Outbox._silence(table, pending, alert, now)
        payload = dump_json(event_payload(event, pending, service, alert, now))
        status = "pending" if silence_id is None else "suppressed"
        at = sql.dt(now)
        return [
            (
                pending.incident_id,
                route.channel_id,
                event.value,
                idempotency_key(pending.incident_id, event.value, route.channel_id),
                payload,
                status,
                at,
                silence_id,
                at,
            )
            for route in routes
        ]

"""The ingest engine: deliveries in, incidents out.

:class:`IngestEngine` is the one object the server needs. ``ingest`` is thread-safe and
returns only after a durable commit; concurrent callers are group-committed by
:class:`~alertgate.engine.writer.GroupCommitWriter`. Manual actions and the quiet-period sweep
are single conditional ``UPDATE ... RETURNING`` statements, so they are atomic against
concurrent ingest in this and other processes. Lifecycle hooks run after commit on a
separate notifier thread: a slow or failing notifier plugin never delays or loses an alert.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text

from alertgate.engine.types import (
    Delivery,
    IncidentChange,
    IncidentNotFound,
    IngestReport,
    PendingEvent,
)
from alertgate.engine.writer import BatchOutbox, GroupCommitWriter
from alertgate.models import IncidentEvent, Severity
from alertgate.registry import Plugins
from alertgate.storage.schema import OPEN_STATUS_SQL, sqlite_datetime, to_utc
from alertgate.storage.text import storable

log = logging.getLogger(__name__)

QUIET_PERIOD_ACTOR = "quiet-period"
QUIET_PERIOD_SETTING = "quiet_period_minutes"

_LIFECYCLE_HOOKS = (
    "incident_opened",
    "alert_attached",
    "incident_acknowledged",
    "incident_resolved",
)

_RETURNING = "id, service_id, fingerprint, title, severity, status, integration_id"
# Built from module constants only.
_SWEEP = text(
    "UPDATE incidents SET status = 'resolved', resolved_at = :now, "  # noqa: S608
    "resolved_by = :actor WHERE service_id = :service AND "
    f"integration_id = :integration AND {OPEN_STATUS_SQL} "
    f"AND last_alert_at < :cutoff RETURNING {_RETURNING}"
)


class IngestEngine:
    """Applies deliveries and manual actions to the incident store.

    :param db_engine: A SQLAlchemy engine on a migrated database (file SQLite or
        PostgreSQL; in-memory SQLite is not supported, the writer uses its own connection).
    :param plugins: The plugin facade, for lifecycle hooks; ``None`` sends no notifications.
    :param max_batch: Most deliveries committed together.
    :param outbox: Queues notifications in the transaction of each incident change
        (:class:`alertgate.notify.outbox.Outbox`, one per process); ``None`` queues none.
    """

    def __init__(
        self,
        db_engine: Engine,
        plugins: Plugins | None = None,
        *,
        max_batch: int = 256,
        outbox: BatchOutbox | None = None,
    ) -> None:
        self.db = db_engine
        self.plugins = plugins
        self.outbox = outbox
        self._notify_enabled = plugins is not None and any(
            getattr(plugins.pm.hook, f"alertgate_{name}").get_hookimpls()
            for name in _LIFECYCLE_HOOKS
        )
        self._writer = GroupCommitWriter(
            db_engine,
            max_batch=max_batch,
            on_committed=self._queue_events if self._notify_enabled else None,
            outbox=self.outbox,
        )
        self._events: queue.SimpleQueue[list[PendingEvent] | None] = queue.SimpleQueue()
        self._pending = 0
        self._pending_cond = threading.Condition()
        self._notifier: threading.Thread | None = None
        self._service_names: dict[int, str] = {}

    # -- ingest ------------------------------------------------------------------------------

    def ingest(self, delivery: Delivery) -> IngestReport:
        """Apply one delivery; returns after the commit that contains it.

        :raises alertgate.engine.StorageUnavailable: The database is down or stayed locked;
            nothing was stored (answer 503 so the sender retries).
        """
        return self._writer.submit(storable_delivery(delivery)).result()

    async def ingest_async(self, delivery: Delivery) -> IngestReport:
        """:meth:`ingest` for the event loop: waits without blocking it."""
        return await self._writer.submit_async(storable_delivery(delivery))

    def shrink_memory(self, then: Callable[[], object] | None = None) -> None:
        """Drop the writer's cached database pages (see
        :meth:`~alertgate.engine.writer.GroupCommitWriter.shrink_memory`); from the event
        loop."""
        self._writer.shrink_memory(then)

    # -- manual actions ----------------------------------------------------------------------

    def acknowledge(self, incident_id: int, actor: str) -> IncidentChange:
        """Acknowledge a triggered incident. Acknowledged or resolved ones are left as is.

        :raises IncidentNotFound: No such incident.
        """
        change = self._transition(
            incident_id,
            "status = 'acknowledged', acknowledged_at = :now, acknowledged_by = :actor",
            "status = 'triggered'",
            actor,
            "incident_acknowledged",
        )
        return self._finish(incident_id, change, "incident_acknowledged", actor)

    def resolve(self, incident_id: int, actor: str) -> IncidentChange:
        """Resolve an open incident by hand. A resolved incident stays as it was.

        :raises IncidentNotFound: No such incident.
        """
        change = self._transition(
            incident_id,
            "status = 'resolved', resolved_at = :now, resolved_by = :actor",
            OPEN_STATUS_SQL,
            actor,
            "incident_resolved",
        )
        return self._finish(incident_id, change, "incident_resolved", actor)

    def _transition(
        self, incident_id: int, assignments: str, condition: str, actor: str, hook: str
    ) -> Any:
        # Assignments and conditions are constants of this module, never user input.
        statement = text(
            f"UPDATE incidents SET {assignments} WHERE id = :id AND {condition} "  # noqa: S608
            f"RETURNING {_RETURNING}"
        )
        with self.db.begin() as conn:
            row = conn.execute(
                statement, {"id": incident_id, "now": _now_param(self.db), "actor": actor[:200]}
            ).first()
            if row is not None:
                queued = self._queue_outbox(conn, [_event_from_row(row, hook, actor)])
            else:
                status = conn.execute(
                    text("SELECT status FROM incidents WHERE id = :id"), {"id": incident_id}
                ).scalar()
        if row is not None:
            if queued and self.outbox is not None:
                self.outbox.committed()
            return row
        if status is None:
            raise IncidentNotFound(f"no incident {incident_id}")
        return str(status)

    def _finish(self, incident_id: int, change: Any, hook: str, actor: str) -> IncidentChange:
        if isinstance(change, str):
            return IncidentChange(incident_id, change, changed=False)
        self._queue_events([_event_from_row(change, hook, actor)])
        return IncidentChange(incident_id, str(change.status), changed=True)

    # -- quiet period ------------------------------------------------------------------------

    def sweep_quiet(self, now: datetime | None = None) -> list[int]:
        """Resolve open incidents that have been quiet for their integration's quiet period.

        An integration opts in with the setting ``quiet_period_minutes`` (a positive
        number). Its open incidents (those it opened) whose last alert is older than that
        are resolved with actor ``quiet-period``. Returns the ids resolved.
        """
        moment = to_utc(now or datetime.now(UTC))
        resolved: list[int] = []
        with self.db.connect() as conn:
            integrations = conn.execute(
                text("SELECT id, service_id, settings FROM integrations")
            ).all()
        for integration_id, service_id, raw_settings in integrations:
            minutes = _quiet_minutes(raw_settings)
            if minutes is None:
                continue
            cutoff = moment - timedelta(minutes=minutes)
            with self.db.begin() as conn:
                rows = conn.execute(
                    _SWEEP,
                    {
                        "now": _dt_param(self.db, moment),
                        "actor": QUIET_PERIOD_ACTOR,
                        "service": service_id,
                        "integration": integration_id,
                        "cutoff": _dt_param(self.db, cutoff),
                    },
                ).all()
                events = [_event_from_row(r, "incident_resolved", QUIET_PERIOD_ACTOR) for r in rows]
                queued = self._queue_outbox(conn, events)
            if queued and self.outbox is not None:
                self.outbox.committed()
            if rows:
                self._queue_events(events)
                resolved.extend(int(r.id) for r in rows)
        return sorted(resolved)

    # -- notifications -----------------------------------------------------------------------

    def _queue_outbox(self, conn: Connection, events: list[PendingEvent]) -> bool:
        """Notifications of a manual change, in its transaction (see alertgate.notify)."""
        return self.outbox is not None and bool(events) and self.outbox.write_events(conn, events)

    def _queue_events(self, events: list[PendingEvent]) -> None:
        if not self._notify_enabled or not events:
            return
        with self._pending_cond:
            self._pending += 1
            if self._notifier is None:
                self._notifier = threading.Thread(
                    target=self._notify_loop, name="alertgate-notifier", daemon=True
                )
                self._notifier.start()
        self._events.put(events)

    def _notify_loop(self) -> None:
        while True:
            events = self._events.get()
            if events is None:
                return
            try:
                for event in events:
                    self._notify(event)
            finally:
                with self._pending_cond:
                    self._pending -= 1
                    self._pending_cond.notify_all()

    def _notify(self, pending: PendingEvent) -> None:
        assert self.plugins is not None
        try:
            event = IncidentEvent(
                incident_id=pending.incident_id,
                service=self._service_name(pending.service_id),
                fingerprint=pending.fingerprint,
                title=pending.title,
                severity=Severity(pending.severity),
                status=pending.status,
                integration_id=pending.integration_id,
                alert_id=pending.alert_id,
                actor=pending.actor,
                out_of_order=pending.out_of_order,
                opened_at=pending.opened_at,
                resolved_at=pending.resolved_at,
            )
            getattr(self.plugins, pending.hook)(event)
        except Exception:  # Plugins.notify isolates plugins; this guards the rest
            log.exception("lifecycle notification %s failed", pending.hook)

    def _service_name(self, service_id: int) -> str:
        name = self._service_names.get(service_id)
        if name is None:
            with self.db.connect() as conn:
                name = conn.execute(
                    text("SELECT name FROM services WHERE id = :id"), {"id": service_id}
                ).scalar()
            name = str(name) if name is not None else f"service {service_id}"
            self._service_names[service_id] = name
        return name

    def flush_notifications(self, timeout: float = 10.0) -> bool:
        """Wait until queued lifecycle notifications have been delivered (tests, shutdown)."""
        with self._pending_cond:
            return self._pending_cond.wait_for(lambda: self._pending == 0, timeout)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def stats(self) -> dict[str, int]:
        """Committed batches and deliveries since start (for metrics)."""
        return {"batches": self._writer.batches, "deliveries": self._writer.deliveries}

    def close(self, timeout: float = 30.0) -> None:
        """Finish queued deliveries and notifications, then stop the threads."""
        self._writer.close(timeout)
        self.flush_notifications(timeout)
        if self._notifier is not None:
            self._events.put(None)
            self._notifier.join(timeout)


def _quiet_minutes(raw: Any) -> float | None:
    settings = json.loads(raw) if isinstance(raw, str | bytes) else raw
    if not isinstance(settings, dict):
        return None
    value = settings.get(QUIET_PERIOD_SETTING)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return float(value)


def _dt_param(db: Engine, value: datetime) -> Any:
    # Plain text() parameters bypass UTCDateTime, so mirror its storage format here.
    return sqlite_datetime(value) if db.dialect.name == "sqlite" else to_utc(value)


def _now_param(db: Engine) -> Any:
    return _dt_param(db, datetime.now(UTC))


def _event_from_row(row: Any, hook: str, actor: str | None) -> PendingEvent:
    return PendingEvent(
        hook=hook,
        incident_id=int(row.id),
        service_id=int(row.service_id),
        fingerprint=str(row.fingerprint),
        title=str(row.title),
        severity=str(row.severity),
        status=str(row.status),
        integration_id=row.integration_id,
        alert_id=None,
        actor=actor,
    )


_TEXT_FIELDS = ("title", "summary", "kind", "fingerprint", "dedupe_key")


def storable_delivery(delivery: Delivery) -> Delivery:
    """The delivery with its alerts' text columns made storable on every backend (NUL
    and unpaired surrogates become U+FFFD; see :mod:`alertgate.storage.text`). Alerts are
    changed in place, and only the rare ones that need it."""
    for alert in delivery.alerts:
        for name in _TEXT_FIELDS:
            value = getattr(alert, name)
            if value is None:
                continue
            cleaned = storable(value)
            if cleaned is not value:
                setattr(alert, name, cleaned)
    return delivery

"""The hot path's SQL, written once and adapted to the DBAPI driver in use.

The ingest path talks to the DBAPI cursor directly (sqlite3 or psycopg): SQLAlchemy's
per-statement overhead would cost more than the statements themselves. Everything else
(reads, manual actions, retention) uses SQLAlchemy Core. Statements are written with ``?``
placeholders and ``{json}`` for JSON parameters; :class:`RawSql` turns them into the
driver's dialect. Every lookup here is served by an index (see core/storage/schema.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from alertgate import jsonfast
from alertgate.storage.schema import OPEN_STATUS_SQL, sqlite_datetime, to_utc

SELECT_DUPLICATE = "SELECT id, incident_id FROM alerts WHERE integration_id = ? AND dedupe_key = ?"

# The ordering guard in one statement: it changes a row (the cursor's rowcount is 1) only
# when this alert is not older than the last applied state change, else 0.
#
# This upsert and the two inserts below serve SQLite only (alertgate.engine.apply; PostgreSQL
# makes the same decisions in alertgate_apply_alert). They report through the cursor
# (rowcount, lastrowid) rather than RETURNING: a RETURNING row costs SQLite extra work and
# the cursor a second step and a fetch, each of which releases and retakes the GIL while
# the writer holds the write turn (about 6 % of a delivery's instructions in all).
UPSERT_FINGERPRINT = (
    "INSERT INTO fingerprint_states (service_id, fingerprint, last_source_time, last_action) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (service_id, fingerprint) DO UPDATE SET "
    "last_source_time = excluded.last_source_time, last_action = excluded.last_action "
    "WHERE fingerprint_states.last_source_time <= excluded.last_source_time"
)

SELECT_OPEN_INCIDENT = (
    "SELECT id, title, severity, status FROM incidents "  # noqa: S608 - constants only
    f"WHERE service_id = ? AND fingerprint = ? AND {OPEN_STATUS_SQL}"
)

INSERT_INCIDENT = (
    "INSERT INTO incidents (service_id, integration_id, fingerprint, title, severity, status, "
    "alert_count, first_alert_at, last_alert_at, created_at) "
    "VALUES (?, ?, ?, ?, ?, 'triggered', 1, ?, ?, ?)"
)

UPDATE_ATTACH = (
    "UPDATE incidents SET alert_count = alert_count + 1, severity = ?, last_alert_at = ? "
    "WHERE id = ?"
)

UPDATE_RESOLVE_BY_ALERT = (
    "UPDATE incidents SET status = 'resolved', resolved_at = ?, resolved_by = ? WHERE id = ?"
)

INSERT_ALERT = (
    "INSERT INTO alerts (integration_id, service_id, incident_id, dedupe_key, fingerprint, "
    "action, outcome, kind, title, severity, summary, source_time, received_at, attributes, "
    "links, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {json}, {json}, {json})"
)

# -- placing an alert older than its key's clock (alertgate.engine.late; both databases) --
# Only alerts the ordering guard calls stale run these: the in-order path never does.

SPAN_COLUMNS = (
    "id, title, severity, status, alert_count, first_alert_at, last_alert_at, resolved_at, "
    "resolved_by"
)

SELECT_OPEN_SPAN = (
    f"SELECT {SPAN_COLUMNS} FROM incidents "  # noqa: S608 - constants only
    f"WHERE service_id = ? AND fingerprint = ? AND {OPEN_STATUS_SQL}"
)

# Resolved incidents of a key by time (ix_incidents_resolved_span): the last one starting at
# or before a time, and the first one starting after it.
SELECT_RESOLVED_SPAN_BEFORE = (
    f"SELECT {SPAN_COLUMNS} FROM incidents "  # noqa: S608 - constants only
    "WHERE fingerprint = ? AND service_id = ? AND status = 'resolved' AND first_alert_at <= ? "
    "ORDER BY first_alert_at DESC, id DESC LIMIT 1"
)
SELECT_RESOLVED_SPAN_AFTER = (
    f"SELECT {SPAN_COLUMNS} FROM incidents "  # noqa: S608 - constants only
    "WHERE fingerprint = ? AND service_id = ? AND status = 'resolved' AND first_alert_at > ? "
    "ORDER BY first_alert_at, id LIMIT 1"
)

# The first resolve of a key that belongs to no incident, in a time window
# (ix_alerts_unmatched_resolve), among those stored before the alert being placed: on
# PostgreSQL a batch's stale alerts are placed after its other alerts, and a stale resolve
# stored later in the batch, not placed yet, must not count.
SELECT_UNMATCHED_RESOLVE = (
    "SELECT id, source_time, received_at FROM alerts WHERE fingerprint = ? AND service_id = ? "
    "AND action = 'resolve' AND incident_id IS NULL AND source_time > ? AND source_time < ? "
    "AND id < ? ORDER BY source_time, id LIMIT 1"
)

INSERT_RESOLVED_INCIDENT = (
    "INSERT INTO incidents (service_id, integration_id, fingerprint, title, severity, status, "
    "alert_count, first_alert_at, last_alert_at, created_at, resolved_at, resolved_by, "
    "out_of_order) VALUES (?, ?, ?, ?, ?, 'resolved', ?, ?, ?, ?, ?, 'alert', TRUE) "
    "RETURNING id"
)

UPDATE_SPAN = (
    "UPDATE incidents SET alert_count = ?, severity = ?, first_alert_at = ?, last_alert_at = ? "
    "WHERE id = ?"
)

SELECT_TRIGGERS_OF = (
    "SELECT source_time, received_at, severity, title, integration_id FROM alerts "
    "WHERE incident_id = ? AND action = 'trigger' ORDER BY source_time, id"
)

MOVE_TRIGGERS_UP_TO = (
    "UPDATE alerts SET incident_id = ? WHERE incident_id = ? AND action = 'trigger' "
    "AND source_time <= ?"
)

PLACE_ALERT = "UPDATE alerts SET outcome = ?, incident_id = ? WHERE id = ?"

UNLINK_RESOLVES_OF = (
    "UPDATE alerts SET outcome = 'no_open_incident', incident_id = NULL "
    "WHERE incident_id = ? AND action = 'resolve'"
)

SELECT_STATE = "SELECT state FROM integrations WHERE id = ?"
# FOR NO KEY UPDATE, not FOR UPDATE: every alert insert takes FOR KEY SHARE on its
# integration row (the foreign key check). FOR UPDATE conflicts with that, so one state
# update blocked every other process's alert inserts for the integration until commit, and
# two processes each holding KEY SHARE and asking for FOR UPDATE deadlocked (1 s
# deadlock_timeout, then a whole-batch retry). NO KEY UPDATE still serializes state merges.
SELECT_STATE_FOR_UPDATE = SELECT_STATE + " FOR NO KEY UPDATE"
UPDATE_STATE = "UPDATE integrations SET state = {json} WHERE id = ?"

UPDATE_LAST_ALERT = (
    "UPDATE integrations SET last_alert_at = ? "
    "WHERE id = ? AND (last_alert_at IS NULL OR last_alert_at < ?)"
)


# PostgreSQL only (migration 0002): the five statements above in one server-side call.
PG_APPLY_ALERT = (
    "SELECT outcome, alert_id, incident_id, incident_title, incident_severity, "
    "incident_status FROM alertgate_apply_alert(%s::bigint, %s::bigint, %s::text, %s::text, "
    "%s::text, %s::text, %s::text, %s::text, %s::text, %s::timestamptz, %s::timestamptz, "
    "%s::timestamptz, %s::json, %s::json, %s::json)"
)


def dump_json(value: Any) -> str:
    """Compact JSON for a JSON column (see :mod:`alertgate.jsonfast`)."""
    if not value and isinstance(value, dict):
        return "{}"
    return jsonfast.dumps(value)


class RawSql:
    """Statements and value conversions for one DBAPI driver (sqlite3 or psycopg)."""

    def __init__(self, dialect_name: str) -> None:
        self.dialect_name = dialect_name
        self.postgresql = dialect_name == "postgresql"
        self.select_duplicate = self._q(SELECT_DUPLICATE)
        self.upsert_fingerprint = self._q(UPSERT_FINGERPRINT)
        self.select_open_incident = self._q(SELECT_OPEN_INCIDENT)
        self.insert_incident = self._q(INSERT_INCIDENT)
        self.update_attach = self._q(UPDATE_ATTACH)
        self.update_resolve = self._q(UPDATE_RESOLVE_BY_ALERT)
        self.insert_alert = self._q(INSERT_ALERT)
        self.select_state = self._q(SELECT_STATE_FOR_UPDATE if self.postgresql else SELECT_STATE)
        self.select_state_unlocked = self._q(SELECT_STATE)
        self.update_state = self._q(UPDATE_STATE)
        self.update_last_alert = self._q(UPDATE_LAST_ALERT)
        self.select_open_span = self._q(SELECT_OPEN_SPAN)
        self.select_resolved_span_before = self._q(SELECT_RESOLVED_SPAN_BEFORE)
        self.select_resolved_span_after = self._q(SELECT_RESOLVED_SPAN_AFTER)
        self.select_unmatched_resolve = self._q(SELECT_UNMATCHED_RESOLVE)
        self.insert_resolved_incident = self._q(INSERT_RESOLVED_INCIDENT)
        self.update_span = self._q(UPDATE_SPAN)
        self.select_triggers_of = self._q(SELECT_TRIGGERS_OF)
        self.move_triggers_up_to = self._q(MOVE_TRIGGERS_UP_TO)
        self.place_alert = self._q(PLACE_ALERT)
        self.unlink_resolves_of = self._q(UNLINK_RESOLVES_OF)
        self.begin = "BEGIN" if self.postgresql else "BEGIN IMMEDIATE"

    def _q(self, sql: str) -> str:
        if self.postgresql:
            return sql.replace("?", "%s").replace("{json}", "%s::json")
        return sql.replace("{json}", "?")

    def dt(self, value: datetime) -> Any:
        """A datetime as the driver should bind it (see schema.UTCDateTime)."""
        return to_utc(value) if self.postgresql else sqlite_datetime(value)

    @staticmethod
    def read_dt(value: Any) -> datetime:
        if isinstance(value, datetime):
            return to_utc(value)
        return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)

    @staticmethod
    def read_json(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str | bytes) else value

    def adapt(self, sql: str) -> str:
        """A statement written with ``?`` and ``{json}`` placeholders, in this driver's
        dialect (for code outside this module that talks to the DBAPI directly)."""
        return self._q(sql)

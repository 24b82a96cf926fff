"""PostgreSQL: the incident semantics as one server-side function per alert.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 19:30:00

On PostgreSQL the ingest hot path calls ``alertgate_apply_alert`` once per alert (all alerts
of a batch pipelined in one round trip) instead of five statements with a round trip each.
It implements exactly what core/engine/apply.py does on SQLite; the same tests run on both.
SQLite gets nothing from this migration.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FUNCTION = r"""
CREATE OR REPLACE FUNCTION alertgate_apply_alert(
    p_integration_id bigint, p_service_id bigint, p_dedupe_key text, p_fingerprint text,
    p_action text, p_kind text, p_title text, p_severity text, p_summary text,
    p_source_time timestamptz, p_order_time timestamptz, p_received_at timestamptz,
    p_attributes json, p_links json, p_payload json,
    OUT outcome text, OUT alert_id bigint, OUT incident_id bigint,
    OUT incident_title text, OUT incident_severity text, OUT incident_status text)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_id bigint;
    v_title text;
    v_severity text;
    v_status text;
BEGIN
    IF p_dedupe_key IS NOT NULL THEN
        SELECT a.id, a.incident_id INTO alert_id, incident_id FROM alerts a
        WHERE a.integration_id = p_integration_id AND a.dedupe_key = p_dedupe_key;
        IF FOUND THEN
            outcome := 'duplicate';
            RETURN;
        END IF;
    END IF;
    incident_id := NULL;
    IF p_action = 'info' THEN
        outcome := 'info';
    ELSE
        -- The ordering guard; also locks the grouping key until commit.
        INSERT INTO fingerprint_states AS f (service_id, fingerprint, last_source_time, last_action)
        VALUES (p_service_id, p_fingerprint, p_order_time, p_action)
        ON CONFLICT (service_id, fingerprint) DO UPDATE
            SET last_source_time = excluded.last_source_time, last_action = excluded.last_action
            WHERE f.last_source_time <= excluded.last_source_time;
        IF NOT FOUND THEN
            outcome := 'stale';
        ELSE
            SELECT i.id, i.title, i.severity, i.status INTO v_id, v_title, v_severity, v_status
            FROM incidents i
            WHERE i.service_id = p_service_id AND i.fingerprint = p_fingerprint
              AND status IN ('triggered', 'acknowledged');
            IF p_action = 'trigger' AND v_id IS NULL THEN
                INSERT INTO incidents (service_id, integration_id, fingerprint, title, severity,
                    status, alert_count, first_alert_at, last_alert_at, created_at)
                VALUES (p_service_id, p_integration_id, p_fingerprint, p_title, p_severity,
                    'triggered', 1, p_order_time, p_order_time, p_received_at)
                RETURNING id INTO incident_id;
                outcome := 'opened';
                incident_title := p_title;
                incident_severity := p_severity;
                incident_status := 'triggered';
            ELSIF p_action = 'trigger' THEN
                incident_severity := CASE
                    WHEN (CASE p_severity WHEN 'critical' THEN 4 WHEN 'error' THEN 3
                          WHEN 'warning' THEN 2 WHEN 'info' THEN 1 ELSE 3 END)
                       > (CASE v_severity WHEN 'critical' THEN 4 WHEN 'error' THEN 3
                          WHEN 'warning' THEN 2 WHEN 'info' THEN 1 ELSE 3 END)
                    THEN p_severity ELSE v_severity END;
                UPDATE incidents SET alert_count = alert_count + 1,
                    severity = incident_severity, last_alert_at = p_order_time
                WHERE id = v_id;
                incident_id := v_id;
                outcome := 'attached';
                incident_title := v_title;
                incident_status := v_status;
            ELSIF v_id IS NULL THEN
                outcome := 'no_open_incident';
            ELSE
                UPDATE incidents SET status = 'resolved', resolved_at = p_order_time,
                    resolved_by = 'alert'
                WHERE id = v_id;
                incident_id := v_id;
                outcome := 'resolved';
                incident_title := v_title;
                incident_severity := v_severity;
                incident_status := 'resolved';
            END IF;
        END IF;
    END IF;
    INSERT INTO alerts (integration_id, service_id, incident_id, dedupe_key, fingerprint, action,
        outcome, kind, title, severity, summary, source_time, received_at, attributes, links,
        payload)
    VALUES (p_integration_id, p_service_id, incident_id, p_dedupe_key, p_fingerprint, p_action,
        outcome, p_kind, p_title, p_severity, p_summary, p_source_time, p_received_at,
        p_attributes, p_links, p_payload)
    RETURNING id INTO alert_id;
END
$fn$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION IF EXISTS alertgate_apply_alert(bigint, bigint, text, text, text, "
            "text, text, text, text, timestamptz, timestamptz, timestamptz, json, json, json)"
        )

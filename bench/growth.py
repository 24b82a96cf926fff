"""Pre-store history for the growth run: N alerts written straight into the tables.

HTTP would take as long as the benchmark itself, so the rows go in by SQL (executemany on
SQLite, COPY on PostgreSQL), shaped like what ingest stores: alerts with a realistic
payload (an SNS envelope of ~2 KB), their incidents (mostly resolved) and fingerprint
states. They belong to a second service and integration ("history"), so the benchmark's
own integration still starts empty and the correctness check stays exact, while every
table and index the hot path touches holds N more rows.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from alertgate.storage.schema import sqlite_datetime

ALERTS_PER_INCIDENT = 8
BATCH = 20_000


def _payload(i: int) -> str:
    arn = f"arn:aws:cloudwatch:eu-west-1:999988887777:alarm:history-{i // ALERTS_PER_INCIDENT:07d}"
    message = {
        "AlarmName": f"history-{i // ALERTS_PER_INCIDENT:07d}",
        "AlarmDescription": None,
        "AWSAccountId": "999988887777",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: 1 out of the last 1 datapoints [2.0] was greater "
        "than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).",
        "StateChangeTime": "2024-03-01T10:00:00.000+0000",
        "Region": "EU (Ireland)",
        "AlarmArn": arn,
        "OldStateValue": "OK",
        "Trigger": {
            "MetricName": "Errors",
            "Namespace": "AWS/Lambda",
            "Statistic": "SUM",
            "Dimensions": [{"value": f"fn-{i:07d}", "name": "FunctionName"}],
            "Period": 300,
            "EvaluationPeriods": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Threshold": 1.0,
        },
    }
    envelope = {
        "Type": "Notification",
        "MessageId": f"00000000-0000-4000-8000-{i:012d}",
        "TopicArn": "arn:aws:sns:eu-west-1:999988887777:history",
        "Subject": "ALARM: history",
        "Message": json.dumps(message),
        "Timestamp": "2024-03-01T10:00:00.100Z",
        "SignatureVersion": "1",
        "Signature": "x" * 344,
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0.pem",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
    }
    return json.dumps(envelope)


def prestore(db: Engine, total: int) -> dict[str, Any]:
    """Insert ``total`` alerts (+ incidents, fingerprint states) for a "history" service."""
    t0 = time.perf_counter()
    postgres = db.dialect.name == "postgresql"
    base = datetime(2024, 3, 1, tzinfo=UTC)

    def dt(value: datetime) -> Any:
        return value if postgres else sqlite_datetime(value)

    with db.begin() as conn:
        org = conn.execute(text("SELECT id FROM organizations ORDER BY id LIMIT 1")).scalar_one()
        now = dt(datetime.now(UTC))
        service_id = conn.execute(
            text(
                "INSERT INTO services (organization_id, name, description, created_at) "
                "VALUES (:o, 'history', '', :now) RETURNING id"
            ),
            {"o": org, "now": now},
        ).scalar_one()
        integration_id = conn.execute(
            text(
                "INSERT INTO integrations (service_id, type, name, key_hash, key_prefix, settings, "
                "state, enabled, created_at) VALUES (:s, 'aws_cloudwatch', 'history', "
                "'history-not-a-key', 'history', '{}', '{}', true, :now) RETURNING id"
            ),
            {"s": service_id, "now": now},
        ).scalar_one()
    n_incidents = (total + ALERTS_PER_INCIDENT - 1) // ALERTS_PER_INCIDENT
    raw: Any = db.raw_connection()
    try:
        cur = raw.cursor()
        incident_rows = []
        for k in range(n_incidents):
            at = dt(base + timedelta(seconds=k))
            status = "triggered" if k % 50 == 0 else "resolved"
            incident_rows.append(
                (
                    service_id,
                    integration_id,
                    f"history-fp-{k:07d}",
                    f"history alarm {k}",
                    "error",
                    status,
                    ALERTS_PER_INCIDENT,
                    at,
                    at,
                    at,
                    None if status == "triggered" else at,
                    None if status == "triggered" else "alert",
                )
            )
        _insert(
            cur,
            postgres,
            "incidents",
            "service_id, integration_id, fingerprint, title, severity, status, alert_count, "
            "first_alert_at, last_alert_at, created_at, resolved_at, resolved_by",
            incident_rows,
        )
        cur.execute(
            "SELECT min(id) FROM incidents WHERE service_id = %s"
            if postgres
            else "SELECT min(id) FROM incidents WHERE service_id = ?",
            (service_id,),
        )
        first_incident = cur.fetchone()[0]
        _insert(
            cur,
            postgres,
            "fingerprint_states",
            "service_id, fingerprint, last_source_time, last_action",
            [
                (service_id, f"history-fp-{k:07d}", dt(base + timedelta(seconds=k)), "resolve")
                for k in range(n_incidents)
            ],
        )
        for start in range(0, total, BATCH):
            rows = []
            for i in range(start, min(total, start + BATCH)):
                k = i // ALERTS_PER_INCIDENT
                at = dt(base + timedelta(seconds=k, milliseconds=i % ALERTS_PER_INCIDENT))
                rows.append(
                    (
                        integration_id,
                        service_id,
                        first_incident + k,
                        f"00000000-0000-4000-8000-{i:012d}",
                        f"history-fp-{k:07d}",
                        "trigger",
                        "opened" if i % ALERTS_PER_INCIDENT == 0 else "attached",
                        "cloudwatch_alarm",
                        f"ALARM: history alarm {k}",
                        "error",
                        "Threshold crossed",
                        at,
                        at,
                        '{"account":"999988887777","region":"eu-west-1"}',
                        "{}",
                        _payload(i),
                    )
                )
            _insert(
                cur,
                postgres,
                "alerts",
                "integration_id, service_id, incident_id, dedupe_key, fingerprint, action, "
                "outcome, kind, title, severity, summary, source_time, received_at, "
                "attributes, links, payload",
                rows,
            )
        raw.commit()
        if postgres:
            raw.rollback()
            old = raw.driver_connection.autocommit
            raw.driver_connection.autocommit = True
            raw.cursor().execute("VACUUM ANALYZE")
            raw.driver_connection.autocommit = old
        else:
            # Bulk loading leaves the whole history in the WAL; a server that accumulated
            # it over months would have checkpointed long ago. Without this the measured
            # run would pay for copying gigabytes out of the WAL.
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    return {
        "alerts": total,
        "incidents": n_incidents,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _insert(
    cur: Any, postgres: bool, table: str, columns: str, rows: list[tuple[Any, ...]]
) -> None:
    if not rows:
        return
    if postgres:
        with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" * len(rows[0]))
        cur.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)

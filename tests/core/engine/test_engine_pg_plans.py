"""PostgreSQL: alertgate_apply_alert's lookups go through their unique indexes, whatever the
statistics say and however much the tables grew since the plans were cached.

Each statement's plan is read with auto_explain (nested statements, sent to this client), so
the test sees exactly what the function runs. Before migration 0004, skewed statistics (the
live integration absent from them) made the planner take ``ix_alerts_integration_received``
for the dedupe lookup and read every alert of the integration per call.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from alertgate.engine.apply import pg_alert_params
from alertgate.engine.sql import PG_APPLY_ALERT
from alertgate.engine.types import Delivery
from alertgate.models import Action, Alert, Severity
from tests.db_fixtures import migrated_pg_database

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
INDEX_USE = re.compile(
    r"(Index Scan|Index Only Scan|Bitmap Index Scan|Seq Scan)(?: using (\S+))? on (\w+)"
)
ALLOWED = {
    "alerts": {"uq_alerts_dedupe"},
    "incidents": {"uq_incidents_open_per_key", "incidents_pkey"},
    "fingerprint_states": {"fingerprint_states_pkey"},
}


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A database of its own: the test analyzes skewed tables, which would outlive TRUNCATE."""
    with migrated_pg_database(pg_admin_url, f"ag_plans_{uuid.uuid4().hex[:10]}") as url:
        yield url


def _seed(conn: psycopg.Connection[Any], name: str) -> tuple[int, int]:
    org = conn.execute(
        "INSERT INTO organizations (name, created_at) VALUES (%s, now()) RETURNING id", (name,)
    ).fetchone()
    service = conn.execute(
        "INSERT INTO services (organization_id, name, description, created_at) "
        "VALUES (%s, %s, '', now()) RETURNING id",
        (org[0] if org else None, name),
    ).fetchone()
    assert service is not None
    integration = conn.execute(
        "INSERT INTO integrations (service_id, type, name, key_hash, key_prefix, settings, state, "
        "enabled, created_at) VALUES (%s, 'aws_sns', %s, %s, 'k', '{}', '{}', true, now()) "
        "RETURNING id",
        (service[0], name, f"hash-{name}"),
    ).fetchone()
    assert integration is not None
    return service[0], integration[0]


def _bulk_alerts(conn: psycopg.Connection[Any], service: int, integration: int, n: int) -> None:
    """n alerts (and resolved incidents) for one integration, written straight by SQL."""
    conn.execute(
        "INSERT INTO incidents (service_id, integration_id, fingerprint, title, severity, status, "
        "alert_count, first_alert_at, last_alert_at, created_at) SELECT %s, %s, 'bulk-' || g, "
        "'t', 'error', 'resolved', 1, now(), now(), now() FROM generate_series(1, %s) g",
        (service, integration, n // 8),
    )
    conn.execute(
        "INSERT INTO alerts (integration_id, service_id, dedupe_key, fingerprint, action, outcome, "
        "kind, title, severity, summary, source_time, received_at, attributes, links, payload) "
        "SELECT %s, %s, 'bulk-' || g, 'bulk-' || (g / 8), 'trigger', 'attached', 'k', 't', "
        "'error', '', now(), now(), '{}', '{}', '{}' FROM generate_series(1, %s) g",
        (integration, service, n),
    )


def _alert(key: str, action: Action, minute: int, fingerprint: str) -> Alert:
    return Alert(
        title="CPU high",
        source_time=T0 + timedelta(minutes=minute),
        dedupe_key=key,
        kind="cloudwatch_alarm",
        severity=Severity.ERROR,
        fingerprint=fingerprint,
        action=action,
        payload={"MessageId": key},
    )


def _story_plans(conn: psycopg.Connection[Any], service: int, integration: int, tag: str) -> str:
    """Open, attach, duplicate, resolve and no-open-incident: every branch of the function,
    with each nested statement's plan logged to this client."""
    plans: list[str] = []
    conn.add_notice_handler(lambda d: plans.append(d.message_primary or ""))
    conn.execute("LOAD 'auto_explain'")
    conn.execute("SET auto_explain.log_min_duration = 0")
    conn.execute("SET auto_explain.log_nested_statements = on")
    conn.execute("SET client_min_messages = log")
    steps = [
        (f"{tag}-1", Action.TRIGGER, 1),
        (f"{tag}-2", Action.TRIGGER, 2),
        (f"{tag}-2", Action.TRIGGER, 2),  # duplicate
        (f"{tag}-3", Action.RESOLVE, 3),
        (f"{tag}-4", Action.RESOLVE, 4),
    ]
    outcomes = []
    for key, action, minute in steps:
        delivery = Delivery(integration, service, [], received_at=T0 + timedelta(minutes=minute))
        alert = _alert(key, action, minute, f"fp-{tag}")
        row = conn.execute(PG_APPLY_ALERT, pg_alert_params(delivery, alert)).fetchone()
        assert row is not None
        outcomes.append(row[0])
    conn.execute("SET client_min_messages = notice")
    conn.commit()
    assert outcomes == ["opened", "attached", "duplicate", "resolved", "no_open_incident"]
    return "\n".join(plans)


def _assert_unique_lookups(plans: str) -> None:
    used = [(m[2], m[1] or "seq") for m in INDEX_USE.findall(plans) if m[2] in ALLOWED]
    assert ("alerts", "uq_alerts_dedupe") in used, plans
    assert ("incidents", "uq_incidents_open_per_key") in used, plans
    wrong = [(table, index) for table, index in used if index not in ALLOWED[table]]
    assert wrong == [], plans


def test_lookups_use_unique_indexes_with_skewed_statistics(pg_url: str) -> None:
    url = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as conn:
        history = _seed(conn, "history")
        live = _seed(conn, "live")
        _bulk_alerts(conn, *history, 20_000)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # statistics: every alert belongs to "history"
    with psycopg.connect(url) as conn:
        _assert_unique_lookups(_story_plans(conn, *live, "a"))


def test_retention_walks_the_listing_index_with_skewed_statistics(pg_url: str) -> None:
    from alertgate.storage.retention import _PRUNE

    url = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as conn:
        live = _seed(conn, "live")
        history = _seed(conn, "history")
        _bulk_alerts(conn, *history, 20_000)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    with psycopg.connect(url) as conn:
        _bulk_alerts(conn, *live, 20_000)  # the live integration grew since the statistics
        conn.commit()
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            plan = "\n".join(
                str(row[0])
                for row in conn.execute(
                    text(f"EXPLAIN {_PRUNE.text}"),
                    {
                        "service": live[0],
                        "integration": live[1],
                        "cutoff": datetime.now(UTC) + timedelta(days=1),
                        "limit": 1000,
                    },
                )
            )
    finally:
        engine.dispose()
    assert "ix_alerts_service_integration_received" in plan, plan
    assert "uq_alerts_dedupe" not in plan, plan


def test_cached_plans_stay_on_unique_indexes_as_tables_grow(pg_url: str) -> None:
    """Plans cached while the tables were empty must not scan once they are large."""
    url = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as conn:
        live = _seed(conn, "live")
        conn.commit()
        _story_plans(conn, *live, "empty")  # plans made and cached on empty tables
        for round_ in range(2):
            _story_plans(conn, *live, f"warm{round_}")
        _bulk_alerts(conn, *live, 20_000)  # same session: no new statistics, same plan cache
        conn.commit()
        _assert_unique_lookups(_story_plans(conn, *live, "grown"))

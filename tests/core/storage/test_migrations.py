"""Migrations: packaged, idempotent, matching the models, safe to run from many processes."""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from alertgate.cli import main
from alertgate.storage.database import make_engine
from alertgate.storage.migrate import (
    alembic_config,
    current_is_head,
    current_revision,
    head_revision,
    upgrade,
)
from alertgate.storage.schema import Base, Organization


def test_models_and_migrations_agree(db_engine: Engine) -> None:
    with db_engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []


def test_upgrade_fresh_sqlite_is_idempotent_and_reports_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = make_engine(url)
    assert current_revision(engine) is None
    assert current_is_head(engine) is False
    assert upgrade(url) == head_revision()
    assert upgrade(engine) == head_revision()  # nothing left to do
    assert current_is_head(engine) is True
    tables = set(inspect(engine).get_table_names())
    assert {"incidents", "alerts", "integrations", "fingerprint_states"} <= tables
    engine.dispose()


def test_db_upgrade_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = CliRunner().invoke(main, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert f"revision {head_revision()} (head)" in result.output
    assert current_is_head(url)
    bad = CliRunner().invoke(
        main, ["db", "upgrade", "--database-url", "sqlite:////nonexistent/dir/x.db"]
    )
    assert bad.exit_code == 1 and "migration failed" in bad.output


def _upgrade_in_process(url: str) -> None:
    upgrade(url)


def test_concurrent_upgrades_take_turns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_upgrade_in_process, args=(url,)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert current_is_head(url)


def test_timestamps_read_back_aware_utc(db_engine: Engine) -> None:
    from sqlalchemy.orm import Session

    local = datetime(2026, 1, 2, 3, 4, 5, 678901).astimezone()  # aware, local zone
    with Session(db_engine) as s, s.begin():
        s.add(Organization(name="tz", created_at=local))
    with Session(db_engine) as s:
        org = s.query(Organization).filter_by(name="tz").one()
    assert org.created_at.tzinfo is not None
    assert org.created_at == local
    assert org.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert datetime.now(UTC) > org.created_at


def _index_columns(engine: Engine, table: str) -> dict[str, list[str]]:
    return {
        str(ix["name"]): [str(c) for c in ix["column_names"]]
        for ix in inspect(engine).get_indexes(table)
    }


def test_only_unique_indexes_lead_with_the_hot_lookup_columns(db_engine: Engine) -> None:
    """An index leading with the columns of a hot unique lookup ties with the unique index
    when statistics are skewed, and the planner may take it (migration 0004)."""
    alerts = _index_columns(db_engine, "alerts")
    incidents = _index_columns(db_engine, "incidents")
    assert [n for n, cols in alerts.items() if cols[:1] == ["integration_id"]] in (
        [],  # SQLite reports the unique constraint as a constraint, not an index
        ["uq_alerts_dedupe"],
    )
    assert [n for n, cols in incidents.items() if cols[:1] == ["service_id"]] == [
        "uq_incidents_open_per_key"
    ]
    assert alerts["ix_alerts_service_integration_received"] == [
        "service_id",
        "integration_id",
        "received_at",
    ]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables: a new SQLite file or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    admin_url: str = request.getfixturevalue("pg_admin_url")
    name = f"ag_migrate_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_0004_swaps_the_listing_indexes_and_back(empty_url: str) -> None:
    assert upgrade(empty_url, "0003") == "0003"
    engine = make_engine(empty_url)
    try:
        assert "ix_alerts_integration_received" in _index_columns(engine, "alerts")
        assert "ix_incidents_service_status" in _index_columns(engine, "incidents")
        assert upgrade(engine) == head_revision()
        assert "ix_alerts_integration_received" not in _index_columns(engine, "alerts")
        assert "ix_incidents_service_status" not in _index_columns(engine, "incidents")
        assert "ix_alerts_service_integration_received" in _index_columns(engine, "alerts")
        if engine.dialect.name == "postgresql":
            assert _function_settings(engine) == [
                "plan_cache_mode=force_generic_plan",
                "enable_seqscan=off",
            ]
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0003")
        assert current_revision(engine) == "0003"
        assert "ix_alerts_integration_received" in _index_columns(engine, "alerts")
        assert "ix_incidents_service_status" in _index_columns(engine, "incidents")
        assert "ix_alerts_service_integration_received" not in _index_columns(engine, "alerts")
        if engine.dialect.name == "postgresql":
            assert _function_settings(engine) == ["plan_cache_mode=force_custom_plan"]
    finally:
        engine.dispose()


def _function_settings(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT proconfig FROM pg_proc WHERE proname = 'alertgate_apply_alert'")
            ).scalar_one()
            or []
        )

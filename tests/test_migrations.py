"""Migrations: packaged, idempotent, matching the models, safe to run from many processes."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Engine, inspect

from core.cli import main
from core.storage.database import make_engine
from core.storage.migrate import current_is_head, current_revision, head_revision, upgrade
from core.storage.schema import Base, Organization


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

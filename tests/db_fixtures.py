"""Database fixtures shared by every test that needs storage.

``db_url`` is parametrized over SQLite and PostgreSQL, so a test using it runs on both.
PostgreSQL runs when ``ALERTGATE_TEST_POSTGRES_URL`` is set (CI sets it) and is skipped
with a reason otherwise. Isolation: each test session creates its own uniquely named
PostgreSQL database (dropped at the end), migrated once; each test starts from empty
tables. SQLite tests get a fresh copy of a migrated template file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from alertgate.storage.database import make_engine
from alertgate.storage.migrate import upgrade
from alertgate.storage.schema import Base, Integration, Organization, Service

POSTGRES_ENV = "ALERTGATE_TEST_POSTGRES_URL"
SKIP_PG_REASON = (
    f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
)


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(SKIP_PG_REASON)
    return url


@contextlib.contextmanager
def migrated_pg_database(admin_url: str, name: str) -> Iterator[str]:
    """Create PostgreSQL database ``name``, migrate it, yield its URL, drop it after."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_database_url(pg_admin_url: str) -> Iterator[str]:
    """A uniquely named, migrated PostgreSQL database for this test session."""
    with migrated_pg_database(pg_admin_url, f"ag_test_{os.getpid()}_{uuid.uuid4().hex[:8]}") as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def truncate_all(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


def fresh_sqlite_url(template: Path, folder: Path, name: str = "alertgate.db") -> str:
    path = folder / name
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database: a SQLite file, or this session's PostgreSQL database."""
    if request.param == "sqlite":
        return fresh_sqlite_url(request.getfixturevalue("sqlite_template"), tmp_path)
    url: str = request.getfixturevalue("pg_database_url")
    truncate_all(url)
    return url


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@dataclass(frozen=True)
class Seeded:
    organization_id: int
    service_id: int
    integration_id: int


SeedFn = Callable[..., Seeded]


@pytest.fixture
def seed(db_engine: Engine) -> SeedFn:
    """Create an organization, service and integration; returns their ids."""
    from sqlalchemy.orm import Session

    def make(
        service: str = "payments",
        *,
        type_: str = "aws_cloudwatch",
        settings: dict[str, Any] | None = None,
        service_id: int | None = None,
    ) -> Seeded:
        now = datetime.now(UTC)
        with Session(db_engine) as session, session.begin():
            if service_id is None:
                org = session.query(Organization).filter_by(name="default").one_or_none()
                if org is None:
                    org = Organization(name="default", created_at=now)
                    session.add(org)
                    session.flush()
                svc = Service(organization_id=org.id, name=service, description="", created_at=now)
                session.add(svc)
                session.flush()
                org_id, service_id = org.id, svc.id
            else:
                org_id = session.get(Service, service_id).organization_id  # type: ignore[union-attr]
            key = uuid.uuid4().hex
            integ = Integration(
                service_id=service_id,
                type=type_,
                name=type_,
                key_hash=key,
                key_prefix=key[:8],
                settings=settings or {},
                state={},
                enabled=True,
                created_at=now,
            )
            session.add(integ)
            session.flush()
            return Seeded(org_id, service_id, integ.id)

    return make

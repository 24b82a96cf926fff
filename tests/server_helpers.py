"""Helpers for server tests: a migrated database, an app on a live uvicorn, tokens."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from alertgate.server import admin
from alertgate.server.app import create_app
from alertgate.settings import Settings
from alertgate.storage import migrate
from alertgate.storage.database import make_engine, make_sessionmaker
from tests.live import serve_app


def migrated_database(path: Path) -> tuple[str, Engine]:
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    return url, make_engine(url)


def new_token(engine: Engine, org: str | None = None) -> str:
    with make_sessionmaker(engine).begin() as session:
        return admin.create_token(session, admin.ensure_organization(session, org)).secret


@dataclass
class Live:
    base_url: str
    engine: Engine
    settings: Settings
    app: Any

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


@contextlib.contextmanager
def live_server(tmp_path: Path, database_url: str | None = None, **settings: Any) -> Iterator[Live]:
    """The app on a live uvicorn, on ``database_url`` (migrated) or a fresh SQLite file."""
    if database_url is None:
        url, engine = migrated_database(tmp_path / "alertgate.db")
    else:
        url, engine = database_url, make_engine(database_url)
    config = Settings(database_url=url, public_url="http://alertgate.test", **settings)
    app = create_app(config, db_engine=engine)
    try:
        with serve_app(app) as base:
            yield Live(base, engine, config, app)
    finally:
        engine.dispose()

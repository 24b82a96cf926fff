"""Database access for CLI commands: they work on the configured database directly (like
Django's ``manage.py``), so setting alertgate up needs no API token."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import click
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from alertgate.registry import Plugins, load_plugins
from alertgate.server.admin import AdminError
from alertgate.settings import Settings, get_settings
from alertgate.storage.database import make_engine, make_sessionmaker

CLI_ACTOR = "cli"


@dataclass
class Db:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]

    @cached_property
    def plugins(self) -> Plugins:
        """Loaded once per command; a broken plugin is set aside and logged."""
        return load_plugins()


def open_db(settings: Settings | None = None) -> Db:
    """The configured database, migrated to the current schema first."""
    from alertgate.storage import migrate

    settings = settings or get_settings()
    engine = make_engine(settings.database_url)
    try:
        if not migrate.current_is_head(engine):
            migrate.upgrade(engine)
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"cannot open the database {engine.url.render_as_string(hide_password=True)}: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        ) from exc
    return Db(settings, engine, make_sessionmaker(engine))


@contextlib.contextmanager
def admin_errors() -> Iterator[None]:
    """Turn refused operations and database errors into a message and exit status 1."""
    try:
        yield
    except AdminError as exc:
        raise click.ClickException(exc.message) from exc
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"database error: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        ) from exc

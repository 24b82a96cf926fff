"""Database access for CLI commands: they work on the configured database directly (like
Django's ``manage.py``), so setting alertgate up needs no API token."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol, TypeVar

import click
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from alertgate.errors import PluginError
from alertgate.registry import Plugins, load_plugins
from alertgate.server import admin
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
        try:
            return load_plugins()
        except PluginError as exc:
            raise click.ClickException(str(exc)) from exc


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


class _OwnedRow(Protocol):
    @property
    def organization_id(self) -> int: ...


RowT = TypeVar("RowT", bound=_OwnedRow)


def organization_rows(
    org: str | None,
    list_rows: Callable[[Session, int | None], Sequence[RowT]],
    to_row: Callable[[RowT, str], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Rows of one organization (``--org``) or of all, each with its organization's name.

    :param list_rows: Lists the rows of an organization id (``None``: every one).
    :param to_row: One output row from a database row and its organization's name.
    """
    db = open_db()
    with admin_errors(), db.sessions() as session:
        org_id = admin.get_organization(session, org).id if org else None
        rows = list_rows(session, org_id)
        names = admin.organization_names(session, {r.organization_id for r in rows})
        return [to_row(r, names[r.organization_id]) for r in rows]


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

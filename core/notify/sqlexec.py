"""One way to run notification SQL on either a raw DBAPI cursor (the group-commit writer's
transaction) or a SQLAlchemy connection (manual actions, the dispatcher), so each
statement is written once, with ``?``/``{json}`` placeholders (see
:class:`alertgate.engine.sql.RawSql`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import Connection

from alertgate.engine.sql import RawSql


class Exec(Protocol):
    sql: RawSql

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[Any]: ...

    def many(self, statement: str, params: list[tuple[Any, ...]]) -> None: ...


class CursorExec:
    """Statements on a DBAPI cursor inside the caller's transaction."""

    def __init__(self, cur: Any, sql: RawSql) -> None:
        self.cur = cur
        self.sql = sql

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        self.cur.execute(self.sql.adapt(statement), tuple(params))
        return list(self.cur.fetchall())

    def many(self, statement: str, params: list[tuple[Any, ...]]) -> None:
        self.cur.executemany(self.sql.adapt(statement), params)


class ConnExec:
    """Statements on a SQLAlchemy connection inside the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sql = RawSql(conn.dialect.name)

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        result = self.conn.exec_driver_sql(self.sql.adapt(statement), tuple(params))
        return list(result.all()) if result.returns_rows else []

    def many(self, statement: str, params: list[tuple[Any, ...]]) -> None:
        if params:
            self.conn.exec_driver_sql(self.sql.adapt(statement), params)

"""``/healthz`` (the process answers) and ``/readyz`` (database reachable, schema current).

A broken plugin does not make the server unready: every other integration is served, and
taking the process out of a load balancer would stop those too. ``/readyz`` lists broken
plugins under ``plugins.broken`` (its message says the server is degraded); monitor that,
or set ``ALERTGATE_STRICT_PLUGINS`` to refuse to start instead.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from alertgate.server.errors import error_response

if TYPE_CHECKING:
    from alertgate.server.app import AppState


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


@functools.lru_cache(maxsize=1)
def _head_revision() -> str:
    """The newest migration shipped with this process's code: read once (it parses the
    migration scripts), not on every probe."""
    from alertgate.storage import migrate

    return migrate.head_revision()


def migrations_pending(engine: Engine) -> str | None:
    """``None`` when the database schema is at the latest migration, else why not."""
    from alertgate.storage import migrate

    current, head = migrate.current_revision(engine), _head_revision()
    if current == head:
        return None
    return (
        f"database schema is at {current or 'nothing'}, expected {head}: run `alertgate db upgrade`"
    )


def _check(engine: Engine) -> tuple[int, str, str]:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return 503, "database_unreachable", f"database unreachable: {type(exc).__name__}"
    try:
        problem = migrations_pending(engine)
    except Exception as exc:
        return 503, "migrations_unknown", f"cannot read the schema version: {type(exc).__name__}"
    if problem is not None:
        return 503, "migrations_pending", problem
    return 200, "ready", "database reachable, migrations current"


async def readyz(request: Request) -> Response:
    state: AppState = request.app.state.alertgate
    status, code, message = await run_in_threadpool(_check, state.db_engine)
    if status != 200:
        return error_response(status, code, message)
    broken = state.plugins.broken
    if broken:
        names = ", ".join(b.name for b in broken)
        message = f"{message}; degraded: plugin(s) {names} failed to load"
    return JSONResponse(
        {
            "status": code,
            "message": message,
            "plugins": {"broken": [b.as_dict() for b in broken]},
        }
    )

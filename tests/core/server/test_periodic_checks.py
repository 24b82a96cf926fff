"""``alertgate_periodic_check``: a third-party plugin, installed through a real entry point,
raises an alert about what did not arrive. What it returns goes through the engine like a
delivery (fingerprint, classify, open/resolve, lifecycle hooks), on SQLite and PostgreSQL;
a plugin that raises or returns garbage is left out and the others still run; a disabled
integration is not checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update

from alertgate.engine import IngestEngine
from alertgate.registry import load_plugins
from alertgate.server import admin
from alertgate.server.periodic import run_periodic_checks
from alertgate.storage.database import make_sessionmaker
from alertgate.storage.schema import Incident, Integration

QUIET_PLUGIN = """
from datetime import datetime, timedelta

from pydantic import BaseModel

from alertgate import hookimpl
from alertgate.models import Action, Alert, IntegrationType, ParseResult

OPENED = []


class QuietSettings(BaseModel):
    pass


@hookimpl
def alertgate_integration_types():
    return [IntegrationType("quiet", "Quiet", "-", "https://example.invalid", QuietSettings)]


@hookimpl
def alertgate_periodic_check(integration_type, integration_id, state, now):
    if integration_type != "quiet" or "last_seen" not in state:
        return None
    quiet = now - datetime.fromisoformat(state["last_seen"]) > timedelta(days=1)
    if quiet == bool(state.get("quiet")):
        return None
    return ParseResult(
        alerts=[Alert(
            title="Quiet for a day",
            dedupe_key=f"quiet:{state['last_seen']}:{quiet}",
            action=Action.TRIGGER if quiet else Action.RESOLVE,
            source_time=now,
        )],
        state_updates={"quiet": quiet},
    )


@hookimpl
def alertgate_fingerprint(integration_type, alert):
    return f"quiet:{alert.title}" if integration_type == "quiet" else None


@hookimpl
def alertgate_incident_opened(event):
    OPENED.append(event.title)
"""

BROKEN_PLUGIN = """
from alertgate import hookimpl


@hookimpl
def alertgate_periodic_check(integration_type):
    raise RuntimeError("boom")
"""

GARBAGE_PLUGIN = """
from alertgate import hookimpl


@hookimpl
def alertgate_periodic_check(integration_type):
    return "not a ParseResult"
"""

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _incidents(db: Engine) -> list[tuple[str, str, str]]:
    with make_sessionmaker(db)() as s:
        rows = s.execute(select(Incident.title, Incident.status, Incident.fingerprint)).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_hook_alertgate_periodic_check(install_plugin: Any, db_engine: Engine) -> None:
    install_plugin("quiet_plugin", QUIET_PLUGIN)
    install_plugin("broken_checker", BROKEN_PLUGIN)
    install_plugin("garbage_checker", GARBAGE_PLUGIN)
    plugins = load_plugins(disabled=())
    engine = IngestEngine(db_engine, plugins)
    sessions = make_sessionmaker(db_engine)
    try:
        with sessions.begin() as s:
            service = admin.create_service(s, admin.ensure_organization(s), "svc")
            watched = admin.create_integration(s, plugins, service, "quiet").integration
            off = admin.create_integration(s, plugins, service, "quiet").integration
            ids = watched.id, off.id
        seen = {"last_seen": (NOW - timedelta(days=2)).isoformat()}
        with db_engine.begin() as conn:
            conn.execute(update(Integration).values(state=seen))
            conn.execute(update(Integration).where(Integration.id == ids[1]).values(enabled=False))

        done = run_periodic_checks(engine, plugins, NOW)
        assert (done.integrations, done.alerts, done.state_updates) == (1, 1, 1)
        assert _incidents(db_engine) == [("Quiet for a day", "triggered", "quiet:Quiet for a day")]
        assert engine.flush_notifications()
        import quiet_plugin  # type: ignore[import-not-found]

        assert quiet_plugin.OPENED == ["Quiet for a day"]
        # Decided once: the state says so, the next round does nothing.
        assert run_periodic_checks(engine, plugins, NOW + timedelta(minutes=1)).alerts == 0

        with db_engine.begin() as conn:
            fresh = {"last_seen": NOW.isoformat(), "quiet": True}
            conn.execute(update(Integration).where(Integration.id == ids[0]).values(state=fresh))
        run_periodic_checks(engine, plugins, NOW + timedelta(hours=1))
        assert _incidents(db_engine) == [("Quiet for a day", "resolved", "quiet:Quiet for a day")]
        with sessions() as s:
            assert s.get(Integration, ids[0]).state["quiet"] is False  # type: ignore[union-attr]
            assert "quiet" not in (s.get(Integration, ids[1]).state or {})  # type: ignore[union-attr]
    finally:
        engine.close()

"""Lifecycle hooks, quiet-period sweep and retention, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from typing import Any

from click.testing import CliRunner
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alertgate.cli import main
from alertgate.engine import Delivery, IngestEngine, Outcome
from alertgate.models import Action
from alertgate.registry import load_plugins
from alertgate.storage.retention import prune_payloads
from alertgate.storage.schema import Alert as AlertRow
from alertgate.storage.schema import Incident
from tests.conftest import InstallPlugin
from tests.core.engine.test_engine import T0, alarm
from tests.db_fixtures import SeedFn

RECORDER = """
    import threading
    from alertgate.hookspecs import hookimpl

    EVENTS = []
    GATE = threading.Event()
    GATE.set()

    @hookimpl
    def alertgate_incident_opened(event):
        GATE.wait(30)
        EVENTS.append(("opened", event))

    @hookimpl
    def alertgate_alert_attached(event):
        EVENTS.append(("attached", event))

    @hookimpl
    def alertgate_incident_acknowledged(event):
        EVENTS.append(("acknowledged", event))

    @hookimpl
    def alertgate_incident_resolved(event):
        EVENTS.append(("resolved", event))
"""

BROKEN = """
    from alertgate.hookspecs import hookimpl

    @hookimpl
    def alertgate_incident_opened(event):
        raise RuntimeError("pager down")

    @hookimpl
    def alertgate_alert_attached(event):
        raise RuntimeError("pager down")

    @hookimpl
    def alertgate_incident_resolved(event):
        raise RuntimeError("pager down")
"""


def test_lifecycle_hooks_after_commit_and_failing_notifier_is_harmless(
    db_engine: Engine, seed: SeedFn, install_plugin: InstallPlugin
) -> None:
    install_plugin("ag_recorder", RECORDER)
    install_plugin("ag_broken_pager", BROKEN)
    recorder: Any = importlib.import_module("ag_recorder")
    engine = IngestEngine(db_engine, load_plugins())
    try:
        s = seed("checkout")
        first = engine.ingest(Delivery(s.integration_id, s.service_id, [alarm("a1")]))
        engine.ingest(Delivery(s.integration_id, s.service_id, [alarm("a2", minute=1)]))
        engine.ingest(Delivery(s.integration_id, s.service_id, [alarm("ok", Action.RESOLVE, 2)]))
        second = engine.ingest(Delivery(s.integration_id, s.service_id, [alarm("b1", minute=3)]))
        incident = second.outcomes[0].incident_id
        assert incident is not None
        engine.acknowledge(incident, "alice")
        engine.resolve(incident, "bob")
        assert engine.flush_notifications(10)

        kinds = [k for k, _ in recorder.EVENTS]
        assert kinds == ["opened", "attached", "resolved", "opened", "acknowledged", "resolved"]
        opened = recorder.EVENTS[0][1]
        assert opened.incident_id == first.outcomes[0].incident_id
        assert (opened.service, opened.status, opened.severity) == (
            "checkout",
            "triggered",
            "error",
        )
        assert opened.alert_id == first.outcomes[0].alert_id
        assert opened.integration_id == s.integration_id
        assert recorder.EVENTS[2][1].actor == "alert"
        assert [e.actor for _, e in recorder.EVENTS[4:]] == ["alice", "bob"]
        # the broken plugin raised every time; every alert is stored all the same
        with Session(db_engine) as session:
            assert session.query(AlertRow).count() == 4
    finally:
        engine.close()


def test_an_incident_made_already_resolved_is_reported_opened_and_resolved_at_once(
    db_engine: Engine, seed: SeedFn, install_plugin: InstallPlugin
) -> None:
    """Issue 25: OK(10) before its ALARM(5) gives one incident, never open; the hooks get
    its opening and its resolve back to back, marked out of order, with both times."""
    install_plugin("ag_recorder", RECORDER)
    recorder: Any = importlib.import_module("ag_recorder")
    engine = IngestEngine(db_engine, load_plugins())
    try:
        s = seed("checkout")

        def send(*alerts: Any) -> Any:
            return engine.ingest(Delivery(s.integration_id, s.service_id, list(alerts)))

        ok = send(alarm("ok", Action.RESOLVE, 10)).outcomes[0]
        late = send(alarm("a", minute=5)).outcomes[0]
        assert (ok.outcome, late.outcome) == (Outcome.NO_OPEN_INCIDENT, Outcome.LATE_OPENED)
        assert send(alarm("a0", minute=3)).outcomes[0].outcome is Outcome.LATE_ATTACHED
        assert engine.flush_notifications(10)
        assert [k for k, _ in recorder.EVENTS] == ["opened", "resolved"]  # nothing for a0
        opened, resolved = (e for _, e in recorder.EVENTS)
        for event in (opened, resolved):
            assert (event.incident_id, event.status, event.out_of_order) == (
                late.incident_id,
                "resolved",
                True,
            )
            assert (event.opened_at, event.resolved_at) == (
                T0 + timedelta(minutes=5),
                T0 + timedelta(minutes=10),
            )
        assert (opened.alert_id, resolved.alert_id) == (late.alert_id, ok.alert_id)
        assert (opened.actor, resolved.actor) == (None, "alert")

        # a late ALARM joining an open incident is an ordinary repeat for notifiers
        recorder.EVENTS.clear()
        assert send(alarm("b", minute=30)).outcomes[0].outcome is Outcome.OPENED
        send(alarm("c", minute=40))
        assert send(alarm("b-late", minute=35)).outcomes[0].outcome is Outcome.LATE_ATTACHED
        assert engine.flush_notifications(10)
        assert [(k, e.out_of_order) for k, e in recorder.EVENTS] == [
            ("opened", False),
            ("attached", False),
            ("attached", False),
        ]
    finally:
        engine.close()


def test_slow_notifier_does_not_hold_back_deliveries(
    db_engine: Engine, seed: SeedFn, install_plugin: InstallPlugin
) -> None:
    install_plugin("ag_recorder", RECORDER)
    recorder: Any = importlib.import_module("ag_recorder")
    recorder.GATE.clear()  # incident_opened blocks until released
    engine = IngestEngine(db_engine, load_plugins())
    try:
        s = seed()
        for i in range(5):
            fp = f"fp{i}"
            report = engine.ingest(
                Delivery(s.integration_id, s.service_id, [alarm(f"k{i}", fingerprint=fp)])
            )
            assert report.outcomes[0].outcome is Outcome.OPENED
        assert not engine.flush_notifications(0.2)  # still stuck in the plugin
        recorder.GATE.set()
        assert engine.flush_notifications(10)
        assert [k for k, _ in recorder.EVENTS] == ["opened"] * 5
    finally:
        recorder.GATE.set()
        engine.close()


def test_quiet_period_sweep(db_engine: Engine, seed: SeedFn, install_plugin: InstallPlugin) -> None:
    install_plugin("ag_recorder", RECORDER)
    recorder: Any = importlib.import_module("ag_recorder")
    engine = IngestEngine(db_engine, load_plugins())
    try:
        quiet = seed("quiet", settings={"quiet_period_minutes": 30})
        loud = seed("loud")  # no quiet period: never swept
        other = seed(service_id=quiet.service_id, settings={"quiet_period_minutes": 0})
        for s, key, fp in [
            (quiet, "q-old", "old"),
            (loud, "l-old", "old"),
            (other, "o-old", "other"),
        ]:
            engine.ingest(Delivery(s.integration_id, s.service_id, [alarm(key, fingerprint=fp)]))
        # a second incident of the quiet integration, with a recent alert
        engine.ingest(
            Delivery(
                quiet.integration_id,
                quiet.service_id,
                [alarm("q-new", minute=50, fingerprint="new")],
            )
        )
        now = T0 + timedelta(minutes=60)
        resolved = engine.sweep_quiet(now)
        assert len(resolved) == 1
        with Session(db_engine) as session:
            inc = session.get(Incident, resolved[0])
            assert inc is not None
            assert (inc.fingerprint, inc.service_id) == ("old", quiet.service_id)
            assert (inc.status, inc.resolved_by, inc.resolved_at) == (
                "resolved",
                "quiet-period",
                now,
            )
            statuses = {(i.service_id, i.fingerprint): i.status for i in session.query(Incident)}
        assert statuses[(quiet.service_id, "new")] == "triggered"
        assert statuses[(loud.service_id, "old")] == "triggered"
        assert statuses[(quiet.service_id, "other")] == "triggered"
        assert engine.sweep_quiet(now) == []  # idempotent
        # 20 minutes later the recent one is quiet too
        assert len(engine.sweep_quiet(now + timedelta(minutes=21))) == 1
        # a later alarm for the swept key opens a new incident
        report = engine.ingest(
            Delivery(
                quiet.integration_id,
                quiet.service_id,
                [alarm("q-again", minute=70, fingerprint="old")],
            )
        )
        assert report.outcomes[0].outcome is Outcome.OPENED
        assert engine.flush_notifications(10)
        swept = [e for k, e in recorder.EVENTS if k == "resolved"]
        assert [e.actor for e in swept] == ["quiet-period", "quiet-period"]
    finally:
        engine.close()


def test_retention_prunes_payloads_and_keeps_incidents(
    db_engine: Engine, db_url: str, seed: SeedFn
) -> None:
    engine = IngestEngine(db_engine)
    s = seed()
    now = datetime.now(UTC)
    try:
        for i, age_days in enumerate([40, 35, 31, 5, 0]):
            engine.ingest(
                Delivery(
                    s.integration_id,
                    s.service_id,
                    [alarm(f"k{i}", minute=i, payload={"big": "x" * 100, "i": i})],
                    received_at=now - timedelta(days=age_days),
                )
            )
    finally:
        engine.close()

    def snapshot() -> tuple[list[Any], list[Any]]:
        with Session(db_engine) as session:
            alerts = [
                (a.dedupe_key, a.payload) for a in session.query(AlertRow).order_by(AlertRow.id)
            ]
            incs = [(i.status, i.alert_count, i.title) for i in session.query(Incident)]
        return alerts, incs

    _, incidents_before = snapshot()
    assert prune_payloads(db_engine, timedelta(days=30), now=now, batch=2) == 3
    alerts, incidents_after = snapshot()
    assert [p for _, p in alerts] == [
        None,
        None,
        None,
        {"big": "x" * 100, "i": 3},
        {"big": "x" * 100, "i": 4},
    ]
    assert incidents_after == incidents_before == [("triggered", 5, "CPU high")]
    assert prune_payloads(db_engine, timedelta(days=30), now=now) == 0

    # the command, with the period from ALERTGATE_RETENTION_DAYS
    from alertgate.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            main,
            ["db", "prune", "--database-url", db_url],
            env={"ALERTGATE_RETENTION_DAYS": "2"},
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "deleted 0 alert(s) older than 2 day(s)" in result.output  # the incident is open
    assert "pruned the payloads of 1 older alert(s)" in result.output
    alerts, _ = snapshot()
    assert [p is None for _, p in alerts] == [True, True, True, True, False]
    usage = CliRunner().invoke(
        main, ["db", "prune", "--database-url", db_url], env={"ALERTGATE_RETENTION_DAYS": "0"}
    )
    assert usage.exit_code == 2  # retention off and no --older-than: nothing to do

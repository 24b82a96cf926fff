"""Incident semantics of the ingest engine, on SQLite and PostgreSQL (see DESIGN.md)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alertgate.engine import (
    Delivery,
    IncidentNotFound,
    IngestEngine,
    Outcome,
)
from alertgate.engine.writer import _Job
from alertgate.models import Action, Alert, Severity
from alertgate.storage.schema import Alert as AlertRow
from alertgate.storage.schema import Incident
from alertgate.storage.schema import Integration as IntegrationRow
from tests.db_fixtures import SeedFn

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def alarm(
    key: str | None,
    action: Action = Action.TRIGGER,
    minute: float = 0,
    *,
    fingerprint: str = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu",
    severity: Severity = Severity.ERROR,
    title: str = "CPU high",
    payload: Any = None,
) -> Alert:
    return Alert(
        title=title,
        source_time=T0 + timedelta(minutes=minute),
        dedupe_key=key,
        kind="cloudwatch_alarm",
        severity=severity,
        fingerprint=fingerprint,
        action=action,
        payload=payload if payload is not None else {"MessageId": key},
        attributes={"state": action.value},
    )


@pytest.fixture
def engine(db_engine: Engine) -> Iterator[IngestEngine]:
    eng = IngestEngine(db_engine)
    yield eng
    eng.close()


def incidents(db: Engine) -> list[Incident]:
    with Session(db) as s:
        return list(s.query(Incident).order_by(Incident.id))


def alert_rows(db: Engine) -> list[AlertRow]:
    with Session(db) as s:
        return list(s.query(AlertRow).order_by(AlertRow.id))


def outcomes(engine: IngestEngine, seeded: Any, *alerts: Alert, **kw: Any) -> list[Outcome]:
    report = engine.ingest(Delivery(seeded.integration_id, seeded.service_id, alerts, **kw))
    return [o.outcome for o in report.outcomes]


def test_repeats_group_into_one_incident_and_ok_resolves_it(
    engine: IngestEngine, db_engine: Engine, seed: SeedFn
) -> None:
    s = seed()
    assert outcomes(engine, s, alarm("m1", minute=0, severity=Severity.WARNING)) == ["opened"]
    assert outcomes(engine, s, alarm("m2", minute=5, severity=Severity.CRITICAL)) == ["attached"]
    assert outcomes(engine, s, alarm("m3", minute=7, title="other title")) == ["attached"]
    assert outcomes(engine, s, alarm("m4", Action.RESOLVE, minute=9)) == ["resolved"]

    [inc] = incidents(db_engine)
    assert inc.status == "resolved"
    assert inc.alert_count == 3
    assert inc.title == "CPU high"  # the opening alert's title is kept
    assert inc.severity == "critical"  # the highest seen
    assert inc.first_alert_at == T0
    assert inc.last_alert_at == T0 + timedelta(minutes=7)
    assert inc.resolved_at == T0 + timedelta(minutes=9)
    assert inc.resolved_by == "alert"
    assert inc.integration_id == s.integration_id
    assert inc.first_alert_at.tzinfo is not None
    rows = alert_rows(db_engine)
    assert [r.outcome for r in rows] == ["opened", "attached", "attached", "resolved"]
    assert {r.incident_id for r in rows} == {inc.id}


def test_redelivery_is_stored_once_and_reported_duplicate(
    engine: IngestEngine, db_engine: Engine, seed: SeedFn
) -> None:
    s = seed()
    first = engine.ingest(Delivery(s.integration_id, s.service_id, [alarm("m1")]))
    again = engine.ingest(Delivery(s.integration_id, s.service_id, [alarm("m1")]))
    assert again.outcomes[0].outcome is Outcome.DUPLICATE
    assert again.outcomes[0].alert_id == first.outcomes[0].alert_id
    assert again.outcomes[0].incident_id == first.outcomes[0].incident_id
    # the same key twice inside one delivery, and a resolve redelivered
    assert outcomes(engine, s, alarm("m2", minute=1), alarm("m2", minute=1)) == [
        "attached",
        "duplicate",
    ]
    assert outcomes(engine, s, alarm("ok", Action.RESOLVE, 2)) == ["resolved"]
    assert outcomes(engine, s, alarm("ok", Action.RESOLVE, 2)) == ["duplicate"]
    assert len(alert_rows(db_engine)) == 3
    [inc] = incidents(db_engine)
    assert inc.alert_count == 2


def test_dedupe_is_per_integration_and_none_key_never_dedupes(
    engine: IngestEngine, db_engine: Engine, seed: SeedFn
) -> None:
    a = seed()
    b = seed(service_id=a.service_id, type_="aws_cloudtrail")
    assert outcomes(engine, a, alarm("same")) == ["opened"]
    assert outcomes(engine, b, alarm("same", minute=1)) == ["attached"]  # same service+fp
    assert outcomes(engine, a, alarm(None, minute=2), alarm(None, minute=2)) == [
        "attached",
        "attached",
    ]
    [inc] = incidents(db_engine)
    assert inc.alert_count == 4
    with Session(db_engine) as session:
        contributing = {
            r.integration_id for r in session.query(AlertRow).filter_by(incident_id=inc.id)
        }
    assert contributing == {a.integration_id, b.integration_id}


def test_late_alarm_after_ok_joins_the_resolved_incident(
    engine: IngestEngine, db_engine: Engine, seed: SeedFn
) -> None:
    s = seed()
    assert outcomes(engine, s, alarm("a1", minute=0)) == ["opened"]
    assert outcomes(engine, s, alarm("ok2", Action.RESOLVE, minute=10)) == ["resolved"]
    # ALARM(t=5) arrives after OK(t=10): it never reopens anything, but it is not lost:
    # it joins the resolved incident whose span (0..10) contains it (issue 25)
    assert outcomes(engine, s, alarm("a-late", minute=5)) == ["late_attached"]
    [inc] = incidents(db_engine)
    assert (inc.status, inc.alert_count, inc.out_of_order) == ("resolved", 2, False)
    late = alert_rows(db_engine)[-1]
    assert (late.outcome, late.incident_id, late.dedupe_key) == ("late_attached", inc.id, "a-late")


def test_out_of_order_ok_before_alarm(
    engine: IngestEngine, db_engine: Engine, seed: SeedFn
) -> None:
    s = seed()
    # OK(t=10) is delivered before the ALARM(t=5) it ends: the ALARM makes an incident that
    # is already resolved, 5..10, marked out of order; nothing is ever open
    assert outcomes(engine, s, alarm("ok", Action.RESOLVE, minute=10)) == ["no_open_incident"]
    assert outcomes(engine, s, alarm("a", minute=5)) == ["late_opened"]
    [inc] = incidents(db_engine)
    assert (inc.status, inc.out_of_order, inc.resolved_by) == ("resolved", True, "alert")
    assert (inc.first_alert_at, inc.resolved_at) == (
        T0 + timedelta(minutes=5),
        T0 + timedelta(minutes=10),
    )
    assert [(r.outcome, r.incident_id) for r in alert_rows(db_engine)] == [
        ("resolved", inc.id),
        ("late_opened", inc.id),
    ]
    # an even older ALARM of the same span joins it, which now starts there
    assert outcomes(engine, s, alarm("a0", minute=3)) == ["late_attached"]
    [inc] = incidents(db_engine)
    assert (inc.alert_count, inc.first_alert_at) == (2, T0 + timedelta(minutes=3))
    # an old OK between that incident and a newer ALARM's resolves nothing
    assert outcomes(engine, s, alarm("a2", minute=20)) == ["opened"]
    assert outcomes(engine, s, alarm("ok-old", Action.RESOLVE, minute=15)) == ["stale"]
    assert [i.status for i in incidents(db_engine)] == ["resolved", "triggered"]


def test_resolve_without_open_incident_is_recorded(
    engine: IngestEngine, db_engine: Engine, seed: SeedFn
) -> None:
    s = seed()
    report = engine.ingest(Delivery(s.integration_id, s.service_id, [alarm("ok", Action.RESOLVE)]))
    [o] = report.outcomes
    assert (o.outcome, o.incident_id) == (Outcome.NO_OPEN_INCIDENT, None)
    assert incidents(db_engine) == []
    assert [r.outcome for r in alert_rows(db_engine)] == ["no_open_incident"]


def test_info_is_recorded_and_changes_nothing(
    engine: IngestEngine, db_engine: Engine, seed: SeedFn
) -> None:
    s = seed()
    assert outcomes(engine, s, alarm("i1", Action.INFO, minute=30)) == ["info"]
    assert incidents(db_engine) == []
    # info does not move the ordering clock: an older trigger still opens
    assert outcomes(engine, s, alarm("t1", minute=1)) == ["opened"]
    assert outcomes(engine, s, alarm("i2", Action.INFO, minute=2)) == ["info"]
    [inc] = incidents(db_engine)
    assert (inc.status, inc.alert_count) == ("triggered", 1)


def test_grouping_is_per_service_and_fingerprint(
    engine: IngestEngine, db_engine: Engine, seed: SeedFn
) -> None:
    a, b = seed("svc-a"), seed("svc-b")
    assert outcomes(engine, a, alarm("1", fingerprint="x")) == ["opened"]
    assert outcomes(engine, a, alarm("2", fingerprint="y")) == ["opened"]
    assert outcomes(engine, b, alarm("3", fingerprint="x")) == ["opened"]
    assert outcomes(engine, a, alarm("4", fingerprint="x", minute=1)) == ["attached"]
    assert len(incidents(db_engine)) == 3


def test_resolved_incident_never_reopens(
    engine: IngestEngine, db_engine: Engine, seed: SeedFn
) -> None:
    s = seed()
    outcomes(engine, s, alarm("a1", minute=0))
    outcomes(engine, s, alarm("ok", Action.RESOLVE, minute=1))
    assert outcomes(engine, s, alarm("a2", minute=2)) == ["opened"]
    first, second = incidents(db_engine)
    assert (first.status, second.status) == ("resolved", "triggered")
    assert second.id != first.id and second.alert_count == 1


def test_manual_acknowledge_and_resolve(
    engine: IngestEngine, db_engine: Engine, seed: SeedFn
) -> None:
    s = seed()
    [o] = engine.ingest(Delivery(s.integration_id, s.service_id, [alarm("a1")])).outcomes
    assert o.incident_id is not None
    change = engine.acknowledge(o.incident_id, "alice")
    assert (change.status, change.changed) == ("acknowledged", True)
    assert engine.acknowledge(o.incident_id, "bob").changed is False
    # repeats join the acknowledged incident
    assert outcomes(engine, s, alarm("a2", minute=1)) == ["attached"]
    [inc] = incidents(db_engine)
    assert (inc.status, inc.acknowledged_by, inc.alert_count) == ("acknowledged", "alice", 2)
    assert inc.acknowledged_at is not None

    change = engine.resolve(o.incident_id, "carol")
    assert (change.status, change.changed) == ("resolved", True)
    assert engine.resolve(o.incident_id, "dave").changed is False
    assert engine.acknowledge(o.incident_id, "erin").status == "resolved"
    [inc] = incidents(db_engine)
    assert (inc.status, inc.resolved_by) == ("resolved", "carol")
    assert inc.resolved_at is not None and inc.resolved_at.tzinfo is not None
    # the next trigger opens a new incident; an OK with nothing open is recorded
    assert outcomes(engine, s, alarm("a3", minute=2)) == ["opened"]
    with pytest.raises(IncidentNotFound):
        engine.acknowledge(999_999, "x")
    with pytest.raises(IncidentNotFound):
        engine.resolve(999_999, "x")


def test_database_enforces_one_open_incident_per_key(db_engine: Engine, seed: SeedFn) -> None:
    s = seed()
    now = datetime.now(UTC)

    def add(status: str) -> None:
        with Session(db_engine) as session, session.begin():
            session.add(
                Incident(
                    service_id=s.service_id,
                    integration_id=s.integration_id,
                    fingerprint="fp",
                    title="t",
                    severity="error",
                    status=status,
                    alert_count=1,
                    first_alert_at=now,
                    last_alert_at=now,
                    created_at=now,
                )
            )

    add("resolved")
    add("resolved")  # any number of resolved incidents per key
    add("triggered")
    with pytest.raises(IntegrityError):
        add("acknowledged")


def test_state_updates_and_last_alert_at(
    engine: IngestEngine, db_engine: Engine, seed: SeedFn
) -> None:
    s = seed()
    received = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)
    engine.ingest(
        Delivery(
            s.integration_id,
            s.service_id,
            [],
            received_at=received,
            state_updates={"sns": {"status": "pending"}, "other": 1},
        )
    )
    engine.ingest(
        Delivery(
            s.integration_id,
            s.service_id,
            [alarm("a")],
            received_at=received,
            state_updates={"sns": {"status": "confirmed", "topic_arn": "arn:t"}},
        )
    )
    with Session(db_engine) as session:
        row = session.get(IntegrationRow, s.integration_id)
        assert row is not None
        assert row.state == {"sns": {"status": "confirmed", "topic_arn": "arn:t"}, "other": 1}
        assert row.last_alert_at == received


def test_a_state_update_changing_only_its_timestamp_is_skipped(
    engine: IngestEngine, db_engine: Engine, seed: SeedFn
) -> None:
    """A worker's cached state lags the database, so e.g. every SNS notification parsed
    before the cache refreshes re-records "confirmed"; only real changes are written, and
    ``updated_at`` keeps the time of the last one (what the UI shows)."""
    s = seed()

    def sns(status: str, at: str) -> dict[str, Any]:
        return {"sns": {"status": status, "topic_arn": "arn:t", "updated_at": at}}

    def batch(*updates: dict[str, Any]) -> None:
        jobs = [
            _Job(Delivery(s.integration_id, s.service_id, [], state_updates=u), Future())
            for u in updates
        ]
        engine._writer._process(jobs)  # one transaction, like deliveries arriving together
        for job in jobs:
            job.future.result()

    def state() -> dict[str, Any]:
        with Session(db_engine) as session:
            row = session.get(IntegrationRow, s.integration_id)
            assert row is not None
            return dict(row.state)

    batch(sns("confirmed", "t1"))
    assert state() == sns("confirmed", "t1")
    batch(sns("confirmed", "t2"), sns("confirmed", "t3"))
    assert state() == sns("confirmed", "t1")
    batch(sns("confirmed", "t4"), sns("unsubscribed", "t5"), sns("unsubscribed", "t6"))
    assert state() == sns("unsubscribed", "t5")
    batch(sns("unsubscribed", "t7"), {"other": 1})
    assert state() == {**sns("unsubscribed", "t5"), "other": 1}
    batch(sns("confirmed", "t8"), sns("unsubscribed", "t9"))  # changed, then changed back
    assert state() == {**sns("unsubscribed", "t9"), "other": 1}


def test_state_changes() -> None:
    from alertgate.engine.apply import state_changes

    current = {"sns": {"status": "confirmed", "updated_at": "t1"}, "n": 1}
    assert not state_changes(current, {})
    assert not state_changes(current, {"n": 1})
    assert not state_changes(current, {"sns": {"status": "confirmed", "updated_at": "t2"}})
    assert state_changes(current, {"sns": {"status": "pending", "updated_at": "t1"}})
    assert state_changes(current, {"sns": {"updated_at": "t1"}})  # status removed
    assert not state_changes(current, {"sns": {"status": "confirmed"}})  # only the timestamp
    assert state_changes(current, {"n": 2})
    assert state_changes(current, {"new": None})
    assert state_changes({"n": {"updated_at": "t1"}}, {"n": "t1"})


def test_a_failing_delivery_fails_alone_in_its_batch(
    engine: IngestEngine, db_engine: Engine, seed: SeedFn
) -> None:
    s = seed()
    broken = alarm("bad", minute=1)
    broken.action = "explode"  # type: ignore[assignment]  # not an Action: apply raises
    jobs = [
        _Job(Delivery(s.integration_id, s.service_id, [alarm("good1", minute=0)]), Future()),
        _Job(Delivery(s.integration_id, s.service_id, [alarm("ok", minute=0.5), broken]), Future()),
        _Job(Delivery(s.integration_id, s.service_id, [alarm("good2", minute=2)]), Future()),
    ]
    engine._writer._process(jobs)  # one batch, one transaction
    assert [o.outcome for o in jobs[0].future.result().outcomes] == ["opened"]
    assert [o.outcome for o in jobs[2].future.result().outcomes] == ["attached"]
    with pytest.raises(ValueError):
        jobs[1].future.result()
    # the broken delivery left nothing, not even its first (valid) alert
    assert [r.dedupe_key for r in alert_rows(db_engine)] == ["good1", "good2"]
    assert engine.stats["batches"] == 1


def test_concurrent_callers_are_group_committed(
    engine: IngestEngine, db_engine: Engine, seed: SeedFn
) -> None:
    s = seed()
    errors: list[BaseException] = []
    seen: list[Outcome] = []

    def send(worker: int) -> None:
        try:
            for i in range(25):
                fp = f"fp{i % 5}"
                # Equal source times on purpose: with distinct ones (minute=i, as this test
                # once had), a thread running ahead makes others' older alerts legitimately
                # stale (stored, not attached), so alert_count fell below 200 under load.
                a = alarm(f"w{worker}-{i}", fingerprint=fp)
                report = engine.ingest(Delivery(s.integration_id, s.service_id, [a]))
                seen.extend(o.outcome for o in report.outcomes)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert seen.count(Outcome.OPENED) == 5 and seen.count(Outcome.ATTACHED) == 195
    incs = incidents(db_engine)
    assert len(incs) == 5
    assert sum(i.alert_count for i in incs) == 200
    assert len(alert_rows(db_engine)) == 200
    assert engine.stats["deliveries"] == 200


def test_ingest_async(engine: IngestEngine, db_engine: Engine, seed: SeedFn) -> None:
    s = seed()

    async def main() -> list[str]:
        reports = await asyncio.gather(
            *(
                engine.ingest_async(
                    Delivery(s.integration_id, s.service_id, [alarm(f"k{i}", minute=i)])
                )
                for i in range(20)
            )
        )
        return sorted(r.outcomes[0].outcome.value for r in reports)

    result = asyncio.run(main())
    assert result.count("opened") == 1 and result.count("attached") + result.count("stale") == 19
    [inc] = incidents(db_engine)
    assert inc.alert_count == 1 + result.count("attached")


def test_async_waiters_are_answered_and_a_cancelled_one_harms_nobody(
    engine: IngestEngine, db_engine: Engine, seed: SeedFn
) -> None:
    s = seed()
    loop_errors: list[dict[str, Any]] = []

    async def main() -> list[Any]:
        asyncio.get_running_loop().set_exception_handler(lambda _l, c: loop_errors.append(c))
        waiters = [
            engine._writer.submit_async(
                Delivery(s.integration_id, s.service_id, [alarm(f"a{i}", fingerprint=f"fp{i % 3}")])
            )
            for i in range(40)
        ]
        waiters[5].cancel()  # the client went away before the commit
        return await asyncio.gather(*waiters, return_exceptions=True)

    results = asyncio.run(main())
    assert isinstance(results[5], asyncio.CancelledError)
    answered = [r for i, r in enumerate(results) if i != 5]
    outcomes = [o.outcome for r in answered for o in r.outcomes]
    assert outcomes.count(Outcome.OPENED) == 3 and outcomes.count(Outcome.ATTACHED) == 36
    # a cancelled delivery may still have been committed (cancelled too late): never twice
    assert len(alert_rows(db_engine)) in (39, 40)
    assert loop_errors == []  # no InvalidStateError from answering a cancelled waiter


def test_far_future_source_time_cannot_freeze_a_fingerprint(
    engine: IngestEngine, db_engine: Engine, seed: SeedFn
) -> None:
    s = seed()
    received = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    bogus = alarm("future", minute=60 * 24 * 365)  # a year ahead of our clock
    assert outcomes(engine, s, bogus, received_at=received) == ["opened"]
    ok = alarm("ok", Action.RESOLVE, minute=20)  # 20 minutes after receipt: applies
    assert outcomes(engine, s, ok, received_at=received + timedelta(minutes=20)) == ["resolved"]


def test_hot_path_lookups_use_indexes(db_engine: Engine) -> None:
    """No statement on the ingest path scans a table (ingest rate must not fall with size)."""
    from alertgate.engine.sql import RawSql

    sql = RawSql(db_engine.dialect.name)
    statements = {
        "dedupe": (sql.select_duplicate, (1, "k")),
        "fingerprint": (sql.upsert_fingerprint, (1, "fp", sql.dt(T0), "trigger")),
        "open incident": (sql.select_open_incident, (1, "fp")),
        "attach": (sql.update_attach, ("error", sql.dt(T0), 1)),
        "last alert": (sql.update_last_alert, (sql.dt(T0), 1, sql.dt(T0))),
        # placing a late alert (alertgate.engine.late): rarer, but also indexed
        "open span": (sql.select_open_span, (1, "fp")),
        "span before": (sql.select_resolved_span_before, ("fp", 1, sql.dt(T0))),
        "span after": (sql.select_resolved_span_after, ("fp", 1, sql.dt(T0))),
        "unmatched resolve": (
            sql.select_unmatched_resolve,
            ("fp", 1, sql.dt(T0), sql.dt(T0 + timedelta(days=1)), 10**6),
        ),
        "triggers of": (sql.select_triggers_of, (1,)),
        "move triggers": (sql.move_triggers_up_to, (2, 1, sql.dt(T0))),
        "span": (sql.update_span, (1, "error", sql.dt(T0), sql.dt(T0), 1)),
        "place": (sql.place_alert, ("late_attached", 1, 1)),
        "unlink": (sql.unlink_resolves_of, (1,)),
    }
    raw: Any = db_engine.raw_connection()
    try:
        cur = raw.cursor()
        for name, (statement, params) in statements.items():
            if sql.postgresql:
                cur.execute("SET enable_seqscan = off")
                cur.execute("EXPLAIN " + statement, params)
                plan = "\n".join(r[0] for r in cur.fetchall())
                assert "Seq Scan" not in plan, (name, plan)
            else:
                cur.execute("EXPLAIN QUERY PLAN " + statement, params)
                plan = "\n".join(str(r[-1]) for r in cur.fetchall())
                assert "SCAN" not in plan.replace("SCAN CONSTANT ROW", ""), (name, plan)
        raw.rollback()
    finally:
        raw.close()


def test_unreachable_database_raises_storage_unavailable() -> None:
    from alertgate.engine import StorageUnavailable
    from alertgate.storage.database import make_engine

    # nothing listens on port 1: every attempt fails to connect, nothing is stored
    db = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    engine = IngestEngine(db)
    try:
        with pytest.raises(StorageUnavailable):
            engine.ingest(Delivery(1, 1, [alarm("k")]))
    finally:
        engine.close()
        db.dispose()
    with pytest.raises(StorageUnavailable):
        engine.ingest(Delivery(1, 1, [alarm("k")]))  # closed engines refuse work


def test_close_applies_what_is_queued(db_engine: Engine, seed: SeedFn) -> None:
    s = seed()
    engine = IngestEngine(db_engine)
    futures = [
        engine._writer.submit(Delivery(s.integration_id, s.service_id, [alarm(f"k{i}")]))
        for i in range(30)
    ]
    engine.close()
    assert all(f.done() and f.exception() is None for f in futures)
    assert len(alert_rows(db_engine)) == 30

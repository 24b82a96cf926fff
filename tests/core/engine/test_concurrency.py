"""Several real processes on one database end exactly where a sequential replay ends.

Hypothesis generates delivery streams with repeats, resolves, info alerts, two
integrations feeding the same grouping keys, redeliveries (duplicates) and reordering.
Three worker processes, each with two replayer threads (so group commit batches form
inside each process too), send the streams to one SQLite file or one PostgreSQL
database at the same time.

* Same stream for every replayer: a replayer reaching delivery j has seen every earlier
  delivery committed (by itself or another), so the result must equal a single sequential
  replay of the stream, incident by incident and alert by alert.
* Independent shuffles per replayer: arrival order differs, so we check what no order can
  change: each distinct alert stored exactly once, counts that add up, and each grouping
  key's final state given by its newest trigger or resolve.
"""

from __future__ import annotations

import multiprocessing
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from alertgate.engine import Delivery, IngestEngine
from alertgate.models import Action, Alert, Severity
from alertgate.storage.database import make_engine
from alertgate.storage.schema import Alert as AlertRow
from alertgate.storage.schema import Incident
from tests.concurrency_worker import serve
from tests.core.engine.test_engine import T0
from tests.core.engine.test_engine_replay import Event as ReplayEvent
from tests.core.engine.test_engine_replay import (
    arrivals,
    histories,
    out_of_order_count,
    replay_order,
    spans,
    to_alert,
)
from tests.db_fixtures import fresh_sqlite_url, truncate_all

PROCESSES = 3
THREADS = 4
FINGERPRINTS = ["fp-a", "fp-b", "fp-c"]
SEVERITIES = [Severity.WARNING, Severity.ERROR, Severity.CRITICAL]


@dataclass(frozen=True)
class Event:
    fingerprint: int
    action: Action
    minute: int
    severity: int
    integration: int


events_st = st.lists(
    st.builds(
        Event,
        fingerprint=st.integers(0, len(FINGERPRINTS) - 1),
        action=st.sampled_from([Action.TRIGGER] * 3 + [Action.RESOLVE] * 2 + [Action.INFO]),
        minute=st.integers(0, 40),
        severity=st.integers(0, 2),
        integration=st.integers(0, 1),
    ),
    min_size=1,
    max_size=30,
)


@dataclass
class Scenario:
    deliveries: list[tuple[int, list[Event], list[str]]]
    """(integration index, events, dedupe keys) in stream order; redeliveries repeat."""


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    events = draw(events_st)
    deliveries: list[tuple[int, list[Event], list[str]]] = []
    i = 0
    while i < len(events):
        size = draw(st.integers(1, 2))
        chunk = [e for e in events[i : i + size] if e.integration == events[i].integration]
        deliveries.append((events[i].integration, chunk, [f"m{i + k}" for k in range(len(chunk))]))
        i += len(chunk)
    redeliveries = draw(st.lists(st.sampled_from(deliveries), max_size=len(deliveries)))
    stream = draw(st.permutations(deliveries + redeliveries))
    return Scenario(list(stream))


def to_deliveries(scenario: Scenario, ids: dict[str, Any]) -> list[Delivery]:
    out = []
    for integration, events, keys in scenario.deliveries:
        alerts = [
            Alert(
                title=f"{FINGERPRINTS[e.fingerprint]} {e.severity}",
                source_time=T0 + timedelta(minutes=e.minute),
                dedupe_key=key,
                severity=SEVERITIES[e.severity],
                fingerprint=FINGERPRINTS[e.fingerprint],
                action=e.action,
                payload={"k": key},
            )
            for e, key in zip(events, keys, strict=True)
        ]
        out.append(Delivery(ids["integrations"][integration], ids["service"], alerts))
    return out


def seed_ids(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            org = conn.execute(
                text("INSERT INTO organizations (name, created_at) VALUES ('o', :t) RETURNING id"),
                {"t": "2026-01-01 00:00:00.000000"},
            ).scalar_one()
            service = conn.execute(
                text(
                    "INSERT INTO services (organization_id, name, description, created_at) "
                    "VALUES (:o, 's', '', :t) RETURNING id"
                ),
                {"o": org, "t": "2026-01-01 00:00:00.000000"},
            ).scalar_one()
            integrations = [
                conn.execute(
                    text(
                        "INSERT INTO integrations (service_id, type, name, key_hash, key_prefix, "
                        "settings, state, enabled, created_at) VALUES (:s, 't', :n, :n, 'p', "
                        "'{}', '{}', true, :t) RETURNING id"
                    ),
                    {"s": service, "n": f"i{n}", "t": "2026-01-01 00:00:00.000000"},
                ).scalar_one()
                for n in range(2)
            ]
    finally:
        engine.dispose()
    return {"service": service, "integrations": integrations}


def snapshot(url: str) -> dict[str, Any]:
    """The final state, with incident ids replaced by (fingerprint, rank) to compare runs."""
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            incs = list(s.query(Incident).order_by(Incident.fingerprint, Incident.first_alert_at))
            label: dict[int, tuple[str, int]] = {}
            incidents = []
            for inc in incs:
                rank = sum(1 for v in label.values() if v[0] == inc.fingerprint)
                label[inc.id] = (inc.fingerprint, rank)
                incidents.append(
                    (
                        inc.fingerprint,
                        rank,
                        inc.status,
                        inc.alert_count,
                        inc.severity,
                        inc.title,
                        inc.first_alert_at,
                        inc.last_alert_at,
                        inc.resolved_by,
                        inc.resolved_at,
                        inc.out_of_order,
                    )
                )
            alerts = {
                (a.integration_id, a.dedupe_key): (
                    a.outcome,
                    label.get(a.incident_id) if a.incident_id else None,
                )
                for a in s.query(AlertRow)
            }
            alert_total = s.query(AlertRow).count()
    finally:
        engine.dispose()
    return {"incidents": incidents, "alerts": alerts, "alert_total": alert_total}


def sequential(url: str, deliveries: list[Delivery]) -> None:
    engine = make_engine(url)
    ingest = IngestEngine(engine)
    try:
        for d in deliveries:
            ingest.ingest(d)
    finally:
        ingest.close()
        engine.dispose()


class Workers:
    """Long-lived worker processes (spawned once per test: imports are slow)."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.results: Any = ctx.Queue()
        self.commands: list[Any] = [ctx.Queue() for _ in range(PROCESSES)]
        self.procs = [
            ctx.Process(target=serve, args=(q, self.results), daemon=True) for q in self.commands
        ]
        for p in self.procs:
            p.start()

    def run(self, url: str, streams_per_process: list[list[list[Delivery]]]) -> None:
        for q, streams in zip(self.commands, streams_per_process, strict=True):
            q.put((url, streams))
        failures = [self.results.get(timeout=240) for _ in self.procs]
        assert [f for f in failures if f] == []

    def close(self) -> None:
        for q in self.commands:
            q.put(None)
        for p in self.procs:
            p.join(30)
            if p.is_alive():
                p.kill()


@pytest.fixture(scope="module")
def workers() -> Iterator[Workers]:
    w = Workers()
    yield w
    w.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_db(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A callable giving an empty migrated database URL for each hypothesis example."""
    counter = iter(range(10**6))
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        return lambda: fresh_sqlite_url(template, tmp_path, f"db{next(counter)}.db")
    url = request.getfixturevalue("pg_database_url")

    def make() -> str:
        truncate_all(url)
        return url

    return make


TRIGGERED = {"opened", "attached", "late_opened", "late_attached"}

COMMON = settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


@pytest.mark.slow
@COMMON
@given(scenario=scenarios())
def test_processes_replaying_one_stream_equal_a_sequential_replay(
    workers: Workers, fresh_db: Any, scenario: Scenario
) -> None:
    url = fresh_db()
    ids = seed_ids(url)
    deliveries = to_deliveries(scenario, ids)
    workers.run(url, [[deliveries] * THREADS for _ in range(PROCESSES)])
    concurrent = snapshot(url)

    url = fresh_db()
    assert seed_ids(url) == ids
    sequential(url, deliveries)
    expected = snapshot(url)

    assert concurrent == expected
    distinct = {k for _, _, keys in scenario.deliveries for k in keys}
    assert concurrent["alert_total"] == len(distinct)


@pytest.mark.slow
@COMMON
@given(scenario=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_processes_with_independent_orders_keep_the_invariants(
    workers: Workers, fresh_db: Any, scenario: Scenario, seed: int
) -> None:
    url = fresh_db()
    ids = seed_ids(url)
    deliveries = to_deliveries(scenario, ids)
    rng = random.Random(seed)
    streams = [
        [rng.sample(deliveries, len(deliveries)) for _ in range(THREADS)] for _ in range(PROCESSES)
    ]
    workers.run(url, streams)
    state = snapshot(url)

    # every distinct alert exactly once, whatever the order
    distinct = {
        (ids["integrations"][i], k): e
        for i, events, keys in scenario.deliveries
        for e, k in zip(events, keys, strict=True)
    }
    assert state["alert_total"] == len(distinct)
    assert set(state["alerts"]) == set(distinct)
    outcomes = [o for o, _ in state["alerts"].values()]
    # every trigger is in exactly one incident, whatever the order (issue 25: a late one
    # joins or makes one), and only in-order triggers open incidents that were ever open
    triggers = sum(1 for e in distinct.values() if e.action is Action.TRIGGER)
    assert sum(inc[3] for inc in state["incidents"]) == triggers
    assert all(label is not None for (o, label) in state["alerts"].values() if o in TRIGGERED)
    assert sum(1 for inc in state["incidents"] if not inc[-1]) == outcomes.count("opened")
    for key, event in distinct.items():
        outcome = state["alerts"][key][0]
        if event.action is Action.INFO:
            assert outcome == "info"
        else:
            assert outcome != "info"

    # the newest trigger/resolve of each key decides whether an incident is open
    for fp_index, fp in enumerate(FINGERPRINTS):
        changes = [e for e in distinct.values() if e.fingerprint == fp_index and e.action != "info"]
        if not changes:
            assert not [i for i in state["incidents"] if i[0] == fp]
            continue
        newest = max(e.minute for e in changes)
        actions = {e.action for e in changes if e.minute == newest}
        open_now = [i for i in state["incidents"] if i[0] == fp and i[2] == "triggered"]
        if actions == {Action.TRIGGER}:
            assert len(open_now) == 1
        elif actions == {Action.RESOLVE}:
            assert open_now == []
        assert len(open_now) <= 1


@pytest.mark.slow
@COMMON
@given(data=st.data())
def test_processes_with_shuffled_redelivered_alerts_equal_a_source_time_replay(
    workers: Workers, fresh_db: Any, data: st.DataObject
) -> None:
    """Issue 25, the way SNS delivers: every process and thread gets every message, each in
    its own shuffled order (so each message also arrives several times, concurrently). The
    incidents must be those of a replay in source-time order: same spans, same alerts in
    each, same statuses; no trigger outside every incident."""
    events = data.draw(histories(keys=3))
    deliveries = data.draw(arrivals(events))
    url = fresh_db()
    ids = seed_ids(url)
    service, integrations = ids["service"], ids["integrations"]

    def batch(groups: list[list[ReplayEvent]]) -> list[Delivery]:
        return [
            Delivery(integrations[g[0].integration], service, [to_alert(e) for e in g])
            for g in groups
        ]

    rng = random.Random(data.draw(st.integers(0, 2**32 - 1)))
    streams = [
        [batch(rng.sample(deliveries, len(deliveries))) for _ in range(THREADS)]
        for _ in range(PROCESSES)
    ]
    workers.run(url, streams)
    engine = make_engine(url)
    try:
        concurrent = spans(engine, service)
    finally:
        engine.dispose()

    url = fresh_db()
    assert seed_ids(url) == ids
    sequential(url, batch(replay_order(events)))
    engine = make_engine(url)
    try:
        assert concurrent == spans(engine, service)
        assert out_of_order_count(engine, service) == 0
    finally:
        engine.dispose()


def test_engine_survives_sqlite_write_lock_contention(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """Another connection holding the write lock briefly only delays the writer."""
    url = fresh_sqlite_url(sqlite_template, tmp_path)
    ids = seed_ids(url)
    engine: Engine = make_engine(url)
    ingest = IngestEngine(engine)
    blocker: Any = engine.raw_connection()
    try:
        blocker.driver_connection.isolation_level = None
        blocker.cursor().execute("BEGIN IMMEDIATE")
        import threading

        released = threading.Timer(0.3, lambda: blocker.cursor().execute("COMMIT"))
        released.start()
        scenario = Scenario([(0, [Event(0, Action.TRIGGER, 1, 1, 0)], ["x"])])
        report = ingest.ingest(to_deliveries(scenario, ids)[0])
        released.join()
        assert report.outcomes[0].outcome.value == "opened"
    finally:
        ingest.close()
        blocker.driver_connection.isolation_level = ""
        blocker.close()
        engine.dispose()

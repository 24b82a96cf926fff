"""Any arrival order ends with the incidents of a replay in source-time order (issue 25).

Hypothesis draws each grouping key's history (triggers and resolves at distinct source
times, as CloudWatch's StateChangeTime gives them), then an arrival order: any
permutation, with redeliveries, cut into deliveries that several threads submit at once
(so the writer batches them, and on PostgreSQL pipelines them). A second service receives
the same alerts one by one in source-time order. Both must end with the same incidents:
same spans (first and last trigger, resolve time), the same alerts in each, same status,
count and severity. Only the ``out_of_order`` mark (never set by the replay) and titles
(an incident keeps the title of the alert that created it) may differ.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alertgate.engine import Delivery, IngestEngine
from alertgate.models import Action, Alert, Severity
from alertgate.storage.schema import Alert as AlertRow
from alertgate.storage.schema import Incident
from tests.core.engine.test_engine import T0
from tests.db_fixtures import SeedFn

EXAMPLES = itertools.count()
FINGERPRINTS = ["fp-x", "fp-y", "fp-z"]
SEVERITIES = [Severity.WARNING, Severity.ERROR, Severity.CRITICAL]


@dataclass(frozen=True)
class Event:
    key: str
    """Dedupe key, unique per event."""
    fingerprint: int
    action: Action
    minute: int
    severity: int
    integration: int


@st.composite
def histories(draw: st.DrawFn, keys: int = 2) -> list[Event]:
    """Every key's triggers and resolves at distinct times, plus a few info alerts."""
    events: list[Event] = []
    for fp in range(keys):
        minutes = sorted(draw(st.sets(st.integers(0, 90), max_size=10)))
        for minute in minutes:
            events.append(
                Event(
                    f"e{len(events)}",
                    fp,
                    draw(st.sampled_from([Action.TRIGGER, Action.TRIGGER, Action.RESOLVE])),
                    minute,
                    draw(st.integers(0, len(SEVERITIES) - 1)),
                    draw(st.integers(0, 1)),
                )
            )
    for _ in range(draw(st.integers(0, 2))):
        events.append(
            Event(f"e{len(events)}", draw(st.integers(0, keys - 1)), Action.INFO, 0, 0, 0)
        )
    return events


@st.composite
def arrivals(draw: st.DrawFn, events: list[Event]) -> list[list[Event]]:
    """``events`` in any order, some delivered twice, grouped into deliveries."""
    again = draw(st.lists(st.sampled_from(events), max_size=len(events) // 2)) if events else []
    order = draw(st.permutations(events + again))
    deliveries: list[list[Event]] = []
    for event in order:
        last = deliveries[-1] if deliveries else None
        if (
            last is not None
            and len(last) < 3
            and last[0].integration == event.integration
            and event.key not in {e.key for e in last}
            and draw(st.booleans())
        ):
            last.append(event)
        else:
            deliveries.append([event])
    return deliveries


def to_alert(event: Event) -> Alert:
    return Alert(
        title=f"{FINGERPRINTS[event.fingerprint]} {event.key}",
        source_time=T0 + timedelta(minutes=event.minute),
        dedupe_key=event.key,
        severity=SEVERITIES[event.severity],
        fingerprint=FINGERPRINTS[event.fingerprint],
        action=event.action,
    )


def replay_order(events: list[Event]) -> list[list[Event]]:
    """One delivery per event, in source-time order."""
    return [[e] for e in sorted(events, key=lambda e: (e.minute, e.key))]


Span = tuple[Any, ...]


def spans(db: Engine, service_id: int) -> list[Span]:
    """The service's incidents as comparable values, independent of ids and arrival order.

    Also checks that no trigger was left out of every incident: never invisible."""
    with Session(db) as s:
        members: dict[int, tuple[set[str], set[str]]] = {}
        for row in s.query(AlertRow).filter(AlertRow.service_id == service_id):
            if row.action == "trigger":
                assert row.incident_id is not None, f"trigger {row.dedupe_key} left out"
            if row.incident_id is not None:
                triggers, resolves = members.setdefault(row.incident_id, (set(), set()))
                (triggers if row.action == "trigger" else resolves).add(str(row.dedupe_key))
        result = []
        for inc in s.query(Incident).filter(Incident.service_id == service_id):
            triggers, resolves = members.get(inc.id, (set(), set()))
            assert inc.alert_count == len(triggers)
            result.append(
                (
                    inc.fingerprint,
                    inc.status,
                    inc.resolved_by,
                    inc.first_alert_at,
                    inc.last_alert_at,
                    inc.resolved_at,
                    inc.alert_count,
                    inc.severity,
                    tuple(sorted(triggers)),
                    tuple(sorted(resolves)),
                )
            )
    return sorted(result, key=str)


def out_of_order_count(db: Engine, service_id: int) -> int:
    with Session(db) as s:
        return (
            s.query(Incident)
            .filter(Incident.service_id == service_id, Incident.out_of_order.is_(True))
            .count()
        )


def deliver(
    engine: IngestEngine,
    integrations: list[int],
    service_id: int,
    deliveries: list[list[Event]],
    threads: int = 1,
) -> None:
    def send(events: list[Event]) -> None:
        alerts = [to_alert(e) for e in events]
        engine.ingest(Delivery(integrations[events[0].integration], service_id, alerts))

    if threads == 1:
        for events in deliveries:
            send(events)
        return
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, deliveries))


def two_integrations(seed: SeedFn) -> tuple[int, list[int]]:
    a = seed(f"svc-{next(EXAMPLES)}")
    b = seed(service_id=a.service_id, type_="aws_cloudtrail")
    return a.service_id, [a.integration_id, b.integration_id]


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_arrival_order_ends_like_a_source_time_replay(
    db_engine: Engine, seed: SeedFn, data: st.DataObject
) -> None:
    events = data.draw(histories())
    deliveries = data.draw(arrivals(events))
    threads = data.draw(st.sampled_from([1, 4]))
    engine = IngestEngine(db_engine)
    try:
        shuffled_service, shuffled_integrations = two_integrations(seed)
        deliver(engine, shuffled_integrations, shuffled_service, deliveries, threads)
        replay_service, replay_integrations = two_integrations(seed)
        deliver(engine, replay_integrations, replay_service, replay_order(events))
    finally:
        engine.close()
    assert spans(db_engine, shuffled_service) == spans(db_engine, replay_service)
    assert out_of_order_count(db_engine, replay_service) == 0


def test_the_issue_example_alarm_repeat_ok_in_every_order(db_engine: Engine, seed: SeedFn) -> None:
    """ALARM(1), repeat ALARM(2), OK(3) of one alarm, delivered in each of the 6 orders:
    always one incident 1..3 with both ALARMs and the OK, resolved."""
    story = [
        Event("alarm", 0, Action.TRIGGER, 1, 1, 0),
        Event("repeat", 0, Action.TRIGGER, 2, 1, 0),
        Event("ok", 0, Action.RESOLVE, 3, 1, 0),
    ]
    engine = IngestEngine(db_engine)
    try:
        results = set()
        for order in itertools.permutations(story):
            service, integrations = two_integrations(seed)
            deliver(engine, integrations, service, [[e] for e in order])
            [span] = spans(db_engine, service)
            results.add(span)
    finally:
        engine.close()
    assert results == {
        (
            "fp-x",
            "resolved",
            "alert",
            T0 + timedelta(minutes=1),
            T0 + timedelta(minutes=2),
            T0 + timedelta(minutes=3),
            2,
            "error",
            ("alarm", "repeat"),
            ("ok",),
        )
    }

"""The engine against a reference model of DESIGN.md's incident semantics.

The model below is the semantics written as plainly as possible, in memory. Hypothesis
generates streams of deliveries (triggers, resolves, info, redeliveries, out-of-order
times, several grouping keys and integrations) and manual acknowledge / resolve actions;
the engine, on SQLite (Python path) and PostgreSQL (server-side function), must produce
the same outcome for every alert and the same incidents.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alertgate.engine import Delivery, IngestEngine
from alertgate.models import SEVERITY_RANK, Action, Alert, Severity
from alertgate.storage.schema import Incident
from tests.core.engine.test_engine import T0
from tests.db_fixtures import SeedFn

EXAMPLES = itertools.count()
FPS = ["a", "b"]
SEVS = [Severity.INFO, Severity.WARNING, Severity.ERROR, Severity.CRITICAL]


@dataclass
class ModelIncident:
    fingerprint: str
    title: str
    severity: Severity
    status: str = "triggered"
    count: int = 1
    first: datetime = T0
    last: datetime = T0
    resolved_by: str | None = None


@dataclass
class Model:
    seen: dict[tuple[int, str], str] = field(default_factory=dict)
    clock: dict[str, datetime] = field(default_factory=dict)
    open: dict[str, int] = field(default_factory=dict)
    incidents: list[ModelIncident] = field(default_factory=list)

    def alert(self, integration: int, key: str, alert: Alert) -> str:
        if (integration, key) in self.seen:
            return "duplicate"
        outcome = self._apply(alert)
        self.seen[(integration, key)] = outcome
        return outcome

    def _apply(self, a: Alert) -> str:
        if a.action is Action.INFO:
            return "info"
        if a.fingerprint in self.clock and a.source_time < self.clock[a.fingerprint]:
            return "stale"
        self.clock[a.fingerprint] = a.source_time
        index = self.open.get(a.fingerprint)
        if a.action is Action.TRIGGER:
            if index is None:
                self.open[a.fingerprint] = len(self.incidents)
                self.incidents.append(
                    ModelIncident(
                        a.fingerprint, a.title, a.severity, first=a.source_time, last=a.source_time
                    )
                )
                return "opened"
            inc = self.incidents[index]
            inc.count += 1
            inc.last = a.source_time
            if SEVERITY_RANK[a.severity] > SEVERITY_RANK[inc.severity]:
                inc.severity = a.severity
            return "attached"
        if index is None:
            return "no_open_incident"
        self.incidents[index].status = "resolved"
        self.incidents[index].resolved_by = "alert"
        del self.open[a.fingerprint]
        return "resolved"

    def manual(self, verb: str, fingerprint: str) -> None:
        index = self.open.get(fingerprint)
        if index is None:
            return
        inc = self.incidents[index]
        if verb == "ack":
            if inc.status == "triggered":
                inc.status = "acknowledged"
        else:
            inc.status = "resolved"
            inc.resolved_by = "tester"
            del self.open[fingerprint]


alert_st = st.tuples(
    st.integers(0, len(FPS) - 1),  # fingerprint
    st.sampled_from([Action.TRIGGER, Action.TRIGGER, Action.RESOLVE, Action.INFO]),
    st.integers(0, 20),  # minute
    st.integers(0, 3),  # severity
    st.integers(0, 1),  # integration
)
step_st = st.one_of(
    st.tuples(st.just("deliver"), st.lists(alert_st, min_size=1, max_size=3)),
    st.tuples(st.just("redeliver"), st.integers(0, 1000)),
    st.tuples(st.sampled_from(["ack", "resolve"]), st.integers(0, len(FPS) - 1)),
)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step_st, min_size=1, max_size=25))
def test_engine_matches_the_reference_model(
    db_engine: Engine, seed: SeedFn, steps: list[tuple[str, Any]]
) -> None:
    a = seed(f"svc-{next(EXAMPLES)}")  # a fresh service per example: nothing carries over
    b = seed(service_id=a.service_id, type_="aws_cloudtrail")
    integrations = [a.integration_id, b.integration_id]
    engine = IngestEngine(db_engine)
    model = Model()
    sent: list[tuple[int, list[tuple[str, Alert]]]] = []
    serial = 0
    try:
        for kind, arg in steps:
            if kind in ("ack", "resolve"):
                fp = FPS[arg]
                with Session(db_engine) as s:
                    open_ids = [
                        i.id
                        for i in s.query(Incident).filter(
                            Incident.service_id == a.service_id,
                            Incident.fingerprint == fp,
                            Incident.status.in_(["triggered", "acknowledged"]),
                        )
                    ]
                assert len(open_ids) == (1 if fp in model.open else 0)
                if open_ids:
                    if kind == "ack":
                        engine.acknowledge(open_ids[0], "tester")
                    else:
                        engine.resolve(open_ids[0], "tester")
                model.manual(kind, fp)
                continue
            if kind == "redeliver":
                if not sent:
                    continue
                integration, keyed = sent[arg % len(sent)]
            else:
                integration = arg[0][4]
                keyed = []
                for fp, action, minute, sev, _ in arg:
                    serial += 1
                    keyed.append(
                        (
                            f"m{serial}",
                            Alert(
                                title=f"{FPS[fp]} #{serial}",
                                source_time=T0 + timedelta(minutes=minute),
                                dedupe_key=f"m{serial}",
                                severity=SEVS[sev],
                                fingerprint=FPS[fp],
                                action=action,
                            ),
                        )
                    )
                sent.append((integration, keyed))
            report = engine.ingest(
                Delivery(integrations[integration], a.service_id, [al for _, al in keyed])
            )
            expected = [model.alert(integration, key, al) for key, al in keyed]
            assert [o.outcome.value for o in report.outcomes] == expected
    finally:
        engine.close()

    with Session(db_engine) as s:
        rows = list(
            s.query(Incident).filter(Incident.service_id == a.service_id).order_by(Incident.id)
        )
    got = [
        (
            r.fingerprint,
            r.title,
            r.severity,
            r.status,
            r.alert_count,
            r.first_alert_at,
            r.last_alert_at,
            r.resolved_by,
        )
        for r in rows
    ]
    want = [
        (
            m.fingerprint,
            m.title,
            m.severity.value,
            m.status,
            m.count,
            m.first,
            m.last,
            m.resolved_by,
        )
        for m in model.incidents
    ]
    assert got == want

"""After a run: does the database hold exactly what the workload must produce?

A fast wrong answer is a failure. Checked for the benchmark's integration:

* every distinct delivered MessageId is stored exactly once (no loss, no double count)
  with the action and outcome of the sequential reference model (bench.workload.expect)
  replayed in the order the server applied the deliveries (the order of alert ids: commit
  order on SQLite, per grouping key lock order on PostgreSQL). The workload keeps an
  alarm's deliveries far apart, so that order is nearly always the generated one; when a
  stalled request lets a later delivery of the same alarm overtake it, the server's
  different (but correct) outcome is accepted and counted in ``reordered``;
* all alerts of one alarm share one fingerprint, different alarms never share one;
* each expected incident exists once: opened by the expected alert, joined by its repeats
  and late ALARMs (same incident id, ``alert_count`` = its ALARMs), resolved by its OK or
  still open;
  there are no other incidents for the service;
* every HTTP response was 2xx (duplicates included).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

from bench.workload import Delivery, expect, replan

MAX_REPORTED = 20


@dataclass(slots=True)
class CheckResult:
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    stored_alerts: int = 0
    incidents: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    reordered: int = 0
    """Deliveries whose outcome differs from the generated order's because the server
    applied them in another (arrival) order."""

    def fail(self, message: str) -> None:
        self.ok = False
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(message)
        elif len(self.problems) == MAX_REPORTED:
            self.problems.append("... (more problems not shown)")

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "stored_alerts": self.stored_alerts,
            "incidents": self.incidents,
            "outcomes": self.outcomes,
            "reordered": self.reordered,
            "problems": self.problems,
        }


def check_rows(
    deliveries: list[Delivery],
    alerts: list[tuple[int, str | None, str, str, str, int | None]],
    incidents: list[tuple[int, str, str, int]],
    statuses: dict[int, int] | None = None,
) -> CheckResult:
    """Compare stored rows with the expectation.

    :param alerts: (id, dedupe_key, action, outcome, fingerprint, incident_id) per stored
        alert; ids give the order the server applied them in.
    :param incidents: (id, fingerprint, status, alert_count) per incident of the service.
    :param statuses: HTTP status counts of the load run, if any.
    """
    result = CheckResult()
    result.stored_alerts = len(alerts)
    result.incidents = len(incidents)
    result.outcomes = dict(Counter(a[3] for a in alerts))
    if statuses is not None:
        bad = {code: n for code, n in statuses.items() if not 200 <= code < 300}
        if bad:
            result.fail(f"non-2xx responses: {bad}")
        if sum(statuses.values()) != len(deliveries):
            result.fail(f"{sum(statuses.values())} responses for {len(deliveries)} deliveries")

    by_key: dict[str, tuple[str, str, str, int | None]] = {}
    applied: list[str] = []
    for _id, key, action, outcome, fingerprint, incident_id in sorted(alerts):
        if key is None:
            result.fail("an alert without dedupe key (MessageId)")
            continue
        if key in by_key:
            result.fail(f"MessageId {key} stored twice")
        by_key[key] = (action, outcome, fingerprint, incident_id)
        applied.append(key)

    generated = {d.message_id: d for d in deliveries if d.outcome != "duplicate"}
    expected = [d for d in deliveries if d.outcome != "duplicate"]
    if applied and set(applied) == set(generated) and applied != [d.message_id for d in expected]:
        # Replay the model in the applied order (duplicates cannot change any outcome).
        expected, _ = expect(replan([generated[k] for k in applied]))
        result.reordered = sum(1 for d in expected if d.outcome != generated[d.message_id].outcome)
    if len(expected) != len(alerts):
        result.fail(f"{len(alerts)} alerts stored, expected {len(expected)}")
    alarm_fp: dict[int, str] = {}
    fp_alarm: dict[str, int] = {}
    run_incident: dict[int, int] = {}
    run_triggers: Counter[int] = Counter()
    for d in expected:
        row = by_key.get(d.message_id)
        if row is None:
            result.fail(f"MessageId {d.message_id} ({d.state}, expected {d.outcome}) not stored")
            continue
        action, outcome, fingerprint, incident_id = row
        if action != d.action or outcome != d.outcome:
            result.fail(
                f"MessageId {d.message_id}: stored {action}/{outcome}, "
                f"expected {d.action}/{d.outcome}"
            )
        if alarm_fp.setdefault(d.alarm, fingerprint) != fingerprint:
            result.fail(f"alarm {d.alarm} has two fingerprints")
        if fp_alarm.setdefault(fingerprint, d.alarm) != d.alarm:
            result.fail(f"alarms {d.alarm} and {fp_alarm[fingerprint]} share a fingerprint")
        if d.run is not None:
            if incident_id is None:
                result.fail(f"MessageId {d.message_id} ({d.outcome}) has no incident")
            elif run_incident.setdefault(d.run, incident_id) != incident_id:
                result.fail(f"expected incident {d.run} split over two incidents")
            if d.action == "trigger":
                run_triggers[d.run] += 1
        elif incident_id is not None and d.outcome in ("stale", "info", "no_open_incident"):
            result.fail(f"MessageId {d.message_id} ({d.outcome}) is linked to an incident")

    resolved_runs = {d.run for d in expected if d.action == "resolve" and d.run is not None}
    stored_incidents = {row[0]: row for row in incidents}
    if len(incidents) != len(run_incident) or len(set(run_incident.values())) != len(run_incident):
        result.fail(f"{len(incidents)} incidents stored, expected {len(run_incident)}")
    for run, incident_id in run_incident.items():
        row = stored_incidents.get(incident_id)
        if row is None:
            result.fail(f"incident {incident_id} missing")
            continue
        _, _, status, count = row
        want = "resolved" if run in resolved_runs else "triggered"
        if status != want:
            result.fail(f"incident {incident_id}: status {status}, expected {want}")
        if count != run_triggers[run]:
            result.fail(
                f"incident {incident_id}: alert_count {count}, expected {run_triggers[run]}"
            )
    return result


def check_database(
    db: Engine,
    deliveries: list[Delivery],
    integration_id: int,
    statuses: dict[int, int] | None = None,
) -> CheckResult:
    """Read the rows of ``integration_id`` (and its service) and :func:`check_rows` them."""
    with db.connect() as conn:
        service_id = conn.execute(
            text("SELECT service_id FROM integrations WHERE id = :i"), {"i": integration_id}
        ).scalar_one()
        alerts = [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT id, dedupe_key, action, outcome, fingerprint, incident_id FROM alerts "
                    "WHERE integration_id = :i"
                ),
                {"i": integration_id},
            )
        ]
        incidents = [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT id, fingerprint, status, alert_count FROM incidents "
                    "WHERE service_id = :s"
                ),
                {"s": service_id},
            )
        ]
    return check_rows(deliveries, alerts, incidents, statuses)  # type: ignore[arg-type]


def outcome_totals(deliveries: list[Delivery]) -> dict[str, int]:
    totals: defaultdict[str, int] = defaultdict(int)
    for d in deliveries:
        totals[d.outcome] += 1
    return dict(totals)

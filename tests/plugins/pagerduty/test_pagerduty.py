"""The PagerDuty channel: Events API v2 trigger, acknowledge, resolve with one dedup key."""

from __future__ import annotations

from sqlalchemy import Engine

from alertgate.registry import load_plugins
from tests.db_fixtures import SeedFn
from tests.notify_support import http_receiver, run_story

ROUTING_KEY = "R0123456789abcdef0123456789abcde"


def test_pagerduty_events_follow_the_incident(db_engine: Engine, seed: SeedFn) -> None:
    ids = seed()
    with http_receiver(statuses=[202, 202, 202]) as receiver:
        settings = {"routing_key": ROUTING_KEY, "base_url": receiver.url}
        incident_id = run_story(
            db_engine, load_plugins(), ids.service_id, ids.integration_id, "pagerduty", settings
        )
        got = receiver.received
    assert [r.path for r in got] == ["/v2/enqueue"] * 3
    bodies = [r.json() for r in got]
    assert [b["event_action"] for b in bodies] == ["trigger", "acknowledge", "resolve"]
    assert {b["dedup_key"] for b in bodies} == {f"alertgate-{incident_id}"}
    assert {b["routing_key"] for b in bodies} == {ROUTING_KEY}
    trigger = bodies[0]
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["source"] == "payments"
    assert "Disk full on db-1" in trigger["payload"]["summary"]
    assert trigger["links"] == [
        {"href": f"http://alertgate.test/incidents/{incident_id}", "text": "alertgate incident"}
    ]

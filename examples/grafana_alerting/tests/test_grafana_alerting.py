"""Tests of the grafana_alerting plugin, with alertgate.testing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from alertgate.testing import DeliveryClient, build_plugins, check_integration_type

SLUG = "grafana_alerting"
SAMPLES = Path(__file__).parent / "samples"
JSON = {"content-type": "application/json"}
GARBAGE = [
    b"",
    b"{",
    b"[]",
    b'{"alerts": []}',
    b'{"alerts": [{"status": "firing"}]}',
    b'{"alerts": [{"status": "pending", "fingerprint": "a1"}]}',
    b'{"alerts": [{"status": "firing", "fingerprint": "a1", "startsAt": "yesterday"}]}',
    b'{"alerts": [{"status": "firing", "fingerprint": "a1", "labels": ["x"]}]}',
]


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def doc(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(sample(name))
    return loaded


def test_installed_through_its_entry_point() -> None:
    registered = build_plugins().types[SLUG]
    assert registered.plugin.distribution == "alertgate-grafana-alerting"
    assert registered.type.title == "Grafana Alerting"


def test_keeps_the_plugin_contract() -> None:
    single = doc("firing.json")
    single["alerts"] = single["alerts"][1:]
    single_resolved = doc("resolved.json")
    single_resolved["alerts"] = single_resolved["alerts"][1:]
    check_integration_type(
        SLUG,
        trigger=[sample("firing.json"), json.dumps(single)],
        resolve=[sample("resolved.json"), json.dumps(single_resolved)],
        garbage=GARBAGE,
        headers=JSON,
    )


def test_each_grafana_alert_is_an_incident_by_fingerprint(
    alertgate_client: DeliveryClient,
) -> None:
    opened = alertgate_client.post(SLUG, sample("firing.json"), headers=JSON)
    assert opened.status_code == 200, opened.body
    assert opened.outcomes == ["opened", "opened"]
    assert sorted((i.fingerprint, i.title) for i in opened.incidents) == [
        ("grafana:bc97ff14869b13e3", "High CPU usage: This alert was triggered for zone eu-1"),
        ("grafana:c6eadffa33fcdf37", "High memory usage: This alert was triggered for zone us-1"),
    ]

    # Grafana repeats the notification while the alerts fire: stored once.
    repeated = alertgate_client.post(SLUG, sample("firing.json"), headers=JSON)
    assert repeated.outcomes == ["duplicate", "duplicate"]

    mixed = alertgate_client.post(SLUG, sample("one_resolved_one_firing.json"), headers=JSON)
    assert mixed.outcomes == ["resolved", "duplicate"]
    status = {i.fingerprint: i.status for i in alertgate_client.incidents()}
    assert status == {
        "grafana:c6eadffa33fcdf37": "resolved",
        "grafana:bc97ff14869b13e3": "triggered",
    }

    resolved = alertgate_client.post(SLUG, sample("resolved.json"), headers=JSON)
    assert resolved.outcomes == ["duplicate", "resolved"]
    assert [i.status for i in alertgate_client.incidents()] == ["resolved", "resolved"]


def test_severity_label_and_default(alertgate_client: DeliveryClient) -> None:
    payload = doc("firing.json")
    payload["alerts"][0]["labels"]["severity"] = "critical"
    answer = alertgate_client.post(
        SLUG, json.dumps(payload), headers=JSON, settings={"default_severity": "warning"}
    )
    severities = {i.fingerprint: i.severity for i in answer.incidents}
    assert severities == {
        "grafana:c6eadffa33fcdf37": "critical",
        "grafana:bc97ff14869b13e3": "warning",
    }


def test_a_resolution_older_than_the_firing_never_reopens(alertgate_client: DeliveryClient) -> None:
    alertgate_client.post(SLUG, sample("resolved.json"), headers=JSON)
    late = alertgate_client.post(SLUG, sample("firing.json"), headers=JSON)
    assert late.status_code == 200
    assert all(i.status == "resolved" for i in alertgate_client.incidents())


@pytest.mark.parametrize(
    ("authorization", "status"),
    [("Bearer s3cret", 200), ("Bearer wrong", 403), (None, 403)],
)
def test_authorization_header(
    alertgate_client: DeliveryClient, authorization: str | None, status: int
) -> None:
    settings = {"authorization_sha256": hashlib.sha256(b"s3cret").hexdigest()}
    headers = dict(JSON, **({"authorization": authorization} if authorization else {}))
    answer = alertgate_client.post(SLUG, sample("firing.json"), headers=headers, settings=settings)
    assert answer.status_code == status, answer.body
    if status == 403:
        assert answer.json["code"] == "bad_authorization"


def test_nanosecond_times_and_too_many_alerts(alertgate_client: DeliveryClient) -> None:
    payload = doc("firing.json")
    payload["alerts"][0]["startsAt"] = "2026-03-01T12:00:00.123456789Z"
    assert alertgate_client.post(SLUG, json.dumps(payload), headers=JSON).status_code == 200
    payload["alerts"] = [{"status": "firing", "fingerprint": "a1"}] * 1001
    answer = alertgate_client.post(SLUG, json.dumps(payload), headers=JSON)
    assert (answer.status_code, answer.json["code"]) == (400, "too_many_alerts")

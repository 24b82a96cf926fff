"""Tests of the grafana_alerting plugin, with alertgate.testing."""

from __future__ import annotations

from pathlib import Path

from alertgate.testing import DeliveryClient, build_plugins, check_integration_type

SLUG = "grafana_alerting"
SAMPLES = Path(__file__).parent / "samples"
JSON = {"content-type": "application/json"}


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def test_installed_through_its_entry_point() -> None:
    registered = build_plugins().types[SLUG]
    assert registered.plugin.distribution == "alertgate-grafana-alerting"


def test_keeps_the_plugin_contract() -> None:
    check_integration_type(
        SLUG,
        trigger=[sample("firing.json")],
        resolve=[sample("resolved.json")],
        garbage=[b"", b"{", b"[]", b'{"name": "x", "status": "maybe"}'],
        headers=JSON,
    )


def test_firing_opens_repeat_joins_resolved_resolves(alertgate_client: DeliveryClient) -> None:
    opened = alertgate_client.post(SLUG, sample("firing.json"), headers=JSON)
    assert opened.status_code == 200, opened.body
    assert opened.outcomes == ["opened"]
    [incident] = opened.incidents
    assert incident.title == "disk full on db-1"
    assert incident.severity == "critical"

    redelivered = alertgate_client.post(SLUG, sample("firing.json"), headers=JSON)
    assert redelivered.outcomes == ["duplicate"]

    resolved = alertgate_client.post(SLUG, sample("resolved.json"), headers=JSON)
    assert resolved.outcomes == ["resolved"]
    assert [i.status for i in alertgate_client.incidents()] == ["resolved"]


def test_garbage_is_refused_with_a_code(alertgate_client: DeliveryClient) -> None:
    answer = alertgate_client.post(SLUG, b"not json", headers=JSON)
    assert answer.status_code == 400
    assert answer.json["code"] == "invalid_json"

"""The incident console's API through real HTTP: cursor paging and filters, an incident's
timeline newest first, notes, bulk acknowledge/resolve and the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from alertgate.engine import Delivery
from alertgate.models import Action, Alert, Severity
from tests.server_helpers import Live, live_server, new_token

T0 = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def live(tmp_path: Path, db_url: str) -> Iterator[Live]:
    with live_server(tmp_path, db_url) as server:
        yield server


def _setup(live: Live) -> tuple[httpx.Client, int, int]:
    api = live.client(new_token(live.engine))
    service_id = api.post("/api/v1/services", json={"name": "web"}).json()["id"]
    integration_id = api.post(
        "/api/v1/integrations", json={"service_id": service_id, "type": "aws_cloudtrail"}
    ).json()["id"]
    return api, service_id, integration_id


def _alert(n: int, fingerprint: str, title: str, *, severity: Severity = Severity.ERROR) -> Alert:
    return Alert(
        title=title,
        source_time=T0 + timedelta(seconds=n),
        dedupe_key=f"m{n}",
        kind="test",
        severity=severity,
        fingerprint=fingerprint,
        action=Action.TRIGGER,
    )


def _ingest(live: Live, service_id: int, integration_id: int, alerts: list[Alert]) -> list[int]:
    engine = live.app.state.alertgate.engine
    ids = []
    for alert in alerts:  # one per delivery: each its own received time, in order
        report = engine.ingest(Delivery(integration_id, service_id, [alert]))
        ids.append(report.outcomes[0].incident_id)
    return ids


def _walk(api: httpx.Client, path: str, **params: object) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    for _ in range(100):
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        r = api.get(path, params=query)
        assert r.status_code == 200, r.text
        page = r.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("cursor never ended")


def test_incidents_page_by_cursor_without_gaps_or_repeats(live: Live) -> None:
    api, service_id, integration_id = _setup(live)
    alerts = [_alert(n, f"fp{n}", f"Disk {n}" if n % 2 else f"CPU {n}") for n in range(7)]
    opened = _ingest(live, service_id, integration_id, alerts)
    walked = _walk(api, "/api/v1/incidents", limit=3)
    assert [i["id"] for i in walked] == sorted(opened, reverse=True)
    first = api.get("/api/v1/incidents", params={"limit": 3}).json()
    assert first["total"] == 7 and len(first["items"]) == 3 and first["next_cursor"]
    last = api.get("/api/v1/incidents", params={"limit": 7}).json()
    assert last["next_cursor"] is None
    oldest = _walk(api, "/api/v1/incidents", limit=2, sort="oldest")
    assert [i["id"] for i in oldest] == sorted(opened)
    assert [i["id"] for i in _walk(api, "/api/v1/incidents", limit=4, sort="opened")] == sorted(
        opened, reverse=True
    )
    disk = _walk(api, "/api/v1/incidents", limit=2, q="disk")
    assert {i["title"] for i in disk} == {"Disk 1", "Disk 3", "Disk 5"}
    assert _walk(api, "/api/v1/incidents", q="%") == []  # LIKE wildcards are plain text
    by_integration = api.get("/api/v1/incidents", params={"integration_id": integration_id})
    assert by_integration.json()["total"] == 7
    assert api.get("/api/v1/incidents", params={"severity": "critical"}).json()["total"] == 0


def test_a_bad_cursor_is_422(live: Live) -> None:
    api, service_id, integration_id = _setup(live)
    _ingest(live, service_id, integration_id, [_alert(n, f"f{n}", "x") for n in range(3)])
    cursor = api.get("/api/v1/incidents", params={"limit": 1}).json()["next_cursor"]
    bad = ["nope", "x" * 300, cursor[:-2]]
    for value in bad:
        r = api.get("/api/v1/incidents", params={"cursor": value})
        assert r.status_code == 422, value
    # A cursor made for one sort is refused by another.
    assert (
        api.get("/api/v1/incidents", params={"cursor": cursor, "sort": "opened"}).status_code == 422
    )
    assert api.get("/api/v1/incidents", params={"cursor": cursor, "offset": 1}).status_code == 422
    incident = api.get("/api/v1/incidents").json()["items"][0]["id"]
    r = api.get(f"/api/v1/incidents/{incident}/alerts", params={"cursor": cursor})
    assert r.status_code == 422 and r.json()["code"] == "invalid_cursor"


def test_incident_alerts_newest_first_in_pages(live: Live) -> None:
    api, service_id, integration_id = _setup(live)
    ids = _ingest(live, service_id, integration_id, [_alert(n, "same", "CPU") for n in range(5)])
    incident = ids[0]
    assert set(ids) == {incident}
    first = api.get(f"/api/v1/incidents/{incident}/alerts", params={"limit": 2}).json()
    assert first["total"] == 5 and first["next_cursor"]
    walked = _walk(api, f"/api/v1/incidents/{incident}/alerts", limit=2)
    received = [datetime.fromisoformat(str(a["received_at"])) for a in walked]
    assert len(walked) == 5 and received == sorted(received, reverse=True)
    assert [a["id"] for a in walked] == sorted((int(str(a["id"])) for a in walked), reverse=True)
    assert api.get("/api/v1/incidents/999999/alerts").status_code == 404


def test_notes_bulk_changes_and_the_audit_log(live: Live) -> None:
    api, service_id, integration_id = _setup(live)
    a, b, c = _ingest(live, service_id, integration_id, [_alert(n, f"k{n}", "x") for n in range(3)])
    r = api.post(f"/api/v1/incidents/{a}/notes", json={"text": "  looking into it "})
    assert r.status_code == 201, r.text
    note = r.json()
    assert note["text"] == "looking into it" and note["actor"].startswith("token:")
    assert api.get(f"/api/v1/incidents/{a}/notes").json()["items"] == [note]
    assert api.post(f"/api/v1/incidents/{a}/notes", json={"text": "   "}).status_code == 422
    assert api.post(f"/api/v1/incidents/{a}/notes", json={"text": 1}).status_code == 422

    # An unknown id refuses the whole request: nothing changes.
    r = api.post("/api/v1/incidents/acknowledge", json={"ids": [a, 999999]})
    assert r.status_code == 404
    assert api.get(f"/api/v1/incidents/{a}").json()["status"] == "triggered"
    r = api.post("/api/v1/incidents/acknowledge", json={"ids": [a, b]})
    assert r.status_code == 200, r.text
    assert r.json()["items"] == [
        {"id": a, "status": "acknowledged", "changed": True},
        {"id": b, "status": "acknowledged", "changed": True},
    ]
    r = api.post("/api/v1/incidents/resolve", json={"ids": [b, c, c]})
    assert [(i["id"], i["changed"]) for i in r.json()["items"]] == [(b, True), (c, True)]
    again = api.post("/api/v1/incidents/resolve", json={"ids": [c]}).json()["items"]
    assert again == [{"id": c, "status": "resolved", "changed": False}]
    assert api.post("/api/v1/incidents/resolve", json={"ids": []}).status_code == 422
    assert (
        api.post("/api/v1/incidents/resolve", json={"ids": list(range(1, 102))}).status_code == 422
    )

    rotated = api.post(f"/api/v1/integrations/{integration_id}/rotate-key").json()
    api.post(f"/api/v1/integrations/{integration_id}/disable")
    api.patch(f"/api/v1/integrations/{integration_id}", json={"name": "trail", "enabled": True})
    events = _walk(api, "/api/v1/audit", limit=2)
    actions = [(e["action"], e["object_id"]) for e in events]
    assert actions == [
        ("integration.enable", integration_id),
        ("integration.update", integration_id),
        ("integration.disable", integration_id),
        ("integration.rotate_key", integration_id),
        ("incident.resolve", c),
        ("incident.resolve", b),
        ("incident.acknowledge", b),
        ("incident.acknowledge", a),
        ("incident.note", a),
        ("integration.create", integration_id),
    ]
    assert all(e["actor"].startswith("token:") and e["at"] for e in events)
    text = str(events)
    assert rotated["key"] not in text and "looking into it" not in text

    # Another organization sees none of it, and cannot touch these incidents.
    other = live.client(new_token(live.engine, "other"))
    assert other.get("/api/v1/audit").json()["items"] == []
    assert other.post("/api/v1/incidents/resolve", json={"ids": [a]}).status_code == 404
    assert other.post(f"/api/v1/incidents/{a}/notes", json={"text": "x"}).status_code == 404


def test_settings_changes_are_audited_by_field_name_only(live: Live) -> None:
    api, _service_id, integration_id = _setup(live)
    current = api.get(f"/api/v1/integrations/{integration_id}").json()["settings"]
    r = api.patch(f"/api/v1/integrations/{integration_id}", json={"settings": current})
    assert r.status_code == 200
    assert [e["action"] for e in api.get("/api/v1/audit").json()["items"]] == [
        "integration.create"
    ]  # nothing changed, nothing recorded
    secret = "ab" * 32
    changed = {**current, "shared_secret_sha256": secret, "accept_direct_posts": True}
    r = api.patch(f"/api/v1/integrations/{integration_id}", json={"settings": changed})
    assert r.status_code == 200, r.text
    event = api.get("/api/v1/audit").json()["items"][0]
    assert event["action"] == "integration.update"
    assert event["detail"] == {"settings_changed": ["accept_direct_posts", "shared_secret_sha256"]}
    assert secret not in str(api.get("/api/v1/audit").json())
    r = api.patch(f"/api/v1/integrations/{integration_id}", json={"rate_limit_per_minute": 90})
    assert r.status_code == 200, r.text
    event = api.get("/api/v1/audit").json()["items"][0]
    assert (event["action"], event["detail"]) == (
        "integration.update",
        {"rate_limit_per_minute": 90},
    )


def test_deleting_an_integration_keeps_its_incidents(live: Live) -> None:
    api, service_id, integration_id = _setup(live)
    (incident,) = set(_ingest(live, service_id, integration_id, [_alert(1, "x", "CPU")]))
    other = live.client(new_token(live.engine, "other"))
    assert other.delete(f"/api/v1/integrations/{integration_id}").status_code == 404
    r = api.delete(f"/api/v1/integrations/{integration_id}")
    assert r.status_code == 204, r.text
    assert api.get(f"/api/v1/integrations/{integration_id}").status_code == 404
    kept = api.get(f"/api/v1/incidents/{incident}").json()
    assert kept["status"] == "triggered" and kept["integration_id"] is None
    assert api.get(f"/api/v1/incidents/{incident}/alerts").json()["total"] == 0
    event = api.get("/api/v1/audit").json()["items"][0]
    assert event["action"] == "integration.delete" and event["object_id"] == integration_id
    assert event["detail"] == {
        "name": "AWS CloudTrail",
        "type": "aws_cloudtrail",
        "alerts_deleted": 1,
    }


def test_services_are_renamed_and_deleted_with_what_they_own(live: Live) -> None:
    api, service_id, integration_id = _setup(live)
    (incident,) = set(_ingest(live, service_id, integration_id, [_alert(1, "x", "CPU")]))
    other_id = api.post("/api/v1/services", json={"name": "db"}).json()["id"]
    taken = api.patch(f"/api/v1/services/{service_id}", json={"name": "db"})
    assert taken.status_code == 409
    r = api.patch(f"/api/v1/services/{service_id}", json={"description": "the shop"})
    assert r.status_code == 200 and r.json()["name"] == "web"
    assert r.json()["description"] == "the shop"
    stranger = live.client(new_token(live.engine, "other"))
    assert stranger.patch(f"/api/v1/services/{service_id}", json={"name": "x"}).status_code == 404
    assert stranger.delete(f"/api/v1/services/{service_id}").status_code == 404
    hook = {"type": "webhook", "name": "h", "settings": {"url": "http://127.0.0.1:9/"}}
    channel_id = api.post("/api/v1/channels", json=hook).json()["id"]
    rule = {"channel_id": channel_id, "service_id": service_id}
    assert api.post("/api/v1/rules", json=rule).status_code == 201
    default_rule = api.post("/api/v1/rules", json={"channel_id": channel_id}).json()["id"]
    assert api.delete(f"/api/v1/services/{service_id}").status_code == 204
    # Its own rule went with it; the organization's default stays.
    assert [r["id"] for r in api.get("/api/v1/rules").json()["items"]] == [default_rule]
    assert api.get(f"/api/v1/services/{service_id}").status_code == 404
    assert api.get(f"/api/v1/integrations/{integration_id}").status_code == 404
    assert api.get(f"/api/v1/incidents/{incident}").status_code == 404
    assert api.get(f"/api/v1/services/{other_id}").status_code == 200
    actions = [
        (e["action"], e["object_id"], e["detail"])
        for e in api.get("/api/v1/audit").json()["items"]
        if e["action"].startswith("service.")
    ]
    assert actions[0] == (
        "service.delete",
        service_id,
        {"name": "web", "integrations_deleted": 1, "incidents_deleted": 1, "alerts_deleted": 1},
    )
    assert actions[1] == ("service.update", service_id, {"description_changed": True})
    paths = live.client().get("/api/v1/openapi.json").json()["paths"]
    assert {"patch", "delete"} <= set(paths["/api/v1/services/{service_id}"])

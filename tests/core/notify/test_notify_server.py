"""Notifications through the running server: the admin API, the dispatcher started by the
app, /metrics, an incident's notifications, and the signed acknowledge link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from alertgate.engine import Delivery
from alertgate.models import Action, Alert, Severity
from tests.notify_support import SECRET_KEY, http_receiver, wait_until
from tests.server_helpers import live_server, new_token


def _trigger(live, service_id: int, integration_id: int, fingerprint: str) -> int:
    alert = Alert(
        title=f"{fingerprint} down",
        source_time=datetime.now(UTC),
        severity=Severity.CRITICAL,
        fingerprint=fingerprint,
        action=Action.TRIGGER,
    )
    engine = live.app.state.alertgate.engine
    report = engine.ingest(Delivery(integration_id, service_id, [alert]))
    incident_id = report.outcomes[0].incident_id
    assert incident_id is not None
    return incident_id


def test_channels_rules_silences_api_and_delivery(tmp_path: Path) -> None:
    with (
        http_receiver() as receiver,
        live_server(tmp_path, secret_key=SECRET_KEY, notify_poll_seconds=0.1) as live,
    ):
        api = live.client(new_token(live.engine))
        service_id = api.post("/api/v1/services", json={"name": "web"}).json()["id"]
        integration_id = api.post(
            "/api/v1/integrations", json={"service_id": service_id, "type": "aws_cloudwatch"}
        ).json()["id"]
        r = api.post(
            "/api/v1/channels",
            json={
                "type": "webhook",
                "name": "ops",
                "settings": {"url": receiver.url, "secret": "hunter2-secret"},
            },
        )
        assert r.status_code == 201, r.text
        channel = r.json()
        assert channel["settings"] == {"url": receiver.url}
        assert channel["secrets"] == {"secret": "********"}
        assert "hunter2" not in r.text
        assert "hunter2" not in api.get("/api/v1/channels").text
        assert api.post("/api/v1/channels", json={"type": "nope", "name": "x"}).status_code == 422
        bad = api.post(
            "/api/v1/channels",
            json={"type": "webhook", "name": "x", "settings": {"url": "file:///etc/passwd"}},
        )
        assert (bad.status_code, bad.json()["code"]) == (422, "invalid_settings")

        test = api.post(f"/api/v1/channels/{channel['id']}/test").json()
        assert test["ok"] is True
        assert receiver.wait_for(1)[0].json()["event"] == "test"

        rule = api.post(
            "/api/v1/rules", json={"service_id": service_id, "channel_id": channel["id"]}
        )
        assert rule.status_code == 201, rule.text
        assert rule.json()["events"] == ["opened", "acknowledged", "resolved"]
        assert [x["id"] for x in api.get("/api/v1/rules").json()["items"]] == [rule.json()["id"]]

        ends = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
        silence = api.post(
            "/api/v1/silences",
            json={"service_id": service_id, "matchers": {"fingerprint": "quiet-*"},
                  "ends_at": ends, "comment": "deploy"},
        )  # fmt: skip
        assert silence.status_code == 201, silence.text
        listed = api.get("/api/v1/silences").json()["items"]
        assert [(s["active"], s["created_by"][:6]) for s in listed] == [(True, "token:")]

        loud = _trigger(live, service_id, integration_id, "db")
        quiet = _trigger(live, service_id, integration_id, "quiet-cache")
        opened = receiver.wait_for(2)[1].json()
        assert opened["incident"]["id"] == loud
        wait_until(
            lambda: (
                api.get(f"/api/v1/incidents/{loud}/notifications").json()["items"][0]["status"]
                == "delivered"
            )
        )
        held = api.get(f"/api/v1/incidents/{quiet}/notifications").json()["items"]
        assert [(n["status"], n["silence_id"]) for n in held] == [
            ("suppressed", silence.json()["id"])
        ]
        metrics = httpx.get(f"{live.base_url}/metrics").text
        assert 'alertgate_notifications_total{channel_type="webhook",result="delivered"}' in metrics

        # The acknowledge link: a GET only shows a form; the POST acknowledges.
        link = urlsplit(opened["ack_url"])
        local = f"{live.base_url}{link.path}?{link.query}"
        assert httpx.get(local).status_code == 200
        assert api.get(f"/api/v1/incidents/{loud}").json()["status"] == "triggered"
        forged = local.replace("sig=", "sig=0")
        assert httpx.post(forged, data={"who": "mallory"}).status_code == 403
        assert httpx.post(local, data={"who": "carol"}).status_code == 200
        incident = api.get(f"/api/v1/incidents/{loud}").json()
        assert (incident["status"], incident["acknowledged_by"]) == (
            "acknowledged",
            "ack-link:carol",
        )
        acked = receiver.wait_for(3)[2].json()
        assert (acked["event"], acked["actor"]) == ("acknowledged", "ack-link:carol")
        audited = api.get("/api/v1/audit").json()["items"][0]
        assert (audited["action"], audited["actor"], audited["object_id"]) == (
            "incident.acknowledge",
            "ack-link:carol",
            loud,
        )


def test_channels_with_secrets_need_a_secret_key(tmp_path: Path) -> None:
    with live_server(tmp_path) as live:
        api = live.client(new_token(live.engine))
        r = api.post(
            "/api/v1/channels",
            json={"type": "slack", "name": "chat",
                  "settings": {"webhook_url": "https://hooks.slack.test/x"}},
        )  # fmt: skip
        assert (r.status_code, r.json()["code"]) == (422, "secret_key_missing")
        assert "ALERTGATE_SECRET_KEY" in r.json()["message"]

"""The web UI's notifications page and the incident page's notifications, on a real server."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alertgate.engine import Delivery, IngestEngine
from alertgate.models import Action, Alert, Severity
from alertgate.notify.outbox import Outbox
from alertgate.notify.routing import RoutingCache
from alertgate.registry import load_plugins
from alertgate.server import admin
from tests.core.web.browser.support import running_ui
from tests.core.web.test_web import csrf_of, make_service, sign_in
from tests.notify_support import http_receiver, wait_until


def test_channels_rules_silences_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with running_ui(tmp_path, monkeypatch) as server, http_receiver() as receiver:
        service_id, _key = make_service(server, "acme", "shop")
        client = sign_in(server, server.new_token("acme"))
        page = client.get("/notifications")
        assert page.status_code == 200 and "No rules: nobody is notified." in page.text
        csrf = csrf_of(page)
        bad = client.post(
            "/notifications/channels",
            data={"csrf_token": csrf, "type": "webhook", "name": "x", "settings": "[]"},
        )
        assert bad.status_code == 422 and "JSON object" in bad.text
        made = client.post(
            "/notifications/channels",
            data={"csrf_token": csrf, "type": "webhook", "name": "hook",
                  "settings": json.dumps({"url": receiver.url})},
        )  # fmt: skip
        assert made.status_code == 303, made.text
        page = client.get("/notifications")
        channel_id = re.search(r"/notifications/channels/(\d+)/test", page.text)
        assert channel_id is not None
        tested = client.post(
            f"/notifications/channels/{channel_id.group(1)}/test", data={"csrf_token": csrf}
        )
        assert tested.status_code == 303
        assert "Test notification sent through hook." in client.get("/notifications").text
        assert receiver.wait_for(1)[0].json()["event"] == "test"

        form = {
            "csrf_token": csrf,
            "service_id": str(service_id),
            "channel_id": channel_id.group(1),
            "event_opened": "1",
            "min_severity": "info",
        }
        assert client.post("/notifications/rules", data=form).status_code == 303
        ends = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
        silence = client.post(
            "/notifications/silences",
            data={"csrf_token": csrf, "service_id": str(service_id),
                  "matchers": "title=Quiet*", "ends_at": ends, "comment": "db upgrade"},
        )  # fmt: skip
        assert silence.status_code == 303, silence.text
        page = client.get("/notifications").text
        assert "expires soon" in page and "db upgrade" in page
        assert "opened" in page and "hook" in page

        with server.sessions()() as s:
            integration_id = admin.list_integrations(s, None, service_id)[0].id
        engine = IngestEngine(server.engine, load_plugins(), outbox=Outbox(RoutingCache(0)))
        try:
            ids = []
            for title in ("Loud", "Quiet hours"):
                alert = Alert(
                    title=title,
                    source_time=datetime.now(UTC),
                    severity=Severity.ERROR,
                    fingerprint=title,
                    action=Action.TRIGGER,
                )
                report = engine.ingest(Delivery(integration_id, service_id, [alert]))
                ids.append(report.outcomes[0].incident_id)
        finally:
            engine.close()
        wait_until(lambda: "delivered" in client.get(f"/incidents/{ids[0]}").text)
        quiet = client.get(f"/incidents/{ids[1]}").text
        assert "held back by" in quiet and "silence #" in quiet

"""The Slack channel: readable incoming-webhook messages, delivered to a local receiver."""

from __future__ import annotations

from sqlalchemy import Engine

from alertgate.registry import load_plugins
from tests.db_fixtures import SeedFn
from tests.notify_support import http_receiver, run_story


def test_slack_messages_say_status_severity_service_title_change_and_link(
    db_engine: Engine, seed: SeedFn
) -> None:
    ids = seed()
    with http_receiver() as receiver:
        settings = {"webhook_url": f"{receiver.url}/services/T000/B000/XXXX"}
        incident_id = run_story(
            db_engine, load_plugins(), ids.service_id, ids.integration_id, "slack", settings
        )
        got = receiver.received
    assert [r.path for r in got] == ["/services/T000/B000/XXXX"] * 3
    opened, acked, resolved = (r.json() for r in got)
    assert opened["text"].startswith(":red_circle: [TRIGGERED] critical payments: Disk full")
    flat = str(opened["blocks"])
    for expected in ("*Status*\\ntriggered", "*Severity*\\ncritical", "*Service*\\npayments"):
        assert expected in flat
    assert f"http://alertgate.test/incidents/{incident_id}|Open incident" in flat
    assert "|Acknowledge>" in flat
    assert "Opened by alert: Disk full on db-1" in opened["text"]
    assert "Acknowledged by bob" in acked["text"]
    assert resolved["text"].startswith(":white_check_mark: [RESOLVED]")
    assert "|Acknowledge>" not in str(resolved["blocks"])


def test_slack_webhook_url_is_a_secret() -> None:
    assert load_plugins().get_channel_type("slack").secret_fields == {"webhook_url"}

"""Changes to channels, rules and silences, and test sends, are in the audit log whichever
way they are made (API, CLI, web UI), by their actor, and no audit event holds a channel's
settings values: neither its secret nor its URL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from alertgate.cli import main
from alertgate.settings import get_settings
from tests.core.web.browser.support import running_ui
from tests.core.web.test_web import csrf_of, make_service, sign_in
from tests.notify_support import SECRET_KEY, Receiver, http_receiver
from tests.server_helpers import live_server, new_token

SECRET = "hunter2-very-secret"
ENDS = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)

EXPECTED = [
    "channel.create",
    "channel.create",
    "channel.test",
    "rule.create",
    "rule.delete",
    "silence.create",
    "silence.expire",
    "channel.delete",
]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as got:
        yield got


def _settings(receiver: Receiver) -> dict[str, str]:
    # A path that would only be in the log if a settings value were recorded.
    return {"url": f"{receiver.url}/private-hook-path", "secret": SECRET}


def _check(events: list[dict[str, Any]], actor_prefix: str, receiver: Receiver) -> None:
    """Oldest first: the expected actions by the expected actor, secrets absent."""
    assert [e["action"] for e in events] == EXPECTED
    assert all(e["actor"].startswith(actor_prefix) for e in events), events
    assert all(e["object_id"] for e in events)
    text = json.dumps(events)
    assert SECRET not in text and "private-hook-path" not in text and receiver.url not in text
    created = events[0]
    assert created["object_type"] == "channel"
    assert created["detail"]["settings"] == ["secret", "url"]
    test = events[2]
    assert (test["detail"]["ok"], test["object_id"]) == (True, created["object_id"])
    rule = events[3]["detail"]
    assert rule["events"] == ["opened", "renotified"]
    assert rule["escalation_channel_id"] == events[1]["object_id"]
    assert events[5]["detail"]["matchers"] == {"title": "Deploy*"}
    assert events[7]["object_id"] == created["object_id"]


def test_api_changes_are_audited_without_secrets(
    tmp_path: Path, db_url: str, receiver: Receiver
) -> None:
    with live_server(tmp_path, db_url, secret_key=SECRET_KEY) as live:
        api = live.client(new_token(live.engine))
        service_id = api.post("/api/v1/services", json={"name": "web"}).json()["id"]
        made = api.post(
            "/api/v1/channels",
            json={"type": "webhook", "name": "ops", "settings": _settings(receiver)},
        ).json()
        pager = api.post(
            "/api/v1/channels",
            json={"type": "webhook", "name": "pager", "settings": {"url": receiver.url}},
        ).json()
        assert api.post(f"/api/v1/channels/{made['id']}/test").json()["ok"] is True
        rule = api.post(
            "/api/v1/rules",
            json={"service_id": service_id, "channel_id": made["id"],
                  "events": ["opened", "renotified"],
                  "escalation": {"channel_id": pager["id"], "after_minutes": 5,
                                 "every_minutes": 5}},
        )  # fmt: skip
        assert rule.status_code == 201, rule.text
        refused = api.post(
            "/api/v1/rules",
            json={"service_id": service_id, "channel_id": made["id"], "events": ["renotified"]},
        )
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_events")
        assert api.delete(f"/api/v1/rules/{rule.json()['id']}").status_code == 204
        assert api.delete(f"/api/v1/rules/{rule.json()['id']}").status_code == 404
        silence = api.post(
            "/api/v1/silences",
            json={"service_id": service_id, "matchers": {"title": "Deploy*"},
                  "ends_at": ENDS.isoformat()},
        ).json()  # fmt: skip
        api.post(f"/api/v1/silences/{silence['id']}/expire").raise_for_status()
        assert api.delete(f"/api/v1/channels/{made['id']}").status_code == 204
        events = api.get("/api/v1/audit").json()["items"][::-1]
    _check([e for e in events if e["action"] != "service.create"], "token:", receiver)


def test_cli_changes_are_audited_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    monkeypatch.setenv("ALERTGATE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("ALERTGATE_SECRET_KEY", SECRET_KEY)
    get_settings.cache_clear()

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, list(args))
        assert result.exit_code == 0, (args, result.output)
        return result.output

    try:
        run("services", "create", "api")
        settings = json.dumps(_settings(receiver))
        run("channels", "create", "--type", "webhook", "--name", "ops", "--settings", settings)
        pager = json.dumps({"url": receiver.url})
        run("channels", "create", "--type", "webhook", "--name", "pager", "--settings", pager)
        run("channels", "test", "ops")
        rule = json.loads(
            run("rules", "create", "--service", "api", "--channel", "ops", "--events",
                "opened,renotified", "--escalate-to", "pager", "--json")
        )  # fmt: skip
        run("rules", "delete", str(rule["id"]))
        silence = json.loads(
            run("silences", "create", "--service", "api", "--match", "title=Deploy*",
                "--ends", ENDS.isoformat(), "--json")
        )  # fmt: skip
        run("silences", "expire", str(silence["id"]))
        run("channels", "delete", "ops")
        events = json.loads(run("audit", "list", "--json"))
    finally:
        get_settings.cache_clear()
    items = events["items"] if isinstance(events, dict) else events
    _check([e for e in items[::-1] if e["action"] != "service.create"], "cli", receiver)


def test_web_changes_are_audited_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    monkeypatch.setenv("ALERTGATE_SECRET_KEY", SECRET_KEY)
    with running_ui(tmp_path, monkeypatch) as server:
        service_id, _key = make_service(server, "acme", "shop")
        client = sign_in(server, server.new_token("acme"))
        csrf = csrf_of(client.get("/notifications"))

        def post(path: str, **data: str) -> None:
            r = client.post(path, data={"csrf_token": csrf, **data})
            assert r.status_code == 303, r.text

        post("/notifications/channels", type="webhook", name="ops",
             settings=json.dumps(_settings(receiver)))  # fmt: skip
        post("/notifications/channels", type="webhook", name="pager",
             settings=json.dumps({"url": receiver.url}))  # fmt: skip
        page = client.get("/notifications").text
        assert SECRET not in page
        ops, pager = re.findall(r"/notifications/channels/(\d+)/test", page)
        post(f"/notifications/channels/{ops}/test")
        post("/notifications/rules", service_id=str(service_id), channel_id=ops,
             event_opened="1", event_renotified="1", min_severity="info",
             escalation_channel_id=pager, escalate_after="5")  # fmt: skip
        rule_id = re.search(r"/notifications/rules/(\d+)/delete", client.get("/notifications").text)
        assert rule_id is not None
        post(f"/notifications/rules/{rule_id.group(1)}/delete")
        post("/notifications/silences", service_id=str(service_id), matchers="title=Deploy*",
             ends_at=ENDS.strftime("%Y-%m-%dT%H:%M"))  # fmt: skip
        silence_id = re.search(
            r"/notifications/silences/(\d+)/expire", client.get("/notifications").text
        )
        assert silence_id is not None
        post(f"/notifications/silences/{silence_id.group(1)}/expire")
        post(f"/notifications/channels/{ops}/delete")
        audit_page = client.get("/audit").text
        assert SECRET not in audit_page and "private-hook-path" not in audit_page
        api = httpx.Client(
            base_url=server.base_url,
            headers={"authorization": f"Bearer {server.new_token('acme')}"},
            timeout=30,
        )
        events = api.get("/api/v1/audit").json()["items"][::-1]
    _check(
        [e for e in events if e["action"] not in ("service.create", "integration.create")],
        "",
        receiver,
    )
    assert {e["actor"] for e in events if e["action"].startswith(("channel", "rule"))} == {
        events[-1]["actor"]
    }

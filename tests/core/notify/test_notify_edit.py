"""Changing channels and rules through the API (SQLite and PostgreSQL): a rotated webhook
secret signs the very next delivery, an omitted secret keeps its stored value, a moved URL
is where the next one goes, a disabled channel is sent nothing, rules are checked as on
create, and the audit log names the changed fields, never their values."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
from pathlib import Path

import httpx
import pytest

from tests.core.notify.test_notify_cli import as_json, run
from tests.core.notify.test_notify_cli import database as database  # the fixture
from tests.core.notify.test_notify_server import _trigger
from tests.core.web.browser.support import running_ui
from tests.core.web.test_web import csrf_of, make_service, sign_in
from tests.notify_support import SECRET_KEY, Received, http_receiver
from tests.server_helpers import live_server, new_token

OLD, NEW = "old-secret-4711", "new-secret-0815"


def _signed_with(secret: str, got: Received) -> bool:
    digest = hmac.new(secret.encode(), got.body, hashlib.sha256).hexdigest()
    return got.headers["x-alertgate-signature"] == f"sha256={digest}"


def test_edit_a_channel_and_a_rule(tmp_path: Path, db_url: str) -> None:
    with (
        http_receiver() as receiver,
        live_server(tmp_path, db_url, secret_key=SECRET_KEY, notify_poll_seconds=0.1) as live,
    ):
        api = live.client(new_token(live.engine))
        service_id = api.post("/api/v1/services", json={"name": "web"}).json()["id"]
        integration_id = api.post(
            "/api/v1/integrations", json={"service_id": service_id, "type": "aws_cloudwatch"}
        ).json()["id"]
        hook = {"type": "webhook", "settings": {"url": receiver.url, "secret": OLD}}
        channel = api.post("/api/v1/channels", json={**hook, "name": "ops"}).json()
        other = api.post("/api/v1/channels", json={**hook, "name": "pager"}).json()
        path = f"/api/v1/channels/{channel['id']}"
        rule = api.post(
            "/api/v1/rules", json={"service_id": service_id, "channel_id": channel["id"]}
        ).json()
        rule_path = f"/api/v1/rules/{rule['id']}"

        _trigger(live, service_id, integration_id, "one")
        assert _signed_with(OLD, receiver.wait_for(1)[0])

        # Rotate the secret: the next delivery is signed with the new one.
        r = api.patch(path, json={"settings": {"secret": NEW}})
        assert r.status_code == 200, r.text
        assert (r.json()["settings"], r.json()["secrets"]) == (
            {"url": receiver.url},
            {"secret": "********"},
        )
        assert NEW not in r.text
        _trigger(live, service_id, integration_id, "two")
        second = receiver.wait_for(2)[1]
        assert second.json()["incident"]["title"] == "two down"
        assert _signed_with(NEW, second) and not _signed_with(OLD, second)

        # Move the URL, secret omitted: it keeps the new secret.
        r = api.patch(path, json={"settings": {"url": f"{receiver.url}/moved"}, "name": "ops2"})
        assert r.status_code == 200, r.text
        assert (r.json()["name"], r.json()["secrets"]) == ("ops2", {"secret": "********"})
        _trigger(live, service_id, integration_id, "three")
        third = receiver.wait_for(3)[2]
        assert third.path == "/moved" and _signed_with(NEW, third)

        # Refusals: as strict as create.
        for body, status, code in (
            ({"name": "pager"}, 409, "channel_exists"),
            ({"settings": {"url": "file:///etc/passwd"}}, 422, "invalid_settings"),
            ({"settings": {"secret": None}}, 200, None),
            ({"bogus": 1}, 422, "invalid_request"),
            ({"rate_limit_per_minute": -1}, 422, "invalid_request"),
            ({"enabled": "maybe"}, 422, "invalid_request"),
            ({"enabled": 0}, 422, "invalid_request"),  # strict: not coerced
            ({"rate_limit_per_minute": "5"}, 422, "invalid_request"),
        ):
            r = api.patch(path, json=body)
            assert r.status_code == status, (body, r.text)
            assert code is None or r.json()["code"] == code, (body, r.text)
        assert api.get(path).json()["secrets"] == {}
        assert api.patch("/api/v1/channels/999999", json={}).status_code == 404

        # Disabled: the next incident is routed nowhere.
        r = api.patch(path, json={"enabled": False, "rate_limit_per_minute": 5})
        assert (r.json()["enabled"], r.json()["rate_limit_per_minute"]) == (False, 5)
        quiet = _trigger(live, service_id, integration_id, "four")
        assert api.get(f"/api/v1/incidents/{quiet}/notifications").json()["items"] == []
        api.patch(path, json={"enabled": True}).raise_for_status()

        # Rules: the same checks as create.
        for body, status, code in (
            ({"events": ["renotified"]}, 422, "invalid_events"),
            ({"events": ["sometimes"]}, 422, "invalid_request"),
            ({"channel_id": 999999}, 404, "channel_not_found"),
            ({"channel_id": str(other["id"])}, 422, "invalid_request"),
            ({"min_severity": "loud"}, 422, "invalid_request"),
            ({"service_id": service_id}, 422, "invalid_request"),
        ):
            r = api.patch(rule_path, json=body)
            assert r.status_code == status, (body, r.text)
            assert r.json()["code"] == code, (body, r.text)
        escalation = {"channel_id": other["id"], "after_minutes": 5, "every_minutes": 10}
        r = api.patch(
            rule_path,
            json={"events": ["opened", "renotified"], "min_severity": "critical",
                  "channel_id": other["id"], "escalation": escalation},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        changed = r.json()
        assert (changed["events"], changed["min_severity"], changed["channel"]) == (
            ["opened", "renotified"],
            "critical",
            "pager",
        )
        assert changed["escalation"]["every_minutes"] == 10
        # Removing the escalation while renotified is chosen is refused; with it, not.
        r = api.patch(rule_path, json={"escalation": None})
        assert (r.status_code, r.json()["code"]) == (422, "invalid_events")
        r = api.patch(rule_path, json={"escalation": None, "events": ["opened"]})
        assert (r.status_code, r.json()["escalation"]) == (200, None)
        assert api.patch(rule_path, json={"min_severity": "info"}).json()["channel"] == "pager"
        assert api.patch("/api/v1/rules/999999", json={}).status_code == 404

        events = api.get("/api/v1/audit").json()["items"][::-1]
    updates = [(e["action"], e["detail"]["changed"]) for e in events if "update" in e["action"]]
    assert updates == [
        ("channel.update", ["settings.secret"]),
        ("channel.update", ["name", "settings.url"]),
        ("channel.update", ["settings.secret"]),
        ("channel.update", ["enabled", "rate_limit_per_minute"]),
        ("channel.update", ["enabled"]),
        ("rule.update", ["channel_id", "events", "min_severity", "escalation_channel_id",
                         "escalate_after_minutes", "escalate_every_minutes",
                         "escalate_times"]),
        ("rule.update", ["events", "escalation_channel_id", "escalate_after_minutes",
                         "escalate_every_minutes", "escalate_times"]),
        ("rule.update", ["min_severity"]),
    ]  # fmt: skip
    text = json.dumps(events)
    assert OLD not in text and NEW not in text and "/moved" not in text


@pytest.mark.usefixtures("database")
def test_cli_updates_channels_and_rules() -> None:
    run("services", "create", "api")
    with http_receiver() as receiver:
        settings = json.dumps({"url": receiver.url, "secret": OLD})
        run("channels", "create", "--type", "webhook", "--name", "hook", "--settings", settings)
        run("channels", "create", "--type", "webhook", "--name", "pager", "--settings", settings)
        out = run("channels", "update", "hook", "--settings", json.dumps({"secret": NEW})).output
        assert "updated: settings.secret" in out and NEW not in out
        run("channels", "test", "hook")
        assert _signed_with(NEW, receiver.wait_for(1)[0])
        changed = as_json(
            "channels", "update", "hook", "--name", "ops", "--disable",
            "--rate-limit-per-minute", "3", "--settings", json.dumps({"url": receiver.url + "/x"}),
        )  # fmt: skip
        assert (changed["name"], changed["enabled"], changed["rate_limit_per_minute"]) == (
            "ops",
            False,
            3,
        )
        assert changed["secrets"] == {"secret": "********"}
        run("channels", "test", "ops")
        moved = receiver.wait_for(2)[1]
        assert moved.path == "/x" and _signed_with(NEW, moved)  # the secret was kept
    assert "unchanged" in run("channels", "update", "ops", "--disable").output
    bad = run("channels", "update", "ops", "--settings", "[1]", code=2).output
    assert "JSON object" in bad
    assert "already exists" in run("channels", "update", "ops", "--name", "pager", code=1).output

    rule = as_json("rules", "create", "--service", "api", "--channel", "ops")
    rid = str(rule["id"])
    refused = run("rules", "update", rid, "--events", "opened,renotified", code=1).output
    assert "renotified needs an escalation" in refused
    assert "--escalate-to" in run("rules", "update", rid, "--escalate-after", "5", code=2).output
    updated = as_json(
        "rules", "update", rid, "--events", "opened,renotified", "--min-severity", "error",
        "--channel", "pager", "--escalate-to", "ops", "--escalate-after", "5",
    )  # fmt: skip
    assert (updated["events"], updated["min_severity"], updated["channel"]) == (
        ["opened", "renotified"],
        "error",
        "pager",
    )
    assert updated["escalation"] == {
        "channel_id": changed["id"], "channel": "ops", "after_minutes": 5,
        "every_minutes": 5, "times": 1,
    }  # fmt: skip
    kept = as_json("rules", "update", rid, "--escalate-times", "3")["escalation"]
    assert (kept["after_minutes"], kept["times"]) == (5, 3)
    run("rules", "update", rid, "--no-escalation", code=1)  # renotified still chosen
    gone = as_json("rules", "update", rid, "--no-escalation", "--events", "opened")
    assert gone["escalation"] is None
    audit = json.dumps(as_json("audit", "list"))
    assert OLD not in audit and NEW not in audit and "/x" not in audit
    assert audit.count('"channel.update"') == 2 and audit.count('"rule.update"') == 3


def test_web_edit_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The edit forms through real HTTP: a blank secret is kept, a typed one replaces it
    (the test notification's signature says which), errors come back next to the field."""
    monkeypatch.setenv("ALERTGATE_SECRET_KEY", SECRET_KEY)
    with http_receiver() as receiver, running_ui(tmp_path, monkeypatch) as server:
        make_service(server, "acme", "shop")
        client = sign_in(server, server.new_token("acme"))
        csrf = csrf_of(client.get("/notifications"))

        def post(path: str, status: int = 303, **data: str) -> str:
            r = client.post(path, data={"csrf_token": csrf, **data})
            assert r.status_code == status, r.text
            return r.text

        settings = json.dumps({"url": receiver.url, "secret": OLD})
        post("/notifications/channels", type="webhook", name="ops", settings=settings)
        post("/notifications/channels", type="webhook", name="pager", settings=settings)
        ops, pager = re.findall(
            r"/notifications/channels/(\d+)/test", client.get("/notifications").text
        )
        edit = f"/notifications/channels/{ops}/edit"
        form = client.get(edit).text
        assert "leave blank to keep" in form and OLD not in form
        assert html.unescape(form).count('"secret": ""') == 1

        moved = json.dumps({"url": f"{receiver.url}/moved", "secret": ""})
        post(edit, name="ops", settings=moved, rate_limit_per_minute="7", enabled="1")
        post(f"/notifications/channels/{ops}/test")
        got = receiver.wait_for(1)[0]
        assert got.path == "/moved" and _signed_with(OLD, got)  # blank: kept

        rotated = json.dumps({"url": f"{receiver.url}/moved", "secret": NEW})
        post(edit, name="ops", settings=rotated, rate_limit_per_minute="7", enabled="1")
        post(f"/notifications/channels/{ops}/test")
        assert _signed_with(NEW, receiver.wait_for(2)[1])

        refused = post(edit, 422, name="pager", settings=rotated, rate_limit_per_minute="7")
        assert 'id="edit-channel-name-error"' in refused and "already exists" in refused
        assert 'id="edit-channel-name"' in refused and 'aria-invalid="true"' in refused
        assert NEW not in refused  # a typed secret is not echoed either

        post("/notifications/rules", channel_id=ops, event_opened="1", min_severity="info")
        rule = re.search(r"/notifications/rules/(\d+)/edit", client.get("/notifications").text)
        assert rule is not None
        rule_edit = rule.group(0)
        assert 'id="edit-rule-channel"' in client.get(rule_edit).text
        refused = post(rule_edit, 422, channel_id=ops, event_renotified="1", min_severity="info")
        assert 'id="edit-rule-events-error"' in refused and "renotified needs" in refused
        post(rule_edit, channel_id=pager, event_resolved="1", min_severity="error",
             escalation_channel_id=ops, escalate_after="5")  # fmt: skip
        page = client.get("/notifications").text
        assert "Rule " in page and "updated." in page
        api = httpx.Client(
            base_url=server.base_url,
            headers={"authorization": f"Bearer {server.new_token('acme')}"},
            timeout=30,
        )
        rules = api.get("/api/v1/rules").json()["items"]
        assert [(r["channel"], r["events"], r["min_severity"]) for r in rules] == [
            ("pager", ["resolved"], "error")
        ]
        assert rules[0]["escalation"]["after_minutes"] == 5
        assert client.get("/notifications/channels/999999/edit").status_code == 404

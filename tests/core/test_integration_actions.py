"""Integration actions a plugin offers (``alertgate_integration_actions``) and runs
(``alertgate_run_integration_action``): the core shows and runs them without knowing what
they do, through a third-party plugin installed with a real entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alertgate.models import ActionResult, IntegrationAction
from alertgate.registry import load_plugins
from tests.server_helpers import live_server, new_token

TICKER = """
from pydantic import BaseModel

from alertgate import ActionResult, IntegrationAction, hookimpl
from alertgate.models import IntegrationType

BUMP = IntegrationAction("bump", "Bump the counter", "Adds one, up to two.")


class TickerSettings(BaseModel):
    step: int = 1


@hookimpl
def alertgate_integration_types():
    docs = "https://example.invalid"
    return [IntegrationType("ticker", "Ticker", "counts", docs, TickerSettings)]


@hookimpl
def alertgate_integration_actions(integration_type, state):
    if integration_type == "ticker" and state.get("count", 0) < 2:
        return [BUMP, IntegrationAction("Not A Name", "refused: not a valid name")]
    return None


@hookimpl
def alertgate_run_integration_action(integration_type, action, settings, state, context):
    if integration_type != "ticker" or action != "bump":
        return None
    count = state.get("count", 0) + settings.step
    return ActionResult(True, f"now {count}", {"count": count})
"""

BROKEN = """
from alertgate import hookimpl


@hookimpl(tryfirst=True)
def alertgate_integration_actions(integration_type, state):
    raise RuntimeError("boom")


@hookimpl(tryfirst=True)
def alertgate_run_integration_action(integration_type, action, settings, state, context):
    if action == "explode":
        raise RuntimeError("boom")
    return None
"""


def test_hook_alertgate_integration_actions(install_plugin: Any) -> None:
    install_plugin("ticker", TICKER)
    install_plugin("broken_actions", BROKEN)
    plugins = load_plugins(disabled=())
    # The broken plugin is logged and left out; an invalid name is refused.
    assert plugins.integration_actions("ticker", {}) == [
        IntegrationAction("bump", "Bump the counter", "Adds one, up to two.")
    ]
    assert plugins.integration_actions("ticker", {"count": 2}) == []
    assert plugins.integration_actions("aws_sns", {"sns": {"status": "confirmed"}}) == []


def test_hook_alertgate_run_integration_action(install_plugin: Any, tmp_path: Path) -> None:
    install_plugin("ticker", TICKER)
    install_plugin("broken_actions", BROKEN)
    plugins = load_plugins(disabled=())
    settings = plugins.validate_settings("ticker", {"step": 1})
    failed = plugins.run_integration_action("ticker", "explode", settings, {})
    assert failed == ActionResult(False, "The plugin 'broken_actions' failed to run it.")
    assert not plugins.run_integration_action("ticker", "nothing", settings, {}).ok
    with live_server(tmp_path) as live:
        api = live.client(new_token(live.engine))
        service = api.post("/api/v1/services", json={"name": "t"}).json()
        created = api.post(
            "/api/v1/integrations", json={"service_id": service["id"], "type": "ticker"}
        ).json()
        where = f"/api/v1/integrations/{created['id']}"
        assert [a["name"] for a in api.get(where).json()["actions"]] == ["bump"]
        for expected in (1, 2):
            r = api.post(f"{where}/actions", json={"action": "bump"})
            assert r.status_code == 200, r.text
            assert r.json()["ok"] and r.json()["message"] == f"now {expected}"
            assert r.json()["integration"]["state"] == {"count": expected}
        assert r.json()["integration"]["actions"] == []  # no longer offered at 2
        refused = api.post(f"{where}/actions", json={"action": "bump"})
        assert refused.status_code == 409 and refused.json()["code"] == "action_unavailable"
        assert api.post(f"{where}/actions", json={}).status_code == 422
        stranger = live.client(new_token(live.engine, "other"))
        assert stranger.post(f"{where}/actions", json={"action": "bump"}).status_code == 404
        events = api.get("/api/v1/audit").json()["items"]
        assert [(e["action"], e["detail"]) for e in events[:2]] == [
            ("integration.action", {"action": "bump", "ok": True}),
            ("integration.action", {"action": "bump", "ok": True}),
        ]
        api.close()
        stranger.close()

"""A broken plugin, a failing hook and an unknown type behind a live server: every other
integration keeps working, and each failure answers with a code that names the culprit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from alertgate.server import admin
from alertgate.storage.database import make_sessionmaker
from alertgate.storage.schema import Integration
from tests.conftest import InstallPlugin
from tests.core.test_plugins import WEBHOOK_PLUGIN
from tests.server_helpers import Live, live_server, new_token

FINGERPRINT_CRASHER = """
from alertgate import hookimpl

@hookimpl
def alertgate_fingerprint(integration_type, alert):
    if alert.title == "crash":
        raise RuntimeError("the secret payload says " + alert.attributes["state"])
"""


def _integration(live: Live, slug: str = "tiny_webhook") -> tuple[int, str]:
    with make_sessionmaker(live.engine).begin() as session:
        org = admin.ensure_organization(session)
        service = admin.create_service(session, org, f"svc-{slug}-{id(object())}")
        keyed = admin.create_integration(session, live.app.state.alertgate.plugins, service, slug)
        return keyed.integration.id, f"{live.base_url}/integrations/{keyed.key}"


@pytest.fixture
def live(tmp_path: Path, install_plugin: InstallPlugin) -> Iterator[Live]:
    install_plugin("tiny_webhook", WEBHOOK_PLUGIN)
    install_plugin("broken_plugin", "import does_not_exist_anywhere\n", distribution="broken-dist")
    install_plugin("zz_crasher", FINGERPRINT_CRASHER)
    with live_server(tmp_path) as server:
        yield server


def test_healthy_integrations_serve_beside_a_broken_plugin(live: Live) -> None:
    _, url = _integration(live)
    r = httpx.post(url, json={"name": "db", "state": "alarm"})
    assert r.status_code == 200, r.text
    assert r.json()["outcomes"][0]["outcome"] == "opened"
    ready = httpx.get(f"{live.base_url}/readyz")
    assert ready.status_code == 200  # degraded but serving: stays in the load balancer
    broken = ready.json()["plugins"]["broken"]
    assert [(b["name"], b["distribution"]) for b in broken] == [("broken_plugin", "broken-dist")]
    assert "does_not_exist_anywhere" in broken[0]["error"]
    assert "degraded" in ready.json()["message"]


def test_an_integration_without_its_plugin_is_503_plugin_unavailable(live: Live) -> None:
    iid, url = _integration(live)
    with live.engine.begin() as conn:  # as if created by a process that had its plugin
        conn.execute(update(Integration).where(Integration.id == iid).values(type="gone_type"))
    for _ in range(2):  # the cached answer too
        r = httpx.post(url, json={"name": "db", "state": "alarm"})
        assert r.status_code == 503
        assert r.headers["retry-after"].isdigit()
        assert r.json()["code"] == "plugin_unavailable"
        message = r.json()["message"]
        assert "'gone_type'" in message and "broken_plugin" in message and "restart" in message


def test_a_failing_hook_is_a_500_naming_plugin_and_hook(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    iid, url = _integration(live)
    r = httpx.post(url, json={"name": "crash", "state": "hush-hush"})
    assert r.status_code == 500
    assert r.json() == {
        "code": "plugin_error",
        "message": "alertgate_fingerprint of plugin 'zz_crasher' failed (RuntimeError); "
        "retry later",
    }
    lines = [json.loads(m) for m in caplog.messages if m.startswith('{"event":"plugin_error"')]
    assert len(lines) == 1
    assert lines[0]["plugin"] == "zz_crasher" and lines[0]["hook"] == "alertgate_fingerprint"
    assert (lines[0]["integration_id"], lines[0]["type"]) == (iid, "tiny_webhook")
    # The next delivery is fine: nothing was half-stored, nothing is stuck.
    assert httpx.post(url, json={"name": "db", "state": "alarm"}).status_code == 200


def test_unknown_settings_keys_are_refused_by_the_api(live: Live) -> None:
    with live.client(new_token(live.engine)) as client:
        service = client.post("/api/v1/services", json={"name": "api-svc"}).json()
        body = {"service_id": service["id"], "type": "tiny_webhook", "settings": {"prefx": "x"}}
        r = client.post("/api/v1/integrations", json=body)
        assert r.status_code == 422
        assert r.json()["code"] == "invalid_settings"
        assert "prefx" in r.json()["message"]
        body["settings"] = {"prefix": "x"}
        assert client.post("/api/v1/integrations", json=body).status_code == 201
        listed = {p["plugin"]: p for p in client.get("/api/v1/plugins").json()["items"]}
        assert listed["broken_plugin"]["status"] == "broken"
        assert "does_not_exist_anywhere" in listed["broken_plugin"]["error"]
        assert (listed["tiny_webhook"]["status"], listed["tiny_webhook"]["error"]) == ("ok", None)

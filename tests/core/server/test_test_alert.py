"""Send a test alert: API, CLI and web button, through the real parse hooks, marked as a test."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from click.testing import CliRunner

from alertgate.cli import main
from alertgate.plugins.aws_cloudtrail.demo import TOPIC_ARN as TOPIC
from alertgate.plugins.aws_cloudtrail.demo import alarm_message
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.registry import load_plugins
from alertgate.settings import get_settings
from tests.server_helpers import Live, live_server, new_token
from tests.sns_support import fake_sns

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Live, httpx.Client]]:
    monkeypatch.delenv("ALERTGATE_SNS_CERT_DIR", raising=False)
    (tmp_path / "no-certs").mkdir()
    # "AWS" here knows no certificate, so nothing ever leaves the machine.
    with fake_sns(tmp_path / "no-certs") as sns:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", sns.url)
        with live_server(tmp_path) as server:
            token = new_token(server.engine)
            with server.client(token) as api:
                yield server, api


def _create(api: httpx.Client, type_slug: str) -> dict[str, Any]:
    services = api.get("/api/v1/services").json()["items"]
    service = services[0] if services else api.post("/api/v1/services", json={"name": "sec"}).json()
    return dict(
        api.post(
            "/api/v1/integrations", json={"service_id": service["id"], "type": type_slug}
        ).json()
    )


def test_api_test_alert_makes_a_marked_incident_and_trusts_nothing_after(
    live: tuple[Live, httpx.Client], tmp_path: Path
) -> None:
    server, api = live
    created = _create(api, "aws_cloudtrail")
    response = api.post(f"/api/v1/integrations/{created['id']}/test")
    assert response.status_code == 200, response.text
    [row] = response.json()["alerts"]
    assert row["outcome"] == "opened"
    incident = row["incident"]
    assert incident["status"] == "triggered"
    assert incident["title"].startswith("[test] ALARM")
    assert incident["fingerprint"].startswith("test:")
    detail = api.get(f"/api/v1/incidents/{incident['id']}").json()
    assert detail["alerts"][0]["attributes"]["test"] is True
    # A test changes no integration state (no subscription recorded).
    assert api.get(f"/api/v1/integrations/{created['id']}").json()["state"] == {}
    # The throwaway certificate was trusted for the test only: a delivery signed the same
    # way to the real Integration URL is refused.
    signer = SnsSigner(tmp_path / "forger", "alertgate-test")
    doc = signer.notification(alarm_message("ALARM", "OK", datetime.now(UTC)), topic_arn=TOPIC)
    url = server.base_url + urlsplit(created["integration_url"]).path
    forged = httpx.post(url, content=signer.body(doc), headers=signer.headers(doc), timeout=30)
    assert forged.status_code == 403, forged.text


def test_types_without_a_test_alert_answer_422(live: tuple[Live, httpx.Client]) -> None:
    _, api = live
    created = _create(api, "aws_guardduty")
    response = api.post(f"/api/v1/integrations/{created['id']}/test")
    assert response.status_code == 422
    assert response.json()["code"] == "no_test_alert"
    assert api.post("/api/v1/integrations/999/test").status_code == 404


def test_cli_prints_the_incident(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERTGATE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("ALERTGATE_SNS_CERT_DIR", raising=False)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(main, ["services", "create", "sec"]).exit_code == 0
        args = ["integrations", "create", "--service", "sec", "--type", "aws_cloudwatch"]
        assert runner.invoke(main, args).exit_code == 0
        text = runner.invoke(main, ["integrations", "test", "1"])
        assert text.exit_code == 0, text.output
        assert re.search(r"opened -> incident 1 '\[test\] ALARM.*' \(triggered\)", text.output)
        again = runner.invoke(main, ["integrations", "test", "1", "--json"])
        data = json.loads(again.output)
        assert data["alerts"][0]["outcome"] == "attached"
        assert data["alerts"][0]["incident"]["id"] == 1
    finally:
        get_settings.cache_clear()


def test_web_button_shows_the_incident(live: tuple[Live, httpx.Client]) -> None:
    server, api = live
    created = _create(api, "aws_cloudtrail")
    path = f"/services/{created['service_id']}/integrations/{created['id']}"
    token = api.headers["Authorization"].removeprefix("Bearer ")
    with httpx.Client(base_url=server.base_url, timeout=30) as web:
        csrf = CSRF.search(web.get("/login").text)
        assert csrf
        web.post("/login", data={"token": token, "csrf_token": csrf.group(1)})
        page = web.get(path).text
        assert f'action="{path}/test"' in page and "Send a test alert" in page
        form = CSRF.search(page)
        assert form
        sent = web.post(f"{path}/test", data={"csrf_token": form.group(1)})
        assert sent.status_code == 303
        [incident] = api.get("/api/v1/incidents").json()["items"]
        assert sent.headers["location"] == f"/incidents/{incident['id']}"
        assert "[test] ALARM" in web.get(sent.headers["location"]).text


def test_hook_alertgate_test_delivery(tmp_path: Path) -> None:
    plugins = load_plugins()
    settings = plugins.validate_settings("aws_cloudtrail", {})
    pinned = "arn:aws:sns:eu-west-1:210987654321:pinned"
    state = {"sns": {"pinned_topic_arn": pinned}}
    now = datetime.now(UTC)
    sample = plugins.test_delivery("aws_cloudtrail", settings, state, tmp_path, now)
    assert sample is not None
    assert json.loads(sample.body)["TopicArn"] == pinned
    assert sample.headers["x-amz-sns-message-type"] == "Notification"
    assert "ALERTGATE_SNS_CERT_DIR" in sample.environ
    guardduty = plugins.validate_settings("aws_guardduty", {})
    assert plugins.test_delivery("aws_guardduty", guardduty, {}, tmp_path, now) is None

"""The user story end to end through real HTTP: set up with the CLI, subscribe (signed
SubscriptionConfirmation, confirmed against a local SNS endpoint), ALARM, repeat, SNS
redelivery, OK, and the incident auto-resolved, seen from the CLI, the API and /metrics."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from alertgate.cli import main
from alertgate.plugins.aws_cloudtrail.demo import TOPIC_ARN, alarm_message
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.settings import get_settings
from alertgate.storage.database import make_sessionmaker
from alertgate.storage.schema import Alert
from tests.server_helpers import Live, live_server, new_token
from tests.sns_support import FakeSns, fake_sns


@pytest.fixture
def cert_dir(tmp_path: Path) -> Path:
    return tmp_path / "certs"


@pytest.fixture
def sns(cert_dir: Path) -> Iterator[FakeSns]:
    with fake_sns(cert_dir) as fake:
        yield fake


@pytest.fixture
def live(
    tmp_path: Path, cert_dir: Path, sns: FakeSns, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> Iterator[Live]:
    """A live server on SQLite and (with ALERTGATE_TEST_POSTGRES_URL) PostgreSQL, whose
    SNS confirmations go to the fake SNS (certificates are trusted from ``cert_dir``)."""
    monkeypatch.setenv("ALERTGATE_SNS_CERT_DIR", str(cert_dir))
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", sns.url)
    with live_server(tmp_path, db_url) as server:
        monkeypatch.setenv("ALERTGATE_DATABASE_URL", server.settings.database_url)
        monkeypatch.setenv("ALERTGATE_PUBLIC_URL", server.base_url)
        get_settings.cache_clear()
        yield server
    get_settings.cache_clear()


def cli(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if "--json" in args else result.output


def post(url: str, doc: dict[str, Any]) -> httpx.Response:
    return httpx.post(url, content=SnsSigner.body(doc), headers=SnsSigner.headers(doc), timeout=30)


def metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            found = ",".join(sorted(re.findall(r'(\w+="[^"]*")', series)))
            if found == want:
                return float(value)
    return 0.0


@pytest.mark.parametrize("slug", ["aws_cloudtrail", "aws_cloudwatch"])
def test_guide_flow_from_service_creation_to_auto_resolved_incident(
    live: Live, cert_dir: Path, sns: FakeSns, slug: str
) -> None:
    before = httpx.get(f"{live.base_url}/metrics").text
    cli("services", "create", "payments")
    created = cli("integrations", "create", "--service", "payments", "--type", slug, "--json")
    url = created["integration_url"]
    assert url.startswith(f"{live.base_url}/integrations/agk_")

    signer = SnsSigner(cert_dir, name=f"e2e-{slug}-{uuid.uuid4().hex}")
    now = datetime.now(UTC)
    r = post(url, signer.subscription_confirmation(topic_arn=TOPIC_ARN))
    assert r.status_code == 200, r.text
    assert len(sns.confirm_calls()) == 1
    state = cli("integrations", "show", str(created["id"]), "--json")["state"]
    assert state["sns"]["status"] == "confirmed"

    t0 = now - timedelta(minutes=10)

    def note(state: str, previous: str, at: datetime) -> dict[str, Any]:
        return signer.notification(
            alarm_message(state, previous, at), topic_arn=TOPIC_ARN, subject=state
        )

    alarm = note("ALARM", "OK", t0)
    outcomes = []
    for doc in (
        alarm,
        note("ALARM", "ALARM", t0 + timedelta(minutes=1)),
        alarm,  # SNS redelivers the same MessageId
        note("OK", "ALARM", t0 + timedelta(minutes=3)),
    ):
        r = post(url, doc)
        assert r.status_code == 200, r.text
        outcomes.append(r.json()["outcomes"][0])
    assert [o["outcome"] for o in outcomes] == ["opened", "attached", "duplicate", "resolved"]
    incident_id = outcomes[0]["incident_id"]
    assert {o["incident_id"] for o in outcomes} == {incident_id}

    listed = cli("incidents", "list", "--service", "payments", "--json")
    assert [(i["id"], i["status"], i["alert_count"]) for i in listed] == [
        (incident_id, "resolved", 2)
    ]
    shown = cli("incidents", "show", str(incident_id), "--json")
    assert shown["resolved_by"] == "alert"
    assert [a["outcome"] for a in shown["alerts"]] == ["opened", "attached", "resolved"]
    assert "Incident" in cli("incidents", "show", str(incident_id))

    # Stored once: three alerts for four notifications.
    with make_sessionmaker(live.engine)() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 3

    api = live.client(new_token(live.engine))
    detail = api.get(f"/api/v1/incidents/{incident_id}").json()
    assert detail["status"] == "resolved" and len(detail["alerts"]) == 3
    page = api.get("/api/v1/incidents", params={"service": "payments", "status": "open"}).json()
    assert page["total"] == 0

    after = httpx.get(f"{live.base_url}/metrics").text
    for outcome in ("opened", "attached", "duplicate", "resolved"):
        delta = metric(after, "alertgate_alerts_received_total", type=slug, outcome=outcome)
        delta -= metric(before, "alertgate_alerts_received_total", type=slug, outcome=outcome)
        assert delta == 1, outcome
    assert metric(after, "alertgate_incidents_opened_total") > metric(
        before, "alertgate_incidents_opened_total"
    )


def test_manual_acknowledge_and_resolve_via_api_and_cli(live: Live, cert_dir: Path) -> None:
    cli("services", "create", "web")
    created = cli(
        "integrations", "create", "--service", "web", "--type", "aws_cloudwatch", "--json"
    )
    signer = SnsSigner(cert_dir, name=f"manual-{uuid.uuid4().hex}")
    ids = []
    for n in range(2):
        message = alarm_message("ALARM", "OK", datetime.now(UTC)).replace(
            "CloudTrail-UnauthorizedAPICalls", f"alarm-{n}"
        )
        r = post(created["integration_url"], signer.notification(message, topic_arn=TOPIC_ARN))
        assert r.status_code == 200, r.text
        ids.append(r.json()["outcomes"][0]["incident_id"])
    assert ids[0] != ids[1]

    api = live.client(new_token(live.engine))
    r = api.post(f"/api/v1/incidents/{ids[0]}/acknowledge")
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    assert r.json()["acknowledged_by"].startswith("token:agt_")
    r = api.post(f"/api/v1/incidents/{ids[0]}/resolve")
    assert r.json()["status"] == "resolved"
    # Resolving again changes nothing and is not an error.
    assert api.post(f"/api/v1/incidents/{ids[0]}/resolve").json()["status"] == "resolved"

    assert "acknowledged" in cli("incidents", "ack", str(ids[1]))
    assert "resolved" in cli("incidents", "resolve", str(ids[1]))
    assert cli("incidents", "show", str(ids[1]), "--json")["resolved_by"] == "cli"
    assert cli("incidents", "list", "--status", "open", "--json") == []

    other = live.client(new_token(live.engine, "someone-else"))
    assert other.post(f"/api/v1/incidents/{ids[1]}/resolve").status_code == 404
    assert other.get("/api/v1/incidents").json()["total"] == 0

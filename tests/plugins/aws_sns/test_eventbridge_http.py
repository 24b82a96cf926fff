"""The three EventBridge-fed types over real HTTP (uvicorn): a signed SNS delivery of each
service's published event, and the same event posted by an EventBridge API destination
with its connection's API key header. The secret is checked in constant time against its
stored hash and never appears in a response or the server's log."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.plugins.aws_sns.testing import sns_headers
from alertgate.server import admin
from alertgate.storage.database import make_sessionmaker
from tests.eventbridge_support import event, fixture
from tests.server_helpers import Live, live_server, new_token

TOPIC = "arn:aws:sns:us-east-1:123456789012:alertgate-eventbridge"
SECRET = "eventbridge-connection-api-key-" + "x" * 16
HEADER = "x-eventbridge-key"

CASES = {
    "aws_guardduty": event(
        "aws.guardduty",
        fixture("guardduty/awssamples_guardduty_ec2_finding.json"),
        event_id="gd-http",
    ),
    "aws_securityhub": fixture("securityhub/asr_cis_1.4_imported_event.json"),
    "aws_health": fixture("health/awshealthtools_ec2_instance_store_degraded.json"),
}


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Live, SnsSigner]]:
    signer = SnsSigner(tmp_path / "certs", name=f"eb-http-{uuid.uuid4().hex}")
    monkeypatch.setenv("ALERTGATE_SNS_CERT_DIR", str(signer.directory))
    with live_server(tmp_path) as server:
        yield server, signer


def integration_url(live: Live, slug: str, settings: dict[str, Any] | None = None) -> str:
    with make_sessionmaker(live.engine).begin() as session:
        org = admin.ensure_organization(session)
        service = admin.create_service(session, org, f"svc-{uuid.uuid4().hex[:8]}")
        keyed = admin.create_integration(
            session, live.app.state.alertgate.plugins, service, slug, settings=settings
        )
    return f"{live.base_url}/integrations/{keyed.key}"


@pytest.mark.parametrize("slug", sorted(CASES))
def test_signed_sns_delivery_and_api_destination(
    live: tuple[Live, SnsSigner], slug: str, caplog: pytest.LogCaptureFixture
) -> None:
    server, signer = live
    message = json.dumps(CASES[slug])
    doc = signer.notification(message, topic_arn=TOPIC)
    sns_url = integration_url(server, slug)
    r = httpx.post(sns_url, content=SnsSigner.body(doc), headers=sns_headers(doc), timeout=30)
    assert r.status_code == 200, r.text
    [outcome] = r.json()["outcomes"]
    assert outcome["outcome"] == "opened"
    api = server.client(new_token(server.engine))
    incident = api.get(f"/api/v1/incidents/{outcome['incident_id']}").json()
    assert incident["fingerprint"].startswith(f"{slug}:")

    settings = {
        "accept_direct_posts": True,
        "shared_secret_sha256": hashlib.sha256(SECRET.encode()).hexdigest(),
        "shared_secret_header": HEADER,
    }
    url = integration_url(server, slug, settings)
    headers = {"content-type": "application/json", HEADER: SECRET}
    r = httpx.post(url, content=message.encode(), headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    assert [o["outcome"] for o in r.json()["outcomes"]] == ["opened"]
    # EventBridge retries with the same event id: stored once.
    r = httpx.post(url, content=message.encode(), headers=headers, timeout=30)
    assert [o["outcome"] for o in r.json()["outcomes"]] == ["duplicate"]
    wrong = {**headers, HEADER: SECRET[:-1] + "y"}
    r = httpx.post(url, content=message.encode(), headers=wrong, timeout=30)
    assert (r.status_code, r.json()["code"]) == (403, "secret_invalid")
    assert SECRET[:-1] not in r.text
    r = httpx.post(url, content=message.encode(), timeout=30)
    assert (r.status_code, r.json()["code"]) == (403, "secret_required")
    # The stored settings show the hash only.
    listed = api.get("/api/v1/integrations").json()
    assert SECRET not in json.dumps(listed)
    assert SECRET not in caplog.text

"""The "No heartbeat for N hours" incident: the periodic check (``alertgate_periodic_check``)
opens it on the integration's service when heartbeats stop, a heartbeat resolves it, and an
integration without ``heartbeat_hours`` is left alone.

The checks run with injected times against a real alertgate (uvicorn, SQLite and
PostgreSQL); the heartbeat is a signed SNS notification posted to the Integration URL, and
the server's own loop is shown to run the check by itself.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import text

from alertgate.plugins.aws_cloudtrail.demo import TOPIC_ARN as TOPIC
from alertgate.plugins.aws_sns.health import (
    HEARTBEAT_MESSAGE,
    LAST_HEARTBEAT,
    MISSING_SINCE,
    WATCH_SINCE,
    heartbeat_check,
)
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.server.periodic import JOB, check_if_free, run_periodic_checks
from alertgate.storage.locks import job_lock
from tests.server_helpers import Live, live_server, new_token

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


# -- the decision, alone ------------------------------------------------------------------


def test_check_waits_opens_once_and_resolves() -> None:
    assert heartbeat_check(1, None, {}, NOW) is None
    first = heartbeat_check(1, 2, {}, NOW)
    assert first is not None and not first.alerts
    assert first.state_updates == {WATCH_SINCE: NOW.isoformat()}
    state: dict[str, Any] = dict(first.state_updates)
    assert heartbeat_check(1, 2, state, NOW + timedelta(hours=1)) is None
    opened = heartbeat_check(1, 2, state, NOW + timedelta(hours=2))
    assert opened is not None
    [alert] = opened.alerts
    assert alert.title == "No heartbeat for 2 hours" and alert.action.value == "trigger"
    assert alert.fingerprint == "sns:heartbeat:1"
    assert "none ever arrived" in alert.summary
    state.update(opened.state_updates)
    # Open already: later checks add nothing.
    assert heartbeat_check(1, 2, state, NOW + timedelta(hours=5)) is None
    # A heartbeat recorded by the parse path: the next check resolves.
    state[LAST_HEARTBEAT] = (NOW + timedelta(hours=5)).isoformat()
    back = heartbeat_check(1, 2, state, NOW + timedelta(hours=5, minutes=1))
    assert back is not None and back.state_updates == {MISSING_SINCE: None}
    [resolve] = back.alerts
    assert resolve.action.value == "resolve" and resolve.fingerprint == alert.fingerprint
    # Turned off while open: resolved and forgotten.
    off = heartbeat_check(1, None, {**state, MISSING_SINCE: "x"}, NOW)
    assert off is not None and off.alerts[0].action.value == "resolve"
    assert heartbeat_check(1, None, {WATCH_SINCE: "x"}, NOW).state_updates == {WATCH_SINCE: None}


def test_turning_it_on_never_pages_for_heartbeats_that_stopped_before() -> None:
    state: dict[str, Any] = {LAST_HEARTBEAT: (NOW - timedelta(days=3)).isoformat()}
    first = heartbeat_check(7, 2, state, NOW)
    assert first is not None and not first.alerts
    state.update(first.state_updates)
    assert heartbeat_check(7, 2, state, NOW + timedelta(hours=1)) is None
    opened = heartbeat_check(7, 2, state, NOW + timedelta(hours=2))
    assert opened is not None and opened.state_updates == {MISSING_SINCE: NOW.isoformat()}
    assert "none ever arrived" not in opened.alerts[0].summary


# -- a real alertgate ---------------------------------------------------------------------


def _create(api: httpx.Client, service_id: int, **settings: Any) -> dict[str, Any]:
    response = api.post(
        "/api/v1/integrations",
        json={"service_id": service_id, "type": "aws_cloudtrail", "settings": settings},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
def signer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SnsSigner:
    certs = tmp_path / "certs"
    certs.mkdir()
    made = SnsSigner(certs, name="heartbeat")
    # Read by the server's plugin context when the app is built.
    monkeypatch.setenv("ALERTGATE_SNS_CERT_DIR", str(certs))
    return made


@pytest.fixture
def live(db_url: str, tmp_path: Path, signer: SnsSigner) -> Iterator[tuple[Live, httpx.Client]]:
    with (
        live_server(
            tmp_path, db_url, key_cache_seconds=0, periodic_check_interval_seconds=0
        ) as server,
        server.client(new_token(server.engine)) as api,
    ):
        yield server, api


def _incidents(api: httpx.Client) -> list[dict[str, Any]]:
    return list(api.get("/api/v1/incidents").json()["items"])


def test_heartbeat_stops_opens_and_a_heartbeat_resolves(
    live: tuple[Live, httpx.Client], signer: SnsSigner
) -> None:
    server, api = live
    state = server.app.state.alertgate
    service = api.post("/api/v1/services", json={"name": "security"}).json()
    watched = _create(api, service["id"], heartbeat_hours=2)
    plain = _create(api, service["id"])
    real_now = datetime.now(UTC)

    def check(at: datetime) -> None:
        run_periodic_checks(state.engine, state.plugins, at)

    def integration(created: dict[str, Any]) -> dict[str, Any]:
        return dict(api.get(f"/api/v1/integrations/{created['id']}").json()["state"])

    # The first check starts the watch; nothing opens.
    check(real_now - timedelta(hours=4))
    assert integration(watched)[WATCH_SINCE] == (real_now - timedelta(hours=4)).isoformat()
    assert _incidents(api) == []

    # Three silent hours: two processes checking at the same moment open one incident.
    at = real_now - timedelta(hours=1)
    threads = [threading.Thread(target=check, args=(at,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [incident] = _incidents(api)
    assert incident["title"] == "No heartbeat for 2 hours"
    assert incident["status"] == "triggered" and incident["service_id"] == service["id"]
    detail = api.get(f"/api/v1/incidents/{incident['id']}").json()
    assert len(detail["alerts"]) == 1
    assert integration(watched)[MISSING_SINCE]
    items = api.get(f"/api/v1/integrations/{watched['id']}").json()["state_items"]
    assert {"label": "Heartbeat", "status": "error"}.items() <= next(
        i for i in items if i["label"] == "Heartbeat"
    ).items()
    check(real_now - timedelta(minutes=30))
    assert len(api.get(f"/api/v1/incidents/{incident['id']}").json()["alerts"]) == 1

    # The integration without the setting: no watch, no incident, no state.
    assert WATCH_SINCE not in integration(plain) and MISSING_SINCE not in integration(plain)

    # The heartbeat arrives through the Integration URL: the incident resolves.
    doc = signer.notification(HEARTBEAT_MESSAGE, topic_arn=TOPIC)
    url = server.base_url + urlsplit(watched["integration_url"]).path
    response = httpx.post(url, content=signer.body(doc), headers=signer.headers(doc))
    assert response.status_code == 200, response.text
    [after] = _incidents(api)
    assert after["status"] == "resolved"
    recorded = integration(watched)
    assert recorded[MISSING_SINCE] is None and recorded[LAST_HEARTBEAT]
    check(datetime.now(UTC))
    assert len(_incidents(api)) == 1


def test_the_server_runs_the_check_by_itself(tmp_path: Path, signer: SnsSigner) -> None:
    with (
        live_server(tmp_path, periodic_check_interval_seconds=0.2) as server,
        server.client(new_token(server.engine)) as api,
    ):
        service = api.post("/api/v1/services", json={"name": "security"}).json()
        watched = _create(api, service["id"], heartbeat_hours=1)
        silent = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
        with server.engine.begin() as conn:
            conn.execute(
                text("UPDATE integrations SET state = :s WHERE id = :i"),
                {
                    "s": json.dumps({LAST_HEARTBEAT: silent, WATCH_SINCE: silent}),
                    "i": watched["id"],
                },
            )
        deadline = time.monotonic() + 20
        while not _incidents(api) and time.monotonic() < deadline:
            time.sleep(0.1)
        [incident] = _incidents(api)
        assert incident["title"] == "No heartbeat for 1 hour"
        # While another process holds the job's lock, this one skips its round.
        state = server.app.state.alertgate
        for _ in range(100):  # the server's own loop may hold it for a moment
            with job_lock(server.engine, JOB) as mine:
                if mine:
                    assert check_if_free(state.engine, state.plugins) is None
                    break
            time.sleep(0.05)
        else:
            pytest.fail("the periodic-check lock was never free")

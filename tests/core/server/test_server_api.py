"""The admin API through real HTTP: CRUD, tenant isolation, errors, key rotation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from alertgate.engine import Delivery
from alertgate.models import Action, Alert, Severity
from alertgate.server import admin
from alertgate.server import api as api_routes
from alertgate.server.keys import hash_secret
from alertgate.storage.database import make_sessionmaker
from alertgate.storage.schema import ApiToken, Integration
from tests.server_helpers import Live, live_server, new_token


@pytest.fixture
def live(tmp_path: Path, db_url: str) -> Iterator[Live]:
    with live_server(tmp_path, db_url) as server:
        yield server


def test_requests_without_a_valid_token_are_refused(live: Live) -> None:
    for headers in ({}, {"Authorization": "Bearer agt_nope"}, {"Authorization": "Basic x"}):
        r = httpx.get(f"{live.base_url}/api/v1/services", headers=headers)
        assert r.status_code == 401
        assert r.json()["code"] == "unauthorized"
        assert r.headers["www-authenticate"] == "Bearer"


def _open_incident(live: Live, service_id: int, integration_id: int) -> int:
    alert = Alert(
        title="CPU high",
        source_time=datetime.now(UTC),
        dedupe_key="m1",
        kind="cloudwatch_alarm",
        severity=Severity.ERROR,
        fingerprint="cpu",
        action=Action.TRIGGER,
        payload={"MessageId": "m1"},
    )
    report = live.app.state.alertgate.engine.ingest(Delivery(integration_id, service_id, [alert]))
    incident_id = report.outcomes[0].incident_id
    assert incident_id is not None
    return incident_id


def test_every_route_refuses_a_request_without_a_valid_token(live: Live) -> None:
    """No route of the API answers without a token: each request is one that succeeds
    with the token (same path, real ids, valid body), and without it is a 401."""
    api = live.client(new_token(live.engine))
    service_id = api.post("/api/v1/services", json={"name": "guarded"}).json()["id"]
    integration_id = api.post(
        "/api/v1/integrations", json={"service_id": service_id, "type": "aws_cloudtrail"}
    ).json()["id"]
    ids = {
        "service_id": service_id,
        "integration_id": integration_id,
        "incident_id": _open_incident(live, service_id, integration_id),
    }
    hook = {"type": "webhook", "settings": {"url": "http://127.0.0.1:9/"}}
    ids["channel_id"] = api.post("/api/v1/channels", json={**hook, "name": "h1"}).json()["id"]
    ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    ids["silence_id"] = api.post("/api/v1/silences", json={"ends_at": ends}).json()["id"]
    ids["rule_id"] = api.post("/api/v1/rules", json={"channel_id": ids["channel_id"]}).json()["id"]
    bodies = {
        "createService": {"name": "another"},
        "createIntegration": {"service_id": service_id, "type": "aws_cloudtrail"},
        "updateIntegration": {"name": "renamed"},
        "updateService": {"description": "guarded too"},
        "runIntegrationAction": {"action": "retry_confirmation"},
        "createChannel": {**hook, "name": "h2"},
        "createRule": {"channel_id": ids["channel_id"]},
        "updateChannel": {"enabled": False},
        "updateRule": {"min_severity": "warning"},
        "createSilence": {"ends_at": ends},
        "addIncidentNote": {"text": "looking"},
        "acknowledgeIncidents": {"ids": [ids["incident_id"]]},
        "resolveIncidents": {"ids": [ids["incident_id"]]},
    }
    assert {r.operation_id for r in api_routes.ROUTES if r.body is not None} == set(bodies)
    refused = (
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer agt_nope"},
        {"Authorization": "Bearerx " + api.headers["authorization"][len("Bearer ") :]},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    )
    secret = api.headers["authorization"][len("Bearer ") :]
    # Authentication schemes are case-insensitive (RFC 9110 section 11.1).
    for scheme in ("bearer", "BEARER", "BeArEr"):
        listed = httpx.get(
            f"{live.base_url}/api/v1/services",
            headers={"Authorization": f"{scheme} {secret}"},
            timeout=30,
        )
        assert listed.status_code == 200, scheme
    # Deletions last, the service's very last (it takes the integration with it).
    last = sorted(api_routes.ROUTES, key=lambda r: (r.method == "DELETE", "/services/" in r.path))
    for route in last:
        path = re.sub(r"\{(\w+):int\}", lambda m: str(ids[m.group(1)]), route.path)
        body = bodies.get(route.operation_id)
        for headers in refused:
            r = httpx.request(
                route.method, f"{live.base_url}{path}", json=body, headers=headers, timeout=30
            )
            assert r.status_code == 401, (route.operation_id, headers, r.status_code, r.text)
            assert r.json()["code"] == "unauthorized"
            assert r.headers["www-authenticate"] == "Bearer"
        # The same request with the token succeeds: the 401 above was the token's doing.
        r = api.request(route.method, path, json=body)
        # No action is offered without a pending subscription: 409, past authentication.
        expected = 409 if route.operation_id == "runIntegrationAction" else route.status
        assert r.status_code == expected, (route.operation_id, r.status_code, r.text)


def test_unknown_or_repeated_query_parameters_are_refused(live: Live) -> None:
    api = live.client(new_token(live.engine))
    for query in ("bogus=1", "=1", "limit=1&Limit=2", "service%5B%5D=x"):
        r = api.get(f"/api/v1/incidents?{query}")
        assert r.status_code == 422, (query, r.text)
        assert r.json()["code"] == "invalid_request"
    for query in (
        "limit=1&limit=x",
        "limit=x&limit=1",
        "limit=2&limit=3",
        "status=open&status=open",
    ):
        for path in ("/api/v1/services", "/api/v1/integrations", "/api/v1/incidents"):
            if "status" in query and path != "/api/v1/incidents":
                continue
            r = api.get(f"{path}?{query}")
            assert r.status_code == 422, (path, query, r.text)
            assert r.json()["code"] == "invalid_request"
            assert "given more than once" in r.json()["message"]
    assert api.get("/api/v1/incidents?limit=2&offset=1&status=open").status_code == 200


def test_service_filter_by_name_or_numeric_id(live: Live) -> None:
    """``?service=`` is a name, or failing that an ASCII number: non-ASCII digits ('³',
    '٣') and numbers beyond any id are names that do not exist (404, never 500)."""
    api = live.client(new_token(live.engine))
    service_id = api.post("/api/v1/services", json={"name": "payments"}).json()["id"]
    numeric = api.post("/api/v1/services", json={"name": "³"}).json()["id"]
    for ref in ("payments", str(service_id)):
        r = api.get("/api/v1/incidents", params={"service": ref})
        assert r.status_code == 200, (ref, r.text)
    assert api.get("/api/v1/incidents", params={"service": "³"}).status_code == 200
    for ref in ("²", "٣", "999999", str(2**62 + 1), "9" * 30, "9" * 200):
        r = api.get("/api/v1/incidents", params={"service": ref})
        assert r.status_code == 404, (ref, r.text)
        assert r.json()["code"] == "service_not_found"
    with make_sessionmaker(live.engine)() as session:
        assert admin.find_service(session, "³").id == numeric
        assert admin.find_service(session, str(service_id)).id == service_id
        with pytest.raises(admin.NotFound):
            admin.find_service(session, "9" * 5000)


def test_service_and_integration_crud(live: Live) -> None:
    api = live.client(new_token(live.engine))
    r = api.post("/api/v1/services", json={"name": "payments", "description": "card flows"})
    assert r.status_code == 201, r.text
    service = r.json()
    assert service["name"] == "payments"
    assert api.post("/api/v1/services", json={"name": "payments"}).json()["code"] == (
        "service_exists"
    )
    r = api.post(
        "/api/v1/integrations",
        json={"service_id": service["id"], "type": "aws_cloudtrail", "name": "prod trail"},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    key = created["key"]
    assert created["integration_url"] == f"http://alertgate.test/integrations/{key}"
    assert key.startswith(created["key_prefix"])
    assert len(key) > 40

    shown = api.get(f"/api/v1/integrations/{created['id']}").json()
    assert "key" not in shown and "integration_url" not in shown
    assert shown["name"] == "prod trail"
    listed = api.get("/api/v1/integrations", params={"service_id": service["id"]}).json()
    assert [i["id"] for i in listed["items"]] == [created["id"]]
    assert listed["total"] == 1

    # The database holds only a hash of the key.
    with make_sessionmaker(live.engine)() as session:
        row = session.scalars(select(Integration)).one()
        assert row.key_hash == hash_secret(key)
        assert key not in repr(row.__dict__)

    r = api.patch(f"/api/v1/integrations/{created['id']}", json={"name": "renamed"})
    assert r.status_code == 200 and r.json()["name"] == "renamed"


def test_unknown_type_and_bad_settings_are_422(live: Live) -> None:
    api = live.client(new_token(live.engine))
    sid = api.post("/api/v1/services", json={"name": "s"}).json()["id"]
    r = api.post("/api/v1/integrations", json={"service_id": sid, "type": "nope"})
    assert r.status_code == 422
    assert r.json()["code"] == "unknown_integration_type"
    r = api.post("/api/v1/integrations", json={"service_id": sid, "type": 5})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_request"
    r = api.post(
        "/api/v1/services", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_json"


def test_tokens_see_only_their_organization(live: Live) -> None:
    alpha = live.client(new_token(live.engine, "alpha"))
    beta = live.client(new_token(live.engine, "beta"))
    sid = alpha.post("/api/v1/services", json={"name": "shared-name"}).json()["id"]
    iid = alpha.post(
        "/api/v1/integrations", json={"service_id": sid, "type": "aws_cloudtrail"}
    ).json()["id"]
    # The same service name is free in another organization.
    assert beta.post("/api/v1/services", json={"name": "shared-name"}).status_code == 201
    assert [s["id"] for s in beta.get("/api/v1/services").json()["items"]] != [sid]
    assert beta.get(f"/api/v1/services/{sid}").status_code == 404
    assert beta.get(f"/api/v1/integrations/{iid}").status_code == 404
    assert beta.post(f"/api/v1/integrations/{iid}/rotate-key").status_code == 404
    assert beta.post(f"/api/v1/integrations/{iid}/disable").status_code == 404
    r = beta.post("/api/v1/integrations", json={"service_id": sid, "type": "aws_cloudtrail"})
    assert r.status_code == 404
    assert beta.get("/api/v1/integrations").json()["total"] == 0
    assert alpha.get("/api/v1/integrations").json()["total"] == 1


def test_rotating_a_key_retires_the_old_url(live: Live) -> None:
    api = live.client(new_token(live.engine))
    sid = api.post("/api/v1/services", json={"name": "s"}).json()["id"]
    created = api.post(
        "/api/v1/integrations", json={"service_id": sid, "type": "aws_cloudtrail"}
    ).json()
    old_url = created["integration_url"].replace("http://alertgate.test", live.base_url)
    # Warm the key cache, then rotate: the old URL must stop working at once.
    assert httpx.post(old_url, content=b"{}").status_code != 404
    rotated = api.post(f"/api/v1/integrations/{created['id']}/rotate-key").json()
    assert rotated["key"] != created["key"]
    assert httpx.post(old_url, content=b"{}").json()["code"] == "integration_not_found"
    new_url = rotated["integration_url"].replace("http://alertgate.test", live.base_url)
    assert httpx.post(new_url, content=b"{}").status_code != 404


def test_disabled_integration_answers_410(live: Live) -> None:
    api = live.client(new_token(live.engine))
    sid = api.post("/api/v1/services", json={"name": "s"}).json()["id"]
    created = api.post(
        "/api/v1/integrations", json={"service_id": sid, "type": "aws_cloudtrail"}
    ).json()
    url = f"{live.base_url}/integrations/{created['key']}"
    assert api.post(f"/api/v1/integrations/{created['id']}/disable").json()["enabled"] is False
    r = httpx.post(url, content=b"{}")
    assert r.status_code == 410
    assert r.json()["code"] == "integration_disabled"
    assert api.post(f"/api/v1/integrations/{created['id']}/enable").json()["enabled"] is True
    assert httpx.post(url, content=b"{}").status_code != 410


def test_token_last_used_is_recorded_and_secret_is_not_stored(live: Live) -> None:
    token = new_token(live.engine)
    assert live.client(token).get("/api/v1/services").status_code == 200
    with make_sessionmaker(live.engine)() as session:
        row = session.scalars(select(ApiToken)).one()
        assert row.last_used_at is not None
        assert row.token_hash == hash_secret(token)
        assert token not in (row.prefix, row.name, row.token_hash)


def test_plugins_endpoint_lists_builtin_types_with_settings_schema(live: Live) -> None:
    items = live.client(new_token(live.engine)).get("/api/v1/plugins").json()["items"]
    by_slug = {i["slug"]: i for i in items}
    assert by_slug["aws_cloudtrail"]["title"] == "AWS CloudTrail"
    assert by_slug["aws_cloudtrail"]["builtin"] is True
    assert by_slug["aws_cloudtrail"]["settings_schema"]["type"] == "object"


def test_pagination_and_unknown_routes(live: Live) -> None:
    api = live.client(new_token(live.engine))
    for i in range(5):
        api.post("/api/v1/services", json={"name": f"svc{i}"})
    page = api.get("/api/v1/services", params={"limit": 2, "offset": 2}).json()
    assert [s["name"] for s in page["items"]] == ["svc2", "svc3"]
    assert page["total"] == 5
    r = api.get("/api/v1/services", params={"limit": 0})
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    r = api.get("/api/v1/nothing")
    assert r.status_code == 404 and r.json() == {"code": "not_found", "message": "no such endpoint"}
    r = api.delete("/api/v1/services")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    assert api.get(f"/api/v1/services/{2**63 + 5}").status_code == 404


def test_revoked_token_is_refused(live: Live) -> None:
    token = new_token(live.engine)
    api = live.client(token)
    assert api.get("/api/v1/services").status_code == 200
    with make_sessionmaker(live.engine).begin() as session:
        row = session.scalars(select(ApiToken)).one()
        admin.revoke_token(session, row.id)
    assert api.get("/api/v1/services").status_code == 401

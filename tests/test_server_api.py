"""The admin API through real HTTP: CRUD, tenant isolation, errors, key rotation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from core.server import admin
from core.server.keys import hash_secret
from core.storage.database import make_sessionmaker
from core.storage.schema import ApiToken, Integration
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

"""The OpenAPI 3.1 document: valid, generated from the handlers' models, and honoured by
the live app (schemathesis generates requests from it and validates every response)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from alertgate.server import api
from alertgate.server.schemas import IntegrationCreate, ServiceOut
from tests.server_helpers import Live, live_server, new_token

EXAMPLES = int(os.environ.get("ALERTGATE_SCHEMATHESIS_EXAMPLES", "25"))
"""Cases per operation and mode; CI can raise it (every check is enabled either way)."""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    # A server key, as any server with notification channels has: without one, channels
    # with secrets are refused (422 secret_key_missing) whatever the body.
    key = Fernet.generate_key().decode()
    with live_server(tmp_path_factory.mktemp("openapi"), secret_key=key) as server:
        yield server


def test_document_is_valid_openapi_31(live: Live) -> None:
    doc = httpx.get(f"{live.base_url}/api/v1/openapi.json").json()
    assert doc["openapi"] == "3.1.0"
    validate(doc)
    # Every declared route is documented, with the models its handler uses.
    for route in api.ROUTES:
        assert route.method.lower() in doc["paths"][route.openapi_path]
    schemas = doc["components"]["schemas"]
    assert set(ServiceOut.model_json_schema()["properties"]) == set(
        schemas["ServiceOut"]["properties"]
    )
    assert set(IntegrationCreate.model_json_schema()["properties"]) == set(
        schemas["IntegrationCreate"]["properties"]
    )
    assert doc["paths"]["/api/v1/integrations"]["post"]["responses"]["201"]


def test_live_app_conforms_to_its_document(live: Live) -> None:
    token = new_token(live.engine)
    headers = {"Authorization": f"Bearer {token}"}
    # Some objects to find, so that not every generated id is a 404.
    client = live.client(token)
    sid = client.post("/api/v1/services", json={"name": "seed"}).json()["id"]
    client.post("/api/v1/integrations", json={"service_id": sid, "type": "aws_cloudtrail"})

    schema = schemathesis.openapi.from_url(f"{live.base_url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(api.ROUTES)
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            # The same examples every run: CI is not a lottery; raise
            # ALERTGATE_SCHEMATHESIS_EXAMPLES to explore more.
            derandomize=True,
        )
        def check(case: schemathesis.Case) -> None:
            # Every check, positive_data_acceptance included: the document lists the
            # installed types with their own settings schemas, so what it allows is accepted.
            # Except where validity depends on more than a document can say: an update's
            # settings on the stored object's type, a silence's end on the clock, a paging
            # cursor on the list it came from. There a 422 is the right answer.
            excluded = [positive_data_acceptance] if _beyond_the_document(case) else []
            case.call_and_validate(
                base_url=live.base_url, headers=headers, excluded_checks=excluded
            )

        check()


def _beyond_the_document(case: schemathesis.Case) -> bool:
    """An update whose ``settings`` are validated by the stored object's type, a silence
    whose times are checked against the clock (it must not have ended already), or a
    ``cursor`` (opaque: only one the server issued for that list decodes)."""
    body = case.body if isinstance(case.body, dict) else {}
    if case.method == "PATCH" and "settings" in body:
        return True
    if "cursor" in (case.query or {}):
        return True
    return case.operation.path.startswith("/api/v1/silences") and case.method in ("POST", "PATCH")


def negates_auth(case: schemathesis.Case) -> bool:
    """Whether the case's negative data is (also) in its headers: the only header the
    document declares is the bearer token of its security scheme."""
    meta = case.meta
    if meta is None:
        return False
    mutations = getattr(meta.phase.data, "mutations", ())
    if mutations:
        return any(m.parameter_location is ParameterLocation.HEADER for m in mutations)
    return meta.is_negative_at(ParameterLocation.HEADER)


def _not_http(response: Any) -> bool:
    """Whether HTTP itself refused the request (its generated headers included, say, an
    empty ``Content-Length``): refused before any route, so before authentication."""
    if response.status_code != 400:
        return False
    try:
        return bool(response.json().get("code") == "invalid_http_request")
    except ValueError:
        return False


def test_live_app_refuses_invalid_requests_without_5xx(live: Live) -> None:
    """Negative data (wrong types, missing fields, out-of-range values): a 4xx, never 5xx."""
    headers = {"Authorization": f"Bearer {new_token(live.engine)}"}
    schema = schemathesis.openapi.from_url(f"{live.base_url}/api/v1/openapi.json")
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(GenerationMode.NEGATIVE))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            # The same examples every run: CI is not a lottery; raise
            # ALERTGATE_SCHEMATHESIS_EXAMPLES to explore more.
            derandomize=True,
        )
        def check(case: schemathesis.Case) -> None:
            # A case whose negation is the bearer token (missing, or not a string) is sent
            # as generated: adding our valid token would undo that negation, and if the
            # case's other negation never reaches the wire either (an extra query key with
            # an empty list as value serializes to nothing), the server rightly answers
            # 200 to a valid request and schemathesis reports "invalid data accepted".
            # Sent without a valid token, the server must refuse it (401).
            without_token = negates_auth(case)
            response = case.call_and_validate(
                base_url=live.base_url, headers=None if without_token else headers
            )
            if without_token and not _not_http(response):  # 404: a negated path id
                assert response.status_code in (401, 404), response.text

        check()


def test_bodies_are_validated_strictly_by_the_schema(live: Live) -> None:
    """What the document forbids is refused, not coerced; what it allows is accepted."""
    client = live.client(new_token(live.engine))
    sid = client.post("/api/v1/services", json={"name": "strict"}).json()["id"]
    created = client.post(
        "/api/v1/integrations", json={"service_id": float(sid), "type": "aws_cloudwatch"}
    )
    assert created.status_code == 201, created.text  # 3.0 is an integer in JSON Schema
    iid = created.json()["id"]
    for body in (
        {"enabled": 0},
        {"enabled": "false"},
        {"name": 5},
        {"rate_limit_per_minute": True},
    ):
        refused = client.patch(f"/api/v1/integrations/{iid}", json=body)
        assert refused.status_code == 422, (body, refused.text)
    for body in (
        {"service_id": str(sid), "type": "aws_cloudwatch"},
        {"service_id": True, "type": "aws_cloudwatch"},
    ):
        assert client.post("/api/v1/integrations", json=body).status_code == 422
    for verb in ("acknowledge", "resolve"):
        bulk = client.post(f"/api/v1/incidents/{verb}", json={"ids": [str(sid)]})
        assert bulk.status_code == 422, bulk.text
    unknown = client.post("/api/v1/integrations", json={"service_id": sid, "type": "nope"})
    assert unknown.status_code == 422
    doc = client.get("/api/v1/openapi.json").json()
    variants = doc["components"]["schemas"]["IntegrationCreateByType"]["oneOf"]
    assert {v["properties"]["type"]["const"] for v in variants} >= {
        "aws_cloudwatch",
        "aws_cloudtrail",
    }
    assert (
        client.patch(f"/api/v1/integrations/{iid}", json={"enabled": False}).json()["enabled"]
        is False
    )
    assert client.post("/api/v1/services", json={"name": " \t "}).status_code == 422


def test_notification_bodies_are_strict_too(live: Live) -> None:
    """Channels, rules and silences: no coercion of what the schema forbids, JSON Schema's
    integers (5.0) and ISO 8601 times accepted."""
    client = live.client(new_token(live.engine))
    sid = client.post("/api/v1/services", json={"name": "strict-notify"}).json()["id"]
    hook = {"type": "webhook", "settings": {"url": "https://hooks.example.com/x"}}
    for extra in ({"rate_limit_per_minute": "5"}, {"rate_limit_per_minute": True}):
        refused = client.post("/api/v1/channels", json={**hook, "name": "c", **extra})
        assert refused.status_code == 422, (extra, refused.text)
    made = client.post(
        "/api/v1/channels", json={**hook, "name": "strict-c", "rate_limit_per_minute": 5.0}
    )
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    escalation = {"channel_id": cid, "after_minutes": 5, "every_minutes": 5}
    for body in (
        {"service_id": sid, "channel_id": str(cid)},
        {"service_id": True, "channel_id": cid},
        {"service_id": sid, "channel_id": cid, "escalation": {**escalation, "times": "2"}},
    ):
        refused = client.post("/api/v1/rules", json=body)
        assert refused.status_code == 422, (body, refused.text)
    rule = client.post(
        "/api/v1/rules",
        json={"service_id": float(sid), "channel_id": cid, "escalation": escalation},
    )
    assert rule.status_code == 201, rule.text
    window = {"days": [0], "start": "22:00", "end": "06:00"}
    ends = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    silence = {"service_id": sid, "ends_at": ends}
    assert (
        client.post("/api/v1/silences", json={**silence, "service_id": str(sid)}).status_code == 422
    )
    assert (
        client.post("/api/v1/silences", json={**silence, "weekly": {**window, "days": ["0"]}})
    ).status_code == 422
    made_silence = client.post("/api/v1/silences", json={**silence, "weekly": window})
    assert made_silence.status_code == 201, made_silence.text

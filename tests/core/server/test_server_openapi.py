"""The OpenAPI 3.1 document: valid, generated from the handlers' models, and honoured by
the live app (schemathesis generates requests from it and validates every response)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
)
from schemathesis.core.parameters import ParameterLocation

from alertgate.server import api
from alertgate.server.schemas import IntegrationCreate, ServiceOut
from tests.server_helpers import Live, live_server, new_token


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with live_server(tmp_path_factory.mktemp("openapi")) as server:
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
            max_examples=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            # Schema-valid is not always acceptable: an unknown type slug or settings the
            # type's model refuses are 422 by design.
            case.call_and_validate(
                base_url=live.base_url,
                headers=headers,
                excluded_checks=[positive_data_acceptance],
            )

        check()


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


def test_live_app_refuses_invalid_requests_without_5xx(live: Live) -> None:
    """Negative data (wrong types, missing fields, out-of-range values): a 4xx, never 5xx."""
    headers = {"Authorization": f"Bearer {new_token(live.engine)}"}
    schema = schemathesis.openapi.from_url(f"{live.base_url}/api/v1/openapi.json")
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(GenerationMode.NEGATIVE))
        @settings(
            max_examples=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
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
                base_url=live.base_url,
                headers=None if without_token else headers,
                checks=[not_a_server_error, negative_data_rejection, content_type_conformance],
            )
            if without_token:  # 404: a negated path id matches no route
                assert response.status_code in (401, 404), response.text

        check()

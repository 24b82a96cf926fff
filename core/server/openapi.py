"""The OpenAPI 3.1 document of the admin API, generated from the route declarations and
the pydantic models the handlers validate and serialize with."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from alertgate import __version__
from alertgate.server.notify_schemas import ChannelCreate
from alertgate.server.routing import ApiRoute
from alertgate.server.schemas import ErrorBody, IntegrationCreate

REF = "#/components/schemas/{model}"

_ERROR_TEXT = {
    400: "Malformed request (e.g. the body is not JSON).",
    401: "Missing or invalid API token.",
    404: "No such object in the token's organization.",
    409: "Conflicts with the current state.",
    413: "Request body too large.",
    422: "The request does not validate.",
    503: "Storage is unavailable.",
}


def _query_parameters(model: type[BaseModel], defs: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    defs.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        description = prop.pop("description", None)
        param: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop,
        }
        if description:
            param["description"] = description
        params.append(param)
    return params


def _create_by_type(
    schemas: dict[str, Any], body: type[BaseModel], types: Mapping[str, type[BaseModel]]
) -> dict[str, Any]:
    """A creation ``body`` with ``type`` and ``settings`` (an integration's, a channel's) as
    one variant per installed type, each with that type's settings schema: the document
    then allows exactly the bodies the server accepts (an unknown slug, or settings of
    another type, do not validate)."""
    base = schemas[body.__name__]
    variants = []
    for slug, model in sorted(types.items()):
        settings = model.model_json_schema(ref_template=REF)
        schemas.update(settings.pop("$defs", {}))
        variant = copy.deepcopy(base)
        variant["title"] = f"{body.__name__} ({slug})"
        variant["properties"]["type"] = {"type": "string", "const": slug, "title": "Type"}
        variant["properties"]["settings"] = settings
        if settings.get("required"):
            # Without settings the type's required fields are missing: not a valid body.
            variant["required"] = sorted({*variant.get("required", []), "settings"})
        variants.append(variant)
    return {"oneOf": variants, "title": f"{body.__name__}ByType"}


def build_openapi(
    routes: list[ApiRoute],
    server_url: str = "/",
    integration_types: Mapping[str, type[BaseModel]] | None = None,
    channel_types: Mapping[str, type[BaseModel]] | None = None,
) -> dict[str, Any]:
    """The document; with ``integration_types`` / ``channel_types`` (slug -> settings
    model) the creation bodies list the installed types and their settings."""
    by_type = {IntegrationCreate: integration_types, ChannelCreate: channel_types}
    models: list[type[BaseModel]] = [ErrorBody]
    for r in routes:
        models.extend(m for m in (r.body, r.response) if m is not None)
    unique = list(dict.fromkeys(models))
    keyed, top = models_json_schema(
        [(m, "validation" if m in {r.body for r in routes} else "serialization") for m in unique],
        ref_template=REF,
    )
    schemas: dict[str, Any] = dict(top.get("$defs", {}))

    def ref(
        model: type[BaseModel], mode: Literal["validation", "serialization"] = "serialization"
    ) -> dict[str, Any]:
        return dict(keyed[(model, mode)])

    paths: dict[str, Any] = {}
    for r in routes:
        params: list[dict[str, Any]] = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": 2**62},
            }
            for name in re.findall(r"\{(\w+):int\}", r.path)
        ]
        if r.query is not None:
            params.extend(_query_parameters(r.query, schemas))
        responses: dict[str, Any] = {}
        if r.response is not None:
            responses[str(r.status)] = {
                "description": "Success.",
                "content": {"application/json": {"schema": ref(r.response)}},
            }
        else:
            responses[str(r.status)] = {"description": "Success."}
        # 400 on every operation: any request can be malformed below the API (a header
        # the HTTP parser refuses, a bad Content-Length) whatever its route.
        for status in sorted({400, 401, 503, *r.errors}):
            responses[str(status)] = {
                "description": _ERROR_TEXT.get(status, "Error."),
                "content": {"application/json": {"schema": ref(ErrorBody)}},
            }
        operation: dict[str, Any] = {
            "operationId": r.operation_id,
            "summary": r.summary,
            "tags": [r.tag],
            "parameters": params,
            "responses": responses,
        }
        if r.description:
            operation["description"] = r.description
        if r.body is not None:
            body_schema = ref(r.body, "validation")
            types = by_type.get(r.body)
            if types:
                variants = _create_by_type(schemas, r.body, types)
                schemas[variants["title"]] = variants
                body_schema = {"$ref": REF.format(model=variants["title"])}
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": body_schema}},
            }
        paths.setdefault(r.openapi_path, {})[r.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "alertgate admin API",
            "version": __version__,
            "description": "Services, integrations, incidents and plugins of one "
            "organization, selected by the API token. Error bodies are "
            '`{"code": ..., "message": ...}`.',
        },
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }

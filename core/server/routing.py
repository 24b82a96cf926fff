"""A small declarative layer for the admin API: each :class:`ApiRoute` names its pydantic
body, query and response models, so the handlers validate with exactly the models the
OpenAPI document (core/server/openapi.py) is generated from.

Handlers are plain synchronous functions run in Starlette's thread pool: they talk to the
database through SQLAlchemy sessions, which are synchronous.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alertgate.server import admin
from alertgate.server.errors import error_response

if TYPE_CHECKING:
    from alertgate.server.app import AppState

MAX_JSON_BODY = 1024 * 1024
MAX_ID = admin.MAX_ID
TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass
class Call:
    """One authenticated API call, as a handler sees it."""

    state: AppState
    org_id: int
    actor: str
    path: dict[str, Any]
    query: Any = None
    body: Any = None


Handler = Callable[[Call], BaseModel | None]


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    """Starlette path with convertors, e.g. ``/api/v1/services/{service_id:int}``."""
    handler: Handler
    summary: str
    operation_id: str
    tag: str
    response: type[BaseModel] | None
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    description: str = ""
    path_params: dict[str, str] = field(default_factory=dict)

    @property
    def openapi_path(self) -> str:
        return re.sub(r"\{(\w+):\w+\}", r"{\1}", self.path)


def validation_message(exc: ValidationError) -> str:
    """The first few problems of a validation error, one line for an error body."""
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def _repeated_key(request: Request) -> str | None:
    """The first query parameter given more than once, if any."""
    seen: set[str] = set()
    for key, _ in request.query_params.multi_items():
        if key in seen:
            return key
        seen.add(key)
    return None


def bearer_secret(header: str | None) -> str | None:
    """The credentials of an ``Authorization: Bearer`` header; the scheme name is
    case-insensitive (RFC 9110 section 11.1)."""
    if not header:
        return None
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return secret.strip() or None


def _authenticate(state: AppState, header: str | None) -> tuple[int, str] | None:
    secret = bearer_secret(header)
    if secret is None:
        return None
    with state.sessions.begin() as session:
        token = admin.authenticate_token(session, secret)
        if token is None:
            return None
        now = datetime.now(UTC)
        last = admin.as_utc(token.last_used_at)
        if last is None or now - last > TOUCH_INTERVAL:
            token.last_used_at = now
        return token.organization_id, f"token:{token.prefix}"


def endpoint(route: ApiRoute) -> Callable[[Request], Any]:
    async def handle(request: Request) -> Response:
        state: AppState = request.app.state.alertgate
        try:
            auth = await run_in_threadpool(
                _authenticate, state, request.headers.get("authorization")
            )
        except OperationalError:
            return error_response(503, "storage_unavailable", "storage is unavailable")
        if auth is None:
            return error_response(
                401,
                "unauthorized",
                "missing or invalid API token (Authorization: Bearer <token>)",
                {"WWW-Authenticate": "Bearer"},
            )
        call = Call(state=state, org_id=auth[0], actor=auth[1], path=dict(request.path_params))
        if any(isinstance(v, int) and v > MAX_ID for v in call.path.values()):
            return error_response(404, "not_found", "no such object")
        try:
            if route.query is not None:
                # Every parameter is a scalar: a repeated one (``limit=1&limit=x``) is
                # refused rather than silently reduced to its last value.
                repeated = _repeated_key(request)
                if repeated is not None:
                    return error_response(
                        422, "invalid_request", f"{repeated[:100]}: given more than once"
                    )
                call.query = route.query.model_validate(dict(request.query_params))
            if route.body is not None:
                raw = await request.body()
                if len(raw) > MAX_JSON_BODY:
                    return error_response(413, "payload_too_large", "request body too large")
                try:
                    doc = json.loads(raw)
                except ValueError:
                    return error_response(400, "invalid_json", "request body is not JSON")
                call.body = route.body.model_validate(doc)
        except ValidationError as exc:
            return error_response(422, "invalid_request", validation_message(exc))
        try:
            result = await run_in_threadpool(route.handler, call)
        except admin.AdminError as exc:
            return error_response(exc.status_code, exc.code, exc.message)
        except OperationalError:
            return error_response(503, "storage_unavailable", "storage is unavailable")
        if result is None:
            return Response(status_code=204)
        return Response(
            result.model_dump_json().encode(),
            status_code=route.status,
            media_type="application/json",
        )

    handle.__name__ = route.operation_id
    return handle


def starlette_routes(api_routes: list[ApiRoute]) -> list[Route]:
    """One Starlette route per path, dispatching on method."""
    by_path: dict[str, dict[str, ApiRoute]] = {}
    for r in api_routes:
        by_path.setdefault(r.path, {})[r.method] = r
    routes = []
    for path, methods in by_path.items():
        handlers = {m: endpoint(r) for m, r in methods.items()}

        async def dispatch(
            request: Request, handlers: dict[str, Callable[[Request], Any]] = handlers
        ) -> Response:
            handler = handlers.get(request.method)
            if handler is None:
                return error_response(405, "method_not_allowed", "method not allowed")
            response: Response = await handler(request)
            return response

        routes.append(Route(path, dispatch, methods=list(methods)))
    return routes

"""JSON error bodies ``{"code", "message"}`` for every error the server returns."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


def error_body(code: str, message: str) -> bytes:
    """The JSON body of an error answer."""
    return json.dumps({"code": code, "message": message}).encode()


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        error_body(code, message),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


async def http_exception_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404:
        message = "no such endpoint"
    return error_response(exc.status_code, code, message, dict(exc.headers or {}))


async def server_error_handler(_request: Request, _exc: Exception) -> Response:
    # Starlette re-raises after this response, so the server logs the traceback once.
    return error_response(500, "internal_error", "internal server error")

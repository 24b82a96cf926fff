"""Error pages in the UI's style for browsers; the API, Integration URLs and probes keep
their JSON errors.

A request gets HTML when it is not for a machine path and its ``Accept`` asks for HTML, as
a browser's navigation does. The page does not sign anyone in: it shows no navigation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import lru_cache

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from alertgate.web.app import make_environment

MACHINE_PREFIXES = ("/api/", "/integrations/", "/metrics", "/healthz", "/readyz", "/static/")
MESSAGES = {
    403: "You are not allowed to see this page.",
    404: "There is no page here. The link may be mistyped, or the object was deleted.",
    405: "This page cannot be used that way.",
    500: "alertgate hit an unexpected error. It has been logged; try again in a moment.",
}
TITLES = {403: "Not allowed", 404: "Page not found", 500: "Something went wrong"}

ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return make_environment()


def wants_html(request: Request) -> bool:
    if request.url.path.startswith(MACHINE_PREFIXES) or request.url.path == "/api":
        return False
    return "text/html" in request.headers.get("accept", "")


def html_error(status: int) -> HTMLResponse:
    body = (
        _environment()
        .get_template("error.html")
        .render(
            user=None,
            csrf="",
            flash=None,
            path="",
            heading=TITLES.get(status, "Something went wrong"),
            message=MESSAGES.get(status, "The request could not be served."),
        )
    )
    return HTMLResponse(body, status_code=status)


def html_for_browsers(handler: ExceptionHandler, status: int | None = None) -> ExceptionHandler:
    """``handler`` (which answers JSON), answering browsers with an HTML page instead."""

    async def handle(request: Request, exc: Exception) -> Response:
        response = await handler(request, exc)
        if not wants_html(request):
            return response
        page = html_error(status or response.status_code)
        for name in ("allow", "www-authenticate"):
            if name in response.headers:
                page.headers[name] = response.headers[name]
        return page

    return handle

"""Request plumbing of the web UI: session, sign-in check, CSRF, bounded forms, rendering.

Page handlers are plain synchronous functions ``(Page) -> Response``: they talk to the
database through SQLAlchemy sessions, so :class:`WebUI` runs them in Starlette's thread
pool after the async parts (reading the form, checking CSRF) are done.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

import jinja2
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from alertgate.server import admin
from alertgate.settings import Settings
from alertgate.storage.schema import ApiToken, Organization, WebSession
from alertgate.web.ages import ago
from alertgate.web.docs_links import docs_href
from alertgate.web.session import (
    SessionCodec,
    csrf_matches,
    load_secret_key,
    new_csrf_token,
    session_hash,
)

if TYPE_CHECKING:
    from alertgate.server.app import AppState

TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM_BYTES = 256 * 1024
MAX_FORM_FIELDS = 500
MAX_ID = 2**62
"""Larger ids cannot exist (BIGINT) and would overflow SQLite's driver."""

SECURITY_HEADERS = {
    # Everything is served by alertgate itself: no inline script, no third-party origin.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True, slots=True)
class User:
    """The signed-in API token and its organization."""

    token_id: int
    token_name: str
    org_id: int
    org_name: str

    @property
    def actor(self) -> str:
        """How manual acknowledge/resolve records who did it."""
        return f"web:{self.token_name}"


class PageError(Exception):
    """Render the error page (or, to a JSON request, an error body) with this status."""

    def __init__(self, status: int, message: str, code: str = "error") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass
class Page:
    """One UI request as a handler sees it."""

    request: Request
    state: AppState
    env: jinja2.Environment
    session: dict[str, Any]
    form: dict[str, str] = field(default_factory=dict)
    user: User | None = None
    json: bool = False
    """The request was a JSON POST (a script, not a browser): answer JSON."""

    @property
    def org_id(self) -> int:
        assert self.user is not None
        return self.user.org_id

    @property
    def csrf(self) -> str:
        return str(self.session.get("c", ""))

    def path_int(self, name: str) -> int:
        value = int(self.request.path_params[name])
        if value > MAX_ID:
            raise PageError(404, "Not found.")
        return value

    def flash(self, message: str) -> None:
        """A one-line notice shown on the next page rendered."""
        self.session["f"] = message[:300]

    def render(self, template: str, http_status: int = 200, **context: Any) -> HTMLResponse:
        flash = self.session.pop("f", None)
        body = self.env.get_template(template).render(
            user=self.user,
            csrf=self.csrf,
            flash=flash,
            path=self.request.url.path,
            **context,
        )
        return HTMLResponse(body, status_code=http_status)

    def redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)


Handler = Callable[[Page], Response]


def _format_time(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def _embedded_json(payload: Any) -> tuple[str, str] | None:
    """The first top-level field of a JSON object payload whose string value is itself a
    JSON object or array (an envelope's message, e.g. SNS's ``Message``): its name and
    the document, pretty-printed."""
    if not isinstance(payload, dict):
        return None
    for key, value in payload.items():
        if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
            try:
                return str(key), _pretty_json(json.loads(value))
            except ValueError:
                continue
    return None


def make_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["time"] = _format_time
    env.filters["pretty_json"] = _pretty_json
    env.filters["embedded_json"] = _embedded_json
    env.filters["ago"] = ago
    env.filters["docs_href"] = docs_href
    return env


def safe_next(value: str | None) -> str:
    """A local path to return to after sign-in; anything else (other hosts) goes home."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


class WebUI:
    """Wraps page handlers with the session, sign-in, CSRF and error handling."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env = make_environment()
        self._codec: SessionCodec | None = None
        self._lock = threading.Lock()

    def codec(self) -> SessionCodec:
        # Resolved on first use so an app that never serves a page writes no key file.
        with self._lock:
            if self._codec is None:
                self._codec = SessionCodec(
                    load_secret_key(self.settings),
                    max_age=self.settings.session_max_age_seconds,
                    secure=self.settings.public_url.lower().startswith("https://"),
                )
            return self._codec

    def page(
        self, handler: Handler, *, auth: bool = True, fragment: bool = False, json: bool = False
    ) -> Any:
        """A Starlette endpoint running ``handler``.

        :param auth: Require a signed-in user (others are sent to the sign-in page).
        :param fragment: A script-polled endpoint: answer 401 instead of redirecting.
        :param json: Also take a JSON object POST, without a CSRF token: only for a page
            whose POST needs a secret of its own (``/setup``'s set-up code) and no cookie.
        """

        async def endpoint(request: Request) -> Response:
            codec = await run_in_threadpool(self.codec)
            session = codec.load(request)
            before = dict(session)
            if "c" not in session:
                session["c"] = new_csrf_token()
            page = Page(request, request.app.state.alertgate, self.env, session)
            try:
                if request.method == "POST" and json and _is_json(request):
                    page.json = True
                    page.form = await read_json_form(request)
                elif request.method == "POST":
                    page.form = await read_form(request)
                    if not csrf_matches(page.csrf, page.form.get("csrf_token")):
                        raise PageError(
                            403,
                            "The form expired or did not come from this site. "
                            "Go back, reload the page and try again.",
                        )
                response = await run_in_threadpool(self._run, page, handler, auth, fragment)
            except PageError as exc:
                if page.json:
                    body = {"code": exc.code, "message": exc.message}
                    response = JSONResponse(body, status_code=exc.status)
                else:
                    response = page.render(
                        "error.html", http_status=exc.status, message=exc.message
                    )
            if page.session != before:
                codec.save(response, page.session)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return endpoint

    def _run(self, page: Page, handler: Handler, auth: bool, fragment: bool) -> Response:
        if auth:
            page.user = self._user(page)
            if page.user is None:
                if fragment:
                    return JSONResponse(
                        {"code": "unauthorized", "message": "sign in again"}, status_code=401
                    )
                path = page.request.url.path
                if page.request.url.query:
                    path += "?" + page.request.url.query
                return page.redirect("/login?next=" + quote(path, safe="/"))
        else:
            page.user = self._user(page)
        try:
            return handler(page)
        except admin.NotFound as exc:
            raise PageError(404, exc.message) from None

    def _user(self, page: Page) -> User | None:
        id_hash = session_hash(page.session.get("s"))
        if id_hash is None:
            return None
        with page.state.sessions() as s:
            row = s.execute(
                select(
                    ApiToken.id,
                    ApiToken.name,
                    ApiToken.revoked_at,
                    Organization.id,
                    Organization.name,
                    WebSession.expires_at,
                )
                .join(ApiToken, ApiToken.id == WebSession.token_id)
                .join(Organization, Organization.id == ApiToken.organization_id)
                .where(WebSession.id_hash == id_hash)
            ).first()
        if row is None or row[2] is not None or row[5] <= admin.utcnow():
            # Logged out, expired, token revoked or deleted: forget the sign-in but keep
            # the CSRF token.
            page.session.pop("s", None)
            return None
        return User(row[0], row[1], row[3], row[4])


def _is_json(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type == "application/json"


async def read_json_form(request: Request) -> dict[str, str]:
    """A JSON object of string fields, bounded like a form (a script's ``/setup``)."""
    body = await _read_bounded(request)
    try:
        doc = json.loads(body)
    except ValueError:
        raise PageError(400, "The body is not JSON.", "invalid_json") from None
    if not isinstance(doc, dict) or len(doc) > MAX_FORM_FIELDS:
        raise PageError(400, "The body must be a JSON object.", "invalid_request")
    if not all(isinstance(v, str) for v in doc.values()):
        raise PageError(422, "Every field must be a string.", "invalid_request")
    return dict(doc)


async def _read_bounded(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise PageError(413, "The form is too large.", "payload_too_large")
    return bytes(body)


async def read_form(request: Request) -> dict[str, str]:
    """A URL-encoded form, bounded in size and field count (the UI posts nothing else)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise PageError(415, "Forms must be sent URL-encoded.")
    body = await _read_bounded(request)
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise PageError(400, "The form could not be read.") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form

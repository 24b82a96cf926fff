"""The UI's pages: sign-in and set-up, services, integrations, incidents.

Every query goes through :mod:`alertgate.server.admin` with the signed-in organization, so the
UI sees exactly what an API token of that organization sees and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from alertgate.models import StateItem
from alertgate.server import admin, audit, console, setup_codes
from alertgate.server.keys import integration_url
from alertgate.server.testalert import send_test_alert
from alertgate.storage.schema import (
    OPEN_STATUSES,
    ApiToken,
    Incident,
    Integration,
    Organization,
    Service,
)
from alertgate.web import console_views
from alertgate.web.app import Page, PageError, safe_next
from alertgate.web.forms import FormError, setting_fields, settings_from_form
from alertgate.web.session import close_session, new_csrf_token, open_session

FIRST_TOKEN_NAME = "admin"  # noqa: S105 - a label, not a secret
"""What the set-up page suggests calling the first API token (a label, not a secret)."""
ALREADY_SET_UP = "alertgate is already set up. Sign in with an API token."
BAD_SETUP_CODE = (
    "That set-up code is not valid. Use the one-time code `alertgate serve` (or "
    "`alertgate db upgrade`) printed on the server's console; restarting the server "
    "prints a new one."
)
INTEGRATION_LOG_LIMIT = 50
BADGES = ("ok", "pending", "off", "waiting")
"""Statuses a plugin's state item may give an integration's badge (CSS hints)."""


# -- sign-in -------------------------------------------------------------------------------


def _needs_setup(page: Page) -> bool:
    with page.state.sessions() as s:
        return setup_codes.needs_setup(s)


def _sign_in(page: Page, token: ApiToken) -> None:
    with page.state.sessions.begin() as s:
        close_session(s, page.session.get("s"))
        session_id = open_session(s, token.id, page.state.settings.session_max_age_seconds)
    # A fresh CSRF token at sign-in: nothing issued before it stays valid.
    page.session.clear()
    page.session.update({"s": session_id, "c": new_csrf_token()})


def home(page: Page) -> Response:
    if page.user is None:
        return page.redirect("/setup" if _needs_setup(page) else "/login")
    return page.redirect("/incidents")


def login(page: Page) -> Response:
    nxt = safe_next(page.request.query_params.get("next") or page.form.get("next"))
    if page.request.method == "GET":
        if _needs_setup(page):
            return page.redirect("/setup")
        return page.render("login.html", next=nxt, error=None)
    secret = page.form.get("token", "").strip()
    with page.state.sessions.begin() as s:
        token = admin.authenticate_token(s, secret)
        if token is not None:
            token.last_used_at = admin.utcnow()
    if token is None:
        return page.render(
            "login.html", http_status=401, next=nxt, error="That token is not valid."
        )
    _sign_in(page, token)
    return page.redirect(nxt)


def setup(page: Page) -> Response:
    """First run only: create the organization and its first API token, given the one-time
    set-up code the server printed (see :mod:`alertgate.server.setup_codes`)."""
    if not _needs_setup(page):
        if page.request.method == "POST":
            raise PageError(409, ALREADY_SET_UP, "already_set_up")
        return page.redirect("/login")
    if page.request.method == "GET":
        return page.render(
            "setup.html",
            org_name="default",
            token_name=FIRST_TOKEN_NAME,
            error=None,
        )
    org_name = page.form.get("organization", "").strip() or ("default" if page.json else "")
    token_name = page.form.get("token_name", "").strip() or FIRST_TOKEN_NAME
    try:
        with page.state.sessions.begin() as s:
            # Checked again inside the transaction that creates the first token, after
            # taking the write lock, so two concurrent set-ups cannot both succeed.
            if s.get_bind().dialect.name == "postgresql":
                s.execute(text("LOCK TABLE api_tokens IN SHARE ROW EXCLUSIVE MODE"))
            else:
                # SQLite: a write statement (matching nothing) begins the write
                # transaction now; a concurrent set-up waits for it (busy_timeout).
                s.execute(text("UPDATE api_tokens SET name = name WHERE 0 = 1"))
            if not setup_codes.needs_setup(s):
                raise PageError(409, ALREADY_SET_UP, "already_set_up")
            if not setup_codes.consume(s, page.form.get("setup_code", "")):
                raise PageError(403, BAD_SETUP_CODE, "setup_code_invalid")
            org = admin.ensure_organization(s, org_name)
            new = admin.create_token(s, org, token_name)
            token = new.token
    except OperationalError:
        # SQLite: a concurrent set-up committed first (our read snapshot went stale).
        if not _needs_setup(page):
            raise PageError(409, ALREADY_SET_UP, "already_set_up") from None
        raise
    except (PageError, admin.AdminError) as exc:
        # A wrong set-up code or an invalid name: the form again, saying why (409s and
        # other page errors go to the error page; a script gets JSON either way).
        refused = isinstance(exc, PageError)
        if refused and (page.json or exc.code != "setup_code_invalid"):
            raise
        if isinstance(exc, admin.AdminError) and page.json:
            raise PageError(exc.status_code, exc.message, exc.code) from None
        return page.render(
            "setup.html",
            http_status=403 if refused else 422,
            org_name=org_name,
            token_name=token_name,
            error=exc.message,
        )
    if page.json:
        body = {"token": new.secret, "organization": org_name, "token_name": token.name}
        return JSONResponse(body, status_code=201)
    _sign_in(page, token)
    page.user = None
    response = page.render("token_created.html", token=new.secret, org_name=org_name)
    return response


def logout(page: Page) -> Response:
    with page.state.sessions.begin() as s:
        close_session(s, page.session.get("s"))
    page.session.clear()
    page.session["c"] = new_csrf_token()
    page.flash("Signed out.")
    return page.redirect("/login")


# -- services ------------------------------------------------------------------------------


def services(page: Page) -> Response:
    with page.state.sessions() as s:
        rows = admin.list_services(s, page.org_id)
        ids = [r.id for r in rows]
        integration_counts = dict(
            s.execute(
                select(Integration.service_id, func.count())
                .where(Integration.service_id.in_(ids))
                .group_by(Integration.service_id)
            ).all()
        )
        open_counts = dict(
            s.execute(
                select(Incident.service_id, func.count())
                .where(Incident.service_id.in_(ids), Incident.status.in_(OPEN_STATUSES))
                .group_by(Incident.service_id)
            ).all()
        )
    return page.render(
        "services.html",
        services=rows,
        integration_counts=integration_counts,
        open_counts=open_counts,
    )


def new_service(page: Page) -> Response:
    if page.request.method == "GET":
        return page.render("service_new.html", name="", description="", error=None)
    name = page.form.get("name", "")
    description = page.form.get("description", "")
    try:
        with page.state.sessions.begin() as s:
            org = s.get(Organization, page.org_id)
            assert org is not None
            service = admin.create_service(s, org, name, description)
            service_id = service.id
    except admin.AdminError as exc:
        return page.render(
            "service_new.html",
            http_status=422,
            name=name,
            description=description,
            error=exc.message,
        )
    page.flash(f"Service {name.strip()} created.")
    return page.redirect(f"/services/{service_id}")


@dataclass(frozen=True, slots=True)
class IntegrationRow:
    integration: Integration
    type_title: str
    status: str
    status_kind: str
    """A CSS hint: ok | pending | off | waiting."""


@dataclass(frozen=True, slots=True)
class IntegrationState:
    """An integration's status badge and the other facts its plugin tells about it."""

    status: str
    status_kind: str
    facts: list[StateItem]


def integration_state(page: Page, integration: Integration) -> IntegrationState:
    """The plugin's description of the recorded state (``alertgate_describe_state``): its
    first badge is the status, e.g. a subscription's; else what the core knows."""
    state = integration.state if isinstance(integration.state, dict) else {}
    items = page.state.plugins.describe_state(integration.type, state)
    badge = next((item for item in items if item.status in BADGES), None)
    facts = [item for item in items if item is not badge]
    if badge is not None:
        return IntegrationState(badge.value, str(badge.status), facts)
    if not integration.enabled:
        return IntegrationState("Disabled", "off", facts)
    if integration.last_alert_at is not None:
        return IntegrationState("Receiving alerts", "ok", facts)
    return IntegrationState("Waiting for first message", "waiting", facts)


def _type_title(page: Page, slug: str) -> str:
    registered = page.state.plugins.types.get(slug)
    return registered.type.title if registered else f"{slug} (not installed)"


def service_integrations(page: Page) -> Response:
    service_id = page.path_int("service_id")
    with page.state.sessions() as s:
        service = admin.get_service(s, service_id, page.org_id)
        rows = []
        for integration in admin.list_integrations(s, page.org_id, service.id):
            known = integration_state(page, integration)
            rows.append(
                IntegrationRow(
                    integration,
                    _type_title(page, integration.type),
                    known.status,
                    known.status_kind,
                )
            )
    return page.render("service.html", service=service, tab="integrations", integrations=rows)


def service_incidents(page: Page) -> Response:
    service_id = page.path_int("service_id")
    with page.state.sessions() as s:
        service = admin.get_service(s, service_id, page.org_id)
        found = console_views.listing(page, s, service.id)
    return page.render("service.html", service=service, tab="incidents", **found)


# -- integrations --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TypeChoice:
    slug: str
    title: str
    description: str
    docs_url: str
    builtin: bool
    fields: list[Any]


def _type_choices(page: Page) -> list[TypeChoice]:
    choices = []
    for slug, registered in page.state.plugins.types.items():
        itype = registered.type
        choices.append(
            TypeChoice(
                slug=slug,
                title=itype.title,
                description=itype.description,
                docs_url=itype.docs_url,
                builtin=registered.plugin.builtin,
                fields=setting_fields(slug, itype.settings_model),
            )
        )
    # Built-ins first, then by title: the guide picks a built-in from the list.
    return sorted(choices, key=lambda c: (not c.builtin, c.title.lower()))


def new_integration(page: Page) -> Response:
    service_id = page.path_int("service_id")
    with page.state.sessions() as s:
        service = admin.get_service(s, service_id, page.org_id)
    choices = _type_choices(page)
    if page.request.method == "GET":
        return page.render(
            "integration_new.html",
            service=service,
            choices=choices,
            values={},
            chosen=page.request.query_params.get("type", ""),
            error=None,
        )
    slug = page.form.get("type", "")
    name = page.form.get("name", "").strip()
    chosen = next((c for c in choices if c.slug == slug), None)
    try:
        if chosen is None:
            raise FormError("Choose an integration type.")
        settings = settings_from_form(chosen.fields, page.form)
        with page.state.sessions.begin() as s:
            # Loaded again in this transaction; a failure rolls it back and expires it, so
            # the error page below uses the copy read above.
            target = admin.get_service(s, service_id, page.org_id)
            keyed = admin.create_integration(
                s, page.state.plugins, target, slug, name or None, settings
            )
            integration = keyed.integration
            audit.integration_created(s, page.org_id, _actor(page), integration)
    except (FormError, admin.InvalidInput) as exc:
        message = exc.message if isinstance(exc, admin.AdminError) else str(exc)
        return page.render(
            "integration_new.html",
            http_status=422,
            service=service,
            choices=choices,
            values=page.form,
            chosen=slug,
            error=message,
        )
    return _show_url(page, service, integration, keyed.key, rotated=False)


def _actor(page: Page) -> str:
    assert page.user is not None
    return page.user.actor


def _show_url(
    page: Page, service: Service, integration: Integration, key: str, *, rotated: bool
) -> HTMLResponse:
    """The one page that shows an Integration URL: it is not stored, only its hash."""
    return page.render(
        "integration_url.html",
        service=service,
        integration=integration,
        type_title=_type_title(page, integration.type),
        url=integration_url(page.state.settings.public_url, key),
        rotated=rotated,
    )


def service_integration(page: Page, s: Session) -> tuple[Service, Integration]:
    """The page's service and its integration (404 for another service's)."""
    service = admin.get_service(s, page.path_int("service_id"), page.org_id)
    integration = admin.get_integration(s, page.path_int("integration_id"), page.org_id)
    if integration.service_id != service.id:
        raise PageError(404, "Not found.")
    return service, integration


def integration_detail(page: Page) -> Response:
    with page.state.sessions() as s:
        service, integration = service_integration(page, s)
        alerts = list(
            admin.integration_alerts(
                s, integration.id, limit=INTEGRATION_LOG_LIMIT, newest_first=True
            )
        )
    known = integration_state(page, integration)
    return page.render(
        "integration.html",
        service=service,
        integration=integration,
        type_title=_type_title(page, integration.type),
        status=known.status,
        status_kind=known.status_kind,
        facts=known.facts,
        actions=page.state.plugins.integration_actions(integration.type, integration.state or {}),
        alerts=alerts,
    )


def rotate_integration_key(page: Page) -> Response:
    with page.state.sessions.begin() as s:
        service, integration = service_integration(page, s)
        keyed = admin.rotate_key(s, integration)
        audit.key_rotated(s, page.org_id, _actor(page), integration)
    page.state.cache.forget_integration(integration.id)
    return _show_url(page, service, keyed.integration, keyed.key, rotated=True)


def test_integration(page: Page) -> Response:
    """Send a test alert, then show the incident it made (or the integration's log)."""
    with page.state.sessions() as s:
        service, integration = service_integration(page, s)
        try:
            result = send_test_alert(s, page.state.engine, page.state.settings, integration)
        except admin.InvalidInput as exc:
            raise PageError(400, exc.message) from exc
    incidents = [row["incident"]["id"] for row in result.outcomes if row["incident"]]
    target = (
        f"/incidents/{incidents[0]}"
        if incidents
        else f"/services/{service.id}/integrations/{integration.id}"
    )
    return RedirectResponse(target, status_code=303)


# -- incidents -----------------------------------------------------------------------------


def _change_incident(page: Page, verb: console.Verb) -> Response:
    incident_id = page.path_int("incident_id")
    assert page.user is not None
    with page.state.sessions() as s:
        admin.get_incident(s, incident_id, page.org_id)  # 404 for other organizations
    (change,) = console.change_incidents(
        page.state.engine, page.state.sessions, page.org_id, [incident_id], verb, page.user.actor
    )
    done = "acknowledged" if verb == "acknowledge" else "resolved"
    if change.changed:
        page.flash(f"Incident #{incident_id} {done}.")
    else:
        page.flash(f"Incident #{incident_id} was already {change.status}.")
    back = page.form.get("next")
    return page.redirect(safe_next(back) if back else f"/incidents/{incident_id}")


def acknowledge(page: Page) -> Response:
    return _change_incident(page, "acknowledge")


def resolve(page: Page) -> Response:
    return _change_incident(page, "resolve")

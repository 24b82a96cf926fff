"""The notifications page: channels (secrets masked, "send a test notification"), routing
rules (with escalation) and silences (active ones, and those about to expire, stand out).
Every change goes through :mod:`alertgate.server.notify_admin`, like the API and CLI, and
so into the audit log as the signed-in user; a refused form comes back with each problem
next to its field (:mod:`alertgate.web.notify_forms`)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from starlette.responses import Response

from alertgate.notify.routing import RoutingCache
from alertgate.server import admin, notify_admin
from alertgate.server.notify_api import send_test
from alertgate.server.notify_schemas import DEFAULT_EVENTS, RULE_EVENTS
from alertgate.storage.schema import Organization, Service
from alertgate.web import notify_forms
from alertgate.web.app import Page
from alertgate.web.notify_forms import Errors

PATH = "/notifications"
SEVERITIES = ("info", "warning", "error", "critical")
MAX_MATCHER_LINES = 20


def _cache(page: Page) -> RoutingCache:
    return page.state.outbox.cache


def _actor(page: Page) -> str:
    assert page.user is not None
    return page.user.actor


def notifications(
    page: Page,
    error: str | None = None,
    status: int = 200,
    *,
    channel_errors: Errors | None = None,
    rule_errors: Errors | None = None,
) -> Response:
    now = datetime.now(UTC)
    with page.state.sessions() as s:
        channels = [
            notify_admin.channel_out(page.state.plugins, c)
            for c in notify_admin.list_channels(s, page.org_id)
        ]
        rules = notify_admin.list_rules(s, page.org_id)
        silences = notify_admin.list_silences(s, page.org_id)
        services = s.execute(
            select(Service.id, Service.name)
            .where(Service.organization_id == page.org_id)
            .order_by(Service.name)
        ).all()
    return page.render(
        "notifications.html",
        http_status=status,
        error=error,
        channels=channels,
        rules=rules,
        silences=silences,
        expiring={x.id for x in silences if notify_admin.expiring_soon(x, now)},
        services=services,
        channel_types=page.state.plugins.channel_types,
        events=RULE_EVENTS,
        default_events=DEFAULT_EVENTS,
        severities=SEVERITIES,
        # A refused form is shown again, open, with what was typed and each error.
        form=page.form,
        channel_errors=channel_errors or {},
        rule_errors=rule_errors or {},
        rate_limit_default=notify_admin.DEFAULT_RATE_LIMIT,
        settings_shown=notify_forms.settings_shown(
            page.form.get("settings", "{}"),
            {f for t in page.state.plugins.channel_types.values() for f in t.secret_fields},
        ),
    )


def _refused(page: Page, exc: admin.AdminError) -> Response:
    return notifications(page, error=exc.message, status=422)


def _channel_refused(page: Page, errors: Errors) -> Response:
    return notifications(page, status=422, channel_errors=errors)


def create_channel(page: Page) -> Response:
    body, errors = notify_forms.channel_input(page.form)
    if body is None:
        return _channel_refused(page, errors)
    try:
        with page.state.sessions.begin() as s:
            org = s.get(Organization, page.org_id)
            assert org is not None
            row = notify_admin.create_channel(
                s, page.state.plugins, page.state.settings.secret_key, org, body.type,
                body.name, body.settings, _cache(page), body.rate_limit_per_minute,
                actor=_actor(page),
            )  # fmt: skip
            name = row.name
    except admin.AdminError as exc:
        return _channel_refused(page, notify_forms.admin_error(exc, notify_forms.CHANNEL_FIELDS))
    page.flash(f"Channel {name} created.")
    return page.redirect(PATH)


def delete_channel(page: Page) -> Response:
    with page.state.sessions.begin() as s:
        row = notify_admin.get_channel(s, page.path_int("channel_id"), page.org_id)
        name = row.name
        notify_admin.delete_channel(s, row, _cache(page), actor=_actor(page))
    page.flash(f"Channel {name} deleted, with its rules.")
    return page.redirect(PATH)


def test_channel(page: Page) -> Response:
    with page.state.sessions() as s:
        row = notify_admin.get_channel(s, page.path_int("channel_id"), page.org_id)
        s.expunge(row)
    result = send_test(page.state.dispatcher, row, page.state.sessions, _actor(page))
    page.flash(
        f"Test notification sent through {row.name}."
        if result.ok
        else f"Test notification through {row.name} failed: {result.error}"
    )
    return page.redirect(PATH)


def create_rule(page: Page) -> Response:
    body, errors = notify_forms.rule_input(page.form)
    if body is None:
        return notifications(page, status=422, rule_errors=errors)
    try:
        with page.state.sessions.begin() as s:
            sid, org_id = body.service_id, page.org_id
            service = admin.get_service(s, sid, org_id) if sid else None
            channel = notify_admin.get_channel(s, body.channel_id, org_id)
            escalation = None
            if body.escalation is not None:
                try:
                    target = notify_admin.get_channel(s, body.escalation.channel_id, org_id)
                except admin.NotFound as exc:
                    errors = {"escalation_channel_id": exc.message}
                    return notifications(page, status=422, rule_errors=errors)
                escalation = (target, body.escalation)
            notify_admin.create_rule(
                s, org_id, service, channel, body.events, body.min_severity, _cache(page),
                escalation, actor=_actor(page),
            )  # fmt: skip
    except admin.AdminError as exc:
        errors = notify_forms.admin_error(exc, notify_forms.RULE_FIELDS)
        return notifications(page, status=422, rule_errors=errors)
    page.flash("Rule created.")
    return page.redirect(PATH)


def delete_rule(page: Page) -> Response:
    with page.state.sessions.begin() as s:
        rule = notify_admin.get_rule(s, page.path_int("rule_id"), page.org_id)
        notify_admin.delete_rule(s, rule, _cache(page), actor=_actor(page))
    page.flash("Rule deleted.")
    return page.redirect(PATH)


def create_silence(page: Page) -> Response:
    form = page.form
    matchers: dict[str, str] = {}
    for line in (form.get("matchers") or "").splitlines()[:MAX_MATCHER_LINES]:
        key, sep, glob = line.strip().partition("=")
        if sep:
            matchers[key.strip()] = glob.strip()
    try:
        ends = datetime.fromisoformat(form.get("ends_at", "")).replace(tzinfo=UTC)
        raw_service = form.get("service_id", "")
        with page.state.sessions.begin() as s:
            service = admin.get_service(s, int(raw_service), page.org_id) if raw_service else None
            notify_admin.create_silence(
                s, page.org_id, service, matchers, ends, comment=form.get("comment", ""),
                actor=_actor(page), cache=_cache(page),
            )  # fmt: skip
    except ValueError:
        return notifications(page, error="Give the end as a date and time (UTC).", status=422)
    except admin.AdminError as exc:
        return _refused(page, exc)
    page.flash("Silence created.")
    return page.redirect(PATH)


def expire_silence(page: Page) -> Response:
    with page.state.sessions.begin() as s:
        row = notify_admin.get_silence(s, page.path_int("silence_id"), page.org_id)
        notify_admin.expire_silence(s, row, _cache(page), actor=_actor(page))
    page.flash("Silence ended.")
    return page.redirect(PATH)

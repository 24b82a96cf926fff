"""The notifications page: channels (secrets masked, "send a test notification"), routing
rules (with escalation) and silences (active ones, and those about to expire, stand out).
Every change goes through :mod:`alertgate.server.notify_admin`, like the API and CLI, and
so into the audit log as the signed-in user; a refused form comes back with each problem
next to its field (:mod:`alertgate.web.notify_forms`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from alertgate.notify.routing import RoutingCache
from alertgate.server import admin, notify_admin
from alertgate.server.notify_api import send_test
from alertgate.server.notify_schemas import DEFAULT_EVENTS, RULE_EVENTS, EscalationIn
from alertgate.storage.schema import NotificationChannel, Organization, Service
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


@dataclass(frozen=True)
class Edit:
    """The edit form open on the page: a channel's or a rule's."""

    kind: str
    """``channel`` or ``rule``."""
    id: int
    title: str
    values: dict[str, str]
    errors: Errors = field(default_factory=dict)
    settings_text: str = ""
    secret_fields: list[str] = field(default_factory=list)


def notifications(
    page: Page,
    error: str | None = None,
    status: int = 200,
    *,
    channel_errors: Errors | None = None,
    rule_errors: Errors | None = None,
    edit: Edit | None = None,
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
        edit=edit,
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


def _secret_fields(page: Page, type_slug: str) -> list[str]:
    ctype = page.state.plugins.channel_types.get(type_slug)
    return sorted(ctype.secret_fields) if ctype else []


def _channel_edit(page: Page, errors: Errors | None = None) -> Edit:
    """The channel edit form: the stored values, or (refused) what was typed."""
    with page.state.sessions() as s:
        row = notify_admin.get_channel(s, page.path_int("channel_id"), page.org_id)
        out = notify_admin.channel_out(page.state.plugins, row)
    secret = _secret_fields(page, out.type)
    values, text = notify_forms.channel_values(out, secret)
    if errors:
        values = page.form
        text = notify_forms.settings_shown(page.form.get("settings", "{}"), secret)
    return Edit("channel", out.id, out.name, values, errors or {}, text, secret)


def edit_channel_form(page: Page) -> Response:
    return notifications(page, edit=_channel_edit(page))


def edit_channel(page: Page) -> Response:
    with page.state.sessions() as s:
        row = notify_admin.get_channel(s, page.path_int("channel_id"), page.org_id)
        secret = _secret_fields(page, row.type)
    body, errors = notify_forms.channel_update_input(page.form, secret)
    if body is None:
        return notifications(page, status=422, edit=_channel_edit(page, errors))
    try:
        with page.state.sessions.begin() as s:
            row = notify_admin.get_channel(s, page.path_int("channel_id"), page.org_id)
            changed = notify_admin.update_channel(
                s, page.state.plugins, page.state.settings.secret_key, row, _cache(page),
                name=body.name, settings=body.settings, enabled=body.enabled,
                rate_limit_per_minute=body.rate_limit_per_minute, actor=_actor(page),
            )  # fmt: skip
            name = row.name
    except admin.AdminError as exc:
        errors = notify_forms.admin_error(exc, notify_forms.CHANNEL_FIELDS)
        return notifications(page, status=422, edit=_channel_edit(page, errors))
    page.flash(f"Channel {name} updated." if changed else f"Channel {name} unchanged.")
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


def _escalation(
    s: Session, page: Page, escalation: EscalationIn | None
) -> tuple[NotificationChannel, EscalationIn] | None:
    """The escalation channel and timing of a rule form.

    :raises FieldError: The escalation channel is not found (said next to its field)."""
    if escalation is None:
        return None
    try:
        return notify_admin.get_channel(s, escalation.channel_id, page.org_id), escalation
    except admin.NotFound as exc:
        raise FieldError("escalation_channel_id", exc.message) from None


class FieldError(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.errors: Errors = {name: message}


def create_rule(page: Page) -> Response:
    body, errors = notify_forms.rule_input(page.form)
    if body is None:
        return notifications(page, status=422, rule_errors=errors)
    try:
        with page.state.sessions.begin() as s:
            sid, org_id = body.service_id, page.org_id
            service = admin.get_service(s, sid, org_id) if sid else None
            channel = notify_admin.get_channel(s, body.channel_id, org_id)
            notify_admin.create_rule(
                s, org_id, service, channel, body.events, body.min_severity, _cache(page),
                _escalation(s, page, body.escalation), actor=_actor(page),
            )  # fmt: skip
    except FieldError as exc:
        return notifications(page, status=422, rule_errors=exc.errors)
    except admin.AdminError as exc:
        errors = notify_forms.admin_error(exc, notify_forms.RULE_FIELDS)
        return notifications(page, status=422, rule_errors=errors)
    page.flash("Rule created.")
    return page.redirect(PATH)


def _rule_edit(page: Page, errors: Errors | None = None) -> Edit:
    """The rule edit form: the stored values, or (refused) what was typed."""
    rule_id = page.path_int("rule_id")
    with page.state.sessions() as s:
        notify_admin.get_rule(s, rule_id, page.org_id)  # 404 if not the org's
        out = next(r for r in notify_admin.list_rules(s, page.org_id) if r.id == rule_id)
    values = page.form if errors else notify_forms.rule_values(out)
    return Edit("rule", out.id, out.service or "organization default", values, errors or {})


def edit_rule_form(page: Page) -> Response:
    return notifications(page, edit=_rule_edit(page))


def edit_rule(page: Page) -> Response:
    body, errors = notify_forms.rule_update_input(page.form)
    if body is None:
        return notifications(page, status=422, edit=_rule_edit(page, errors))
    try:
        with page.state.sessions.begin() as s:
            rule = notify_admin.get_rule(s, page.path_int("rule_id"), page.org_id)
            channel_id = body.channel_id
            channel = notify_admin.get_channel(s, channel_id, page.org_id) if channel_id else None
            notify_admin.update_rule(
                s, rule, _cache(page), channel=channel, events=body.events,
                min_severity=body.min_severity, escalation=_escalation(s, page, body.escalation),
                actor=_actor(page),
            )  # fmt: skip
    except FieldError as exc:
        return notifications(page, status=422, edit=_rule_edit(page, exc.errors))
    except admin.AdminError as exc:
        errors = notify_forms.admin_error(exc, notify_forms.RULE_FIELDS)
        return notifications(page, status=422, edit=_rule_edit(page, errors))
    page.flash(f"Rule {page.path_int('rule_id')} updated.")
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

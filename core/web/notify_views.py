"""The notifications page: channels (secrets masked, "send a test notification"), routing
rules and silences (active ones, and those about to expire, stand out). Every change goes
through :mod:`alertgate.server.notify_admin`, like the API and CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select
from starlette.responses import Response

from alertgate.notify.routing import RoutingCache
from alertgate.server import admin, notify_admin
from alertgate.server.notify_api import send_test
from alertgate.server.notify_schemas import DEFAULT_EVENTS
from alertgate.storage.schema import Organization, Service
from alertgate.web.app import Page

PATH = "/notifications"
SEVERITIES = ("info", "warning", "error", "critical")
MAX_MATCHER_LINES = 20


def _cache(page: Page) -> RoutingCache:
    return page.state.outbox.cache


def notifications(page: Page, error: str | None = None, status: int = 200) -> Response:
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
        events=DEFAULT_EVENTS,
        severities=SEVERITIES,
        form=page.form,
    )


def _refused(page: Page, exc: admin.AdminError) -> Response:
    return notifications(page, error=exc.message, status=422)


def create_channel(page: Page) -> Response:
    form = page.form
    try:
        settings = json.loads(form.get("settings") or "{}")
        if not isinstance(settings, dict):
            raise ValueError("not an object")
    except ValueError:
        return notifications(page, error="Settings must be a JSON object.", status=422)
    try:
        with page.state.sessions.begin() as s:
            org = s.get(Organization, page.org_id)
            assert org is not None
            notify_admin.create_channel(
                s, page.state.plugins, page.state.settings.secret_key, org,
                form.get("type", ""), form.get("name", ""), settings, _cache(page),
            )  # fmt: skip
    except admin.AdminError as exc:
        return _refused(page, exc)
    page.flash(f"Channel {form.get('name', '').strip()} created.")
    return page.redirect(PATH)


def test_channel(page: Page) -> Response:
    with page.state.sessions() as s:
        row = notify_admin.get_channel(s, page.path_int("channel_id"), page.org_id)
        s.expunge(row)
    result = send_test(page.state.dispatcher, row)
    page.flash(
        f"Test notification sent through {row.name}."
        if result.ok
        else f"Test notification through {row.name} failed: {result.error}"
    )
    return page.redirect(PATH)


def create_rule(page: Page) -> Response:
    form = page.form
    events = [e for e in DEFAULT_EVENTS if form.get(f"event_{e}")]
    try:
        with page.state.sessions.begin() as s:
            raw_service = form.get("service_id", "")
            service = admin.get_service(s, int(raw_service), page.org_id) if raw_service else None
            channel = notify_admin.get_channel(s, int(form.get("channel_id") or 0), page.org_id)
            severity = form.get("min_severity", "info")
            if severity not in SEVERITIES:
                severity = "info"
            notify_admin.create_rule(
                s, page.org_id, service, channel, events or None, severity, _cache(page)
            )
    except ValueError:
        return notifications(page, error="Choose a service and a channel.", status=422)
    except admin.AdminError as exc:
        return _refused(page, exc)
    page.flash("Rule created.")
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
                actor=page.user.actor if page.user else "web", cache=_cache(page),
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
        notify_admin.expire_silence(s, row, _cache(page))
    page.flash("Silence ended.")
    return page.redirect(PATH)

"""Editing an integration in the UI: its name and settings, every error shown at once next
to its field, enabling or disabling it, and the actions its plugin offers. Each change goes
to the audit log."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from starlette.responses import Response

from alertgate.server import actions, admin, audit, console
from alertgate.web.app import Page
from alertgate.web.forms import FormError, SettingField, setting_fields, settings_from_form
from alertgate.web.views import service_integration


def form_values(fields: list[SettingField], settings: Mapping[str, Any]) -> dict[str, str]:
    """The form inputs showing ``settings`` (the inverse of settings_from_form)."""
    values: dict[str, str] = {}
    for f in fields:
        if f.key not in settings:
            continue
        value = settings[f.key]
        if f.widget == "checkbox":
            if value:
                values[f.name] = "true"
        elif f.widget == "lines":
            values[f.name] = "\n".join(str(v) for v in value or [])
        elif f.widget == "json":
            values[f.name] = "" if value is None else json.dumps(value, indent=2)
        else:
            values[f.name] = "" if value is None else str(value)
    return values


def field_errors(
    page: Page, slug: str, fields: list[SettingField], form: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings a form describes and every problem with them, by form field name."""
    errors: dict[str, str] = {}
    settings: dict[str, Any] = {}
    for f in fields:
        try:
            settings.update(settings_from_form([f], form))
        except FormError as exc:
            errors[f.name] = str(exc).split(": ", 1)[-1]
    if errors:
        return settings, errors
    by_key = {f.key: f for f in fields}
    try:
        page.state.plugins.validate_settings(slug, settings)
    except ValidationError as exc:
        for err in exc.errors():
            loc = err["loc"]
            target = by_key.get(str(loc[0])) if loc else None
            name = target.name if target else "settings"
            message = str(err["msg"])
            errors[name] = f"{errors[name]}; {message}" if name in errors else message
    return settings, errors


def edit(page: Page) -> Response:
    with page.state.sessions() as s:
        service, integration = service_integration(page, s)
    itype = page.state.plugins.get_type(integration.type)
    fields = setting_fields(integration.type, itype.settings_model)
    shown: dict[str, Any] = {
        "service": service,
        "integration": integration,
        "fields": fields,
        "type_title": itype.title,
        "docs_url": itype.docs_url,
    }
    if page.request.method == "GET":
        values = form_values(fields, integration.settings or {})
        return page.render(
            "integration_edit.html", values=values, errors={}, name=integration.name, **shown
        )
    name = page.form.get("name", "").strip()
    settings, errors = field_errors(page, integration.type, fields, page.form)
    if not name or len(name) > admin.NAME_MAX:
        errors["name"] = f"Give a name of 1 to {admin.NAME_MAX} characters."
    if errors:
        return page.render(
            "integration_edit.html",
            http_status=422,
            values=page.form,
            errors=errors,
            name=name,
            **shown,
        )
    assert page.user is not None
    with page.state.sessions.begin() as s:
        _service, target = service_integration(page, s)
        before, was = audit.before_update(target)
        admin.update_integration(s, page.state.plugins, target, name=name, settings=settings)
        audit.record_integration_update(s, page.org_id, page.user.actor, target, before, was)
    page.state.cache.clear()
    page.flash("Settings saved.")
    return page.redirect(f"/services/{service.id}/integrations/{integration.id}")


def _set_enabled(page: Page, enabled: bool) -> Response:
    assert page.user is not None
    with page.state.sessions.begin() as s:
        service, integration = service_integration(page, s)
        before, was = audit.before_update(integration)
        admin.update_integration(s, page.state.plugins, integration, enabled=enabled)
        audit.record_integration_update(s, page.org_id, page.user.actor, integration, before, was)
        where = f"/services/{service.id}/integrations/{integration.id}"
    page.state.cache.clear()
    page.flash(
        "Integration enabled: its URL accepts alerts again."
        if enabled
        else "Integration disabled: its URL answers 410 and stores nothing until enabled."
    )
    return page.redirect(where)


def enable(page: Page) -> Response:
    return _set_enabled(page, True)


def disable(page: Page) -> Response:
    return _set_enabled(page, False)


def delete(page: Page) -> Response:
    """GET states what deleting does (its alerts go, its incidents stay); POST does it."""
    assert page.user is not None
    if page.request.method == "GET":
        with page.state.sessions() as s:
            service, integration = service_integration(page, s)
            impact = admin.integration_impact(s, integration)
        return page.render(
            "integration_delete.html", service=service, integration=integration, impact=impact
        )
    with page.state.sessions.begin() as s:
        service, integration = service_integration(page, s)
        name, service_id = integration.name, service.id
        impact = console.delete_integration(s, page.org_id, page.user.actor, integration)
    page.state.cache.clear()
    page.flash(f"Integration {name!r} deleted with its {impact.alerts} alert(s).")
    return page.redirect(f"/services/{service_id}")


def run_action(page: Page) -> Response:
    """Run an action the integration's plugin offers (e.g. "Retry confirmation")."""
    assert page.user is not None
    with page.state.sessions() as s:
        service, integration = service_integration(page, s)
    where = f"/services/{service.id}/integrations/{integration.id}"
    try:
        result = actions.run_action(
            page.state.sessions,
            page.state.plugins,
            page.org_id,
            page.user.actor,
            integration.id,
            page.form.get("action", "")[:64],
        )
    except admin.Conflict as exc:
        page.flash(f"Nothing done: {exc.message}.")
        return page.redirect(where)
    page.state.cache.forget_integration(integration.id)
    page.flash(result.message)
    return page.redirect(where)

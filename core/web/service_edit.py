"""Editing and deleting a service in the UI, the way integrations are edited
(alertgate.web.integration_edit): every error next to its field, deleting only after
stating what goes with it. Each change goes to the audit log."""

from __future__ import annotations

from starlette.responses import Response

from alertgate.server import admin, console
from alertgate.web.app import Page


def edit(page: Page) -> Response:
    with page.state.sessions() as s:
        service = admin.get_service(s, page.path_int("service_id"), page.org_id)
    if page.request.method == "GET":
        shown = {"name": service.name, "description": service.description or ""}
        return page.render("service_edit.html", service=service, values=shown, errors={})
    values = {k: page.form.get(k, "") for k in ("name", "description")}
    errors: dict[str, str] = {}
    if not values["name"].strip() or len(values["name"].strip()) > admin.NAME_MAX:
        errors["name"] = f"Give a name of 1 to {admin.NAME_MAX} characters."
    if len(values["description"]) > admin.DESCRIPTION_MAX:
        errors["description"] = f"Keep it to {admin.DESCRIPTION_MAX} characters."
    assert page.user is not None
    if not errors:
        try:
            with page.state.sessions.begin() as s:
                target = admin.get_service(s, service.id, page.org_id)
                console.update_service(s, page.org_id, page.user.actor, target, **values)
        except admin.Conflict as exc:
            errors["name"] = exc.message
    if errors:
        return page.render(
            "service_edit.html", http_status=422, service=service, values=values, errors=errors
        )
    page.flash("Service saved.")
    return page.redirect(f"/services/{service.id}")


def delete(page: Page) -> Response:
    """GET states what deleting takes with it (integrations, incidents, alerts); POST does it."""
    assert page.user is not None
    if page.request.method == "GET":
        with page.state.sessions() as s:
            service = admin.get_service(s, page.path_int("service_id"), page.org_id)
            impact = admin.service_impact(s, service)
        return page.render("service_delete.html", service=service, impact=impact)
    with page.state.sessions.begin() as s:
        service = admin.get_service(s, page.path_int("service_id"), page.org_id)
        name = service.name
        impact = console.delete_service(s, page.org_id, page.user.actor, service)
    page.state.cache.clear()
    page.flash(
        f"Service {name!r} deleted with its {impact.integrations} integration(s) and "
        f"{impact.incidents} incident(s)."
    )
    return page.redirect("/services")

"""The web UI at ``/``: server-rendered Jinja2 pages plus a little hand-written JS and CSS.

The server's app factory mounts it with ``*alertgate.web.routes(settings)`` after its own
routes. Pages run on the same :class:`~alertgate.server.app.AppState` (database sessions,
plugins, engine) and the same admin functions as the API, scoped to the signed-in
token's organization. Nothing is fetched from another origin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from alertgate.settings import Settings
from alertgate.web import (
    audit_page,
    console_views,
    docs_links,
    incident_page,
    integration_edit,
    notify_views,
    service_edit,
    views,
)
from alertgate.web.app import WebUI

STATIC = Path(__file__).parent / "static"


def routes(settings: Settings) -> list[BaseRoute]:
    """The UI's routes, to be appended to the application's routes."""
    ui = WebUI(settings)
    page = ui.page
    get, both, post = ["GET"], ["GET", "POST"], ["POST"]
    svc = "/services/{service_id:int}"
    one = f"{svc}/integrations/{{integration_id:int}}"
    return [
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        Route(docs_links.PREFIX + "{path:path}", docs_links.serve_doc, methods=get),
        Route("/", page(views.home, auth=False), methods=get),
        Route("/login", page(views.login, auth=False), methods=both),
        Route("/setup", page(views.setup, auth=False, json=True), methods=both),
        Route("/logout", page(views.logout, auth=False), methods=post),
        Route("/services", page(views.services), methods=get),
        Route("/services/new", page(views.new_service), methods=both),
        Route(svc, page(views.service_integrations), methods=get),
        Route(f"{svc}/incidents", page(views.service_incidents), methods=get),
        Route(f"{svc}/edit", page(service_edit.edit), methods=both),
        Route(f"{svc}/delete", page(service_edit.delete), methods=both),
        Route(f"{svc}/integrations/new", page(views.new_integration), methods=both),
        Route(
            f"{svc}/integrations/{{integration_id:int}}",
            page(views.integration_detail),
            methods=get,
        ),
        Route(f"{one}/edit", page(integration_edit.edit), methods=both),
        Route(f"{one}/enable", page(integration_edit.enable), methods=post),
        Route(f"{one}/disable", page(integration_edit.disable), methods=post),
        Route(f"{one}/delete", page(integration_edit.delete), methods=both),
        Route(f"{one}/actions", page(integration_edit.run_action), methods=post),
        Route(
            f"{svc}/integrations/{{integration_id:int}}/rotate-key",
            page(views.rotate_integration_key),
            methods=post,
        ),
        Route(
            f"{svc}/integrations/{{integration_id:int}}/test",
            page(views.test_integration),
            methods=post,
        ),
        Route("/audit", page(audit_page.audit_log), methods=get),
        Route("/incidents", page(console_views.incidents), methods=get),
        Route("/incidents/rows", page(console_views.incident_rows, fragment=True), methods=get),
        Route("/incidents/acknowledge", page(console_views.acknowledge_selected), methods=post),
        Route("/incidents/resolve", page(console_views.resolve_selected), methods=post),
        Route("/incidents/{incident_id:int}", page(incident_page.incident_detail), methods=get),
        Route("/incidents/{incident_id:int}/notes", page(incident_page.add_note), methods=post),
        Route("/incidents/{incident_id:int}/acknowledge", page(views.acknowledge), methods=post),
        Route("/incidents/{incident_id:int}/resolve", page(views.resolve), methods=post),
        *notification_routes(page),
    ]


def notification_routes(page: Any) -> list[BaseRoute]:
    """Channels, rules and silences (alertgate.web.notify_views)."""
    nv, post = notify_views, ["POST"]
    return [
        Route(nv.PATH, page(nv.notifications), methods=["GET"]),
        Route(f"{nv.PATH}/channels", page(nv.create_channel), methods=post),
        Route(f"{nv.PATH}/channels/{{channel_id:int}}/test", page(nv.test_channel), methods=post),
        Route(
            f"{nv.PATH}/channels/{{channel_id:int}}/delete", page(nv.delete_channel), methods=post
        ),
        Route(f"{nv.PATH}/channels/{{channel_id:int}}/edit", page(nv.edit_channel_form)),
        Route(f"{nv.PATH}/channels/{{channel_id:int}}/edit", page(nv.edit_channel), methods=post),
        Route(f"{nv.PATH}/rules", page(nv.create_rule), methods=post),
        Route(f"{nv.PATH}/rules/{{rule_id:int}}/edit", page(nv.edit_rule_form)),
        Route(f"{nv.PATH}/rules/{{rule_id:int}}/edit", page(nv.edit_rule), methods=post),
        Route(f"{nv.PATH}/rules/{{rule_id:int}}/delete", page(nv.delete_rule), methods=post),
        Route(f"{nv.PATH}/silences", page(nv.create_silence), methods=post),
        Route(
            f"{nv.PATH}/silences/{{silence_id:int}}/expire",
            page(nv.expire_silence),
            methods=post,
        ),
    ]


__all__ = ["routes"]

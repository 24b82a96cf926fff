"""The acknowledge link carried by notifications (see :mod:`alertgate.notify.acklink`).

GET shows what the link acknowledges and a button; the POST acknowledges. The incident's
``acknowledged_by`` records ``ack-link`` and, when given, the responder's name; the
acknowledgement goes in the organization's audit log like one made in the UI or API.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from alertgate.notify import acklink
from alertgate.server import console
from alertgate.server.admin import NotFound

if TYPE_CHECKING:
    from alertgate.server.app import AppState

ACK_ACTOR = "ack-link"


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>",
        status_code=status,
    )


def _verified(request: Request) -> tuple[int, int, str] | None:
    state: AppState = request.app.state.alertgate
    key = state.settings.secret_key
    try:
        incident_id = int(request.path_params["incident_id"])
        expires = int(request.query_params.get("expires", ""))
    except ValueError:
        return None
    sig = request.query_params.get("sig", "")[:100]
    if key is None or not acklink.verify(key, incident_id, expires, sig, datetime.now(UTC)):
        return None
    return incident_id, expires, sig


async def ack_link(request: Request) -> Response:
    checked = _verified(request)
    if checked is None:
        return _page("Link invalid or expired", "<p>Acknowledge from the web UI instead.</p>", 403)
    incident_id, expires, sig = checked
    if request.method == "GET":
        action = html.escape(f"{acklink.ACK_PATH}/{incident_id}?expires={expires}&sig={sig}")
        return _page(
            f"Acknowledge incident {incident_id}?",
            f"<form method='post' action='{action}'><label>Your name "
            "<input name='who' maxlength='100'></label> "
            "<button type='submit'>Acknowledge</button></form>",
        )
    form = await request.form()
    who = str(form.get("who") or "").strip()[:100]
    actor = f"{ACK_ACTOR}:{who}" if who else ACK_ACTOR
    state: AppState = request.app.state.alertgate
    try:
        (change,) = await run_in_threadpool(
            console.change_incidents,
            state.engine,
            state.sessions,
            None,
            [incident_id],
            "acknowledge",
            actor,
        )
    except NotFound:
        return _page("No such incident", "", 404)
    verdict = "acknowledged" if change.changed else f"already {change.status}"
    return _page(f"Incident {incident_id} {verdict}", "")

"""The organization's audit log in the UI, newest first, paged by cursor."""

from __future__ import annotations

import json

from starlette.responses import Response

from alertgate.server import admin, audit
from alertgate.web.app import Page, PageError

PAGE_SIZE = 50


def audit_log(page: Page) -> Response:
    cursor = page.request.query_params.get("cursor") or None
    with page.state.sessions() as s:
        try:
            events, next_cursor = audit.list_events(s, page.org_id, limit=PAGE_SIZE, after=cursor)
        except admin.InvalidInput:
            raise PageError(400, "This page link is no longer valid.") from None
        rows = [
            {
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "object_type": e.object_type,
                "object_id": e.object_id,
                "detail": json.dumps(e.detail, sort_keys=True) if e.detail else "",
            }
            for e in events
        ]
    return page.render("audit.html", events=rows, next_cursor=next_cursor, first=cursor is None)

"""The incidents list of the web UI: cursor pages, filters, sort, acting on one or many.

The list reads its filters from the query string, so a filtered page is a link; the table
body is also served alone (``/incidents/rows``) for app.js to poll while the first page is
shown.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from alertgate.server import admin, console
from alertgate.web.app import Page, PageError, safe_next

PAGE_SIZE = 50
STATUS_FILTERS = ("", "open", "triggered", "acknowledged", "resolved")
SEVERITIES = ("", "critical", "error", "warning", "info")
SORT_LABELS = {"newest": "Last alert, newest first", "oldest": "Last alert, oldest first",
               "opened": "Opened, newest first"}  # fmt: skip
BULK_PREFIX = "incident-"


def _param(page: Page, name: str, allowed: tuple[str, ...]) -> str:
    value = page.request.query_params.get(name, "")
    return value if value in allowed else ""


def _service(page: Page) -> int | None:
    raw = page.request.query_params.get("service", "")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) <= admin.MAX_ID else None


def listing(page: Page, s: Any, service_id: int | None) -> dict[str, Any]:
    """The page of incidents the query string asks for, and what the template needs to
    show the filters, the count and the links to other pages."""
    status = _param(page, "status", STATUS_FILTERS)
    severity = _param(page, "severity", SEVERITIES)
    q = page.request.query_params.get("q", "").strip()[:200]
    sort = _param(page, "sort", console.SORTS) or "newest"
    cursor = page.request.query_params.get("cursor") or None
    f = console.IncidentFilter(service_id, status or None, severity or None, None, q or None)
    try:
        found = console.list_incidents(
            s,
            page.org_id,
            f,
            limit=PAGE_SIZE,
            after=cursor,
            sort=sort,  # type: ignore[arg-type]
        )
    except admin.InvalidInput:
        raise PageError(
            400, "This page link is no longer valid: go back to the first page."
        ) from None
    query = {"status": status, "severity": severity, "q": q, "sort": sort}
    if service_id is not None:
        query["service"] = str(service_id)
    base = urlencode({k: v for k, v in query.items() if v})
    next_query = urlencode(
        {**{k: v for k, v in query.items() if v}, "cursor": found.next_cursor or ""}
    )
    return {
        "incidents": found.items,
        "total": found.total,
        "service_names": admin.service_names(s, {i.service_id for i in found.items}),
        "status": status,
        "severity": severity,
        "q": q,
        "sort": sort,
        "sorts": SORT_LABELS,
        "severities": SEVERITIES,
        "first_page": cursor is None,
        "filter_query": base,
        "next_query": next_query if found.next_cursor else None,
        "here": page.request.url.path
        + ("?" + page.request.url.query if page.request.url.query else ""),
    }


def incidents(page: Page) -> Response:
    service_id = _service(page)
    with page.state.sessions() as s:
        services = admin.list_services(s, page.org_id)
        if service_id is not None and service_id not in {x.id for x in services}:
            service_id = None
        found = listing(page, s, service_id)
    return page.render("incidents.html", services=services, service_id=service_id, **found)


def incident_rows(page: Page) -> Response:
    """The table body of the first page, polled by app.js so the list stays current."""
    service_id = _service(page)
    with page.state.sessions() as s:
        found = listing(page, s, service_id)
    response = page.render("_incident_rows.html", show_service=service_id is None, **found)
    response.headers["X-Total-Count"] = str(found["total"])
    return response


def _selected(page: Page) -> list[int]:
    ids = []
    for key in page.form:
        raw = key[len(BULK_PREFIX) :] if key.startswith(BULK_PREFIX) else ""
        if raw.isascii() and raw.isdigit() and 0 < int(raw) <= admin.MAX_ID:
            ids.append(int(raw))
    return ids


def _change_selected(page: Page, verb: console.Verb) -> Response:
    assert page.user is not None
    back = safe_next(page.form.get("next"))
    ids = _selected(page)
    if not ids:
        page.flash("Select at least one incident first.")
        return page.redirect(back)
    if len(ids) > console.BULK_MAX:
        page.flash(f"Select at most {console.BULK_MAX} incidents at a time.")
        return page.redirect(back)
    results = console.change_incidents(
        page.state.engine, page.state.sessions, page.org_id, ids, verb, page.user.actor
    )
    done = "acknowledged" if verb == "acknowledge" else "resolved"
    changed = sum(r.changed for r in results)
    left = len(results) - changed
    message = f"{changed} incident{'' if changed == 1 else 's'} {done}."
    if left:
        message += f" {left} already {done} or resolved, left as they were."
    page.flash(message)
    return page.redirect(back)


def acknowledge_selected(page: Page) -> Response:
    return _change_selected(page, "acknowledge")


def resolve_selected(page: Page) -> Response:
    return _change_selected(page, "resolve")

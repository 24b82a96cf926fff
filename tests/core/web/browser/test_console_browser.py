"""The incident console in Chromium: the list (live state, focus kept across refreshes,
changed rows, bulk acknowledge), the paged incident page and the settings editor, each
checked for accessibility problems in light and dark, on a desktop and at 375 px.

The accessibility check is Python-side (no axe-core download): one ``h1``, ``lang``, a
``main`` landmark, every control labelled, unique ids, every ``aria-describedby`` /
``aria-labelledby`` pointing at an element, every ``aria-invalid`` field described, and no
sideways scrolling at phone width.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from alertgate.registry import load_plugins
from alertgate.server import admin
from alertgate.storage.schema import Integration
from tests.console_support import ingest, trigger
from tests.core.web.browser.support import UiServer, fits_width, unlabelled_controls

pytestmark = pytest.mark.browser
WAIT_MS = 20_000
T0 = datetime(2026, 12, 1, tzinfo=UTC)
LONG_TITLE = "Disk almost full on " + "a-very-long-host-name-" * 8


def a11y_problems(page: Any) -> list[str]:
    problems = [f"unlabelled: {c}" for c in unlabelled_controls(page)]
    problems += page.evaluate(
        """() => {
        const out = [];
        if (document.querySelectorAll('h1').length !== 1) out.push('h1 count');
        if (!document.documentElement.lang) out.push('no lang');
        if (!document.querySelector('main')) out.push('no main landmark');
        const ids = {};
        document.querySelectorAll('[id]').forEach(e => {
            if (ids[e.id]) out.push('duplicate id ' + e.id); ids[e.id] = true; });
        document.querySelectorAll('[aria-describedby],[aria-labelledby]').forEach(e => {
            for (const a of ['aria-describedby', 'aria-labelledby']) {
                for (const id of (e.getAttribute(a) || '').split(/\\s+/).filter(Boolean)) {
                    if (!document.getElementById(id)) out.push(a + ' -> missing ' + id);
                }
            }
        });
        document.querySelectorAll('[aria-invalid=true]').forEach(e => {
            if (!e.getAttribute('aria-describedby')) out.push('invalid, undescribed ' + e.id);
        });
        document.querySelectorAll('img:not([alt])').forEach(e => out.push('img without alt'));
        return out;
    }"""
    )
    return list(problems)


def _ingest(server: UiServer, alerts_of: list[tuple[int, str, str]]) -> None:
    with server.sessions()() as s:
        integration = s.scalars(select(Integration)).first()
        assert integration is not None
        ids = (integration.id, integration.service_id)
    alerts = (trigger(n, fp, title, f"Host: web-1\nValue: {n}") for n, fp, title in alerts_of)
    ingest(server.engine, *ids, alerts)


@pytest.fixture
def console(ui_server: UiServer) -> Iterator[tuple[UiServer, str]]:
    with ui_server.sessions().begin() as s:
        service = admin.create_service(s, admin.ensure_organization(s, "acme"), "payments")
        admin.create_integration(s, load_plugins(), service, "aws_cloudwatch", "alarms")
    _ingest(ui_server, [(n, "big", "CPU high") for n in range(60)])
    _ingest(ui_server, [(100 + n, f"f{n}", f"{LONG_TITLE}{n}") for n in range(5)])
    yield ui_server, ui_server.new_token("acme")


def _sign_in(browser: Any, server: UiServer, token: str, **context: Any) -> tuple[Any, Any]:
    ctx = browser.new_context(**context)
    page = ctx.new_page()
    page.goto(server.base_url + "/login")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(server.base_url + "/incidents")
    return ctx, page


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 375])
def test_console_pages_are_accessible_and_fit(
    browser: Any, console: tuple[UiServer, str], scheme: str, width: int
) -> None:
    server, token = console
    ctx, page = _sign_in(
        browser,
        server,
        token,
        viewport={"width": width, "height": 800},
        color_scheme=scheme,
        is_mobile=width < 600,
    )
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    paths = (
        "/incidents",
        "/incidents/1",
        "/incidents/2",
        "/services/1/integrations/1/edit",
        "/audit",
        "/nowhere",
    )
    for path in paths:
        page.goto(server.base_url + path)
        assert a11y_problems(page) == [], path
        assert fits_width(page), path
    page.goto(server.base_url + "/incidents/1")
    expect(page.get_by_text("Showing 50 of 60 alerts")).to_be_visible()
    page.get_by_role("link", name="Load older alerts").click()
    expect(page.get_by_text("Showing 60 of 60 alerts")).to_be_visible()
    assert errors == []
    ctx.close()


def test_live_list_keeps_focus_marks_changes_and_shows_disconnection(
    browser: Any, console: tuple[UiServer, str]
) -> None:
    server, token = console
    ctx, page = _sign_in(browser, server, token, viewport={"width": 1280, "height": 800})
    live = page.locator("[data-live]")
    expect(live).to_have_text("Live: updates every few seconds")
    box = page.locator("#select-2")
    box.check()
    box.focus()
    _ingest(server, [(200, "f0", f"{LONG_TITLE}0")])  # incident 2 gets another alert
    expect(page.locator('tr[data-incident="2"]')).to_have_class("changed", timeout=WAIT_MS)
    expect(page.locator("#select-2")).to_be_focused()
    expect(page.locator("#select-2")).to_be_checked()
    expect(page.locator('tr[data-incident="3"]')).not_to_have_class("changed")

    page.route("**/incidents/rows*", lambda route: route.abort())
    expect(live).to_have_text("Disconnected, retrying…", timeout=WAIT_MS)
    expect(live).to_have_class("live disconnected")
    page.unroute("**/incidents/rows*")
    expect(live).to_have_text("Live: updates every few seconds", timeout=WAIT_MS)

    page.locator("#select-3").check()
    page.get_by_role("button", name="Acknowledge selected").click()
    expect(page.get_by_role("status").first).to_contain_text("2 incidents acknowledged.")
    expect(page.locator('tr[data-incident="2"]')).to_have_attribute("data-status", "acknowledged")
    ctx.close()

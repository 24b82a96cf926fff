"""The incident console in Chromium: the list (live state, focus kept across refreshes,
changed rows, bulk acknowledge), the paged incident page, and every page of the console
checked for accessibility in light and dark, on a desktop and at 375 px.

The accessibility check is axe-core itself (the axe.min.js that the axe-playwright-python
wheel ships, run in the page), complemented by a few checks of our own that axe leaves to
judgement: one ``h1``, every ``aria-invalid`` field described by its message, and no
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
from tests.core.web.browser.support import (
    TOPIC_ARN,
    UiServer,
    axe_violations,
    fits_width,
    unlabelled_controls,
)

pytestmark = pytest.mark.browser
WAIT_MS = 20_000
T0 = datetime(2026, 12, 1, tzinfo=UTC)
LONG_TITLE = "Disk almost full on " + "a-very-long-host-name-" * 8
SUBSCRIBE_URL = (
    "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
    f"&TopicArn={TOPIC_ARN}&Token=" + "ab" * 32
)


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
        keyed = admin.create_integration(s, load_plugins(), service, "aws_cloudwatch", "alarms")
        # A pending subscription, so its page shows the plugin's "Retry confirmation".
        keyed.integration.state = {"sns": {"status": "pending", "topic_arn": TOPIC_ARN,
                                           "_subscribe_url": SUBSCRIBE_URL}}  # fmt: skip
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


PAGES = (
    "/incidents",
    "/incidents?status=open&q=disk",
    "/incidents/1",
    "/incidents/2",
    "/services",
    "/services/new",
    "/services/1",
    "/services/1/incidents",
    "/services/1/edit",
    "/services/1/delete",
    "/services/1/integrations/new",
    "/services/1/integrations/1",
    "/services/1/integrations/1/edit",
    "/services/1/integrations/1/delete",
    "/notifications",
    "/audit",
    "/nowhere",
)
"""Every page of the console, signed in (the sign-in page is checked on the way in)."""


def _check(page: Any, where: str, failures: dict[str, list[str]]) -> None:
    problems = axe_violations(page) + a11y_problems(page)
    if not fits_width(page):
        problems.append("scrolls sideways")
    if problems:
        failures[where] = problems


def test_every_console_page_passes_axe_in_light_and_dark_on_desktop_and_phone(
    browser: Any, console: tuple[UiServer, str]
) -> None:
    """axe-core on every page, light and dark, 1280 and 375 px; plus the form with every
    error shown. One server and one browser for the 4 combinations, all failures at once."""
    server, token = console
    failures: dict[str, list[str]] = {}
    page_of_integration = server.base_url + "/services/1/integrations/1"
    for scheme in ("light", "dark"):
        for width in (1280, 375):
            combo = f"{scheme} {width}px"
            ctx = browser.new_context(
                viewport={"width": width, "height": 800},
                color_scheme=scheme,
                is_mobile=width < 600,
            )
            page = ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.goto(server.base_url + "/login")
            _check(page, f"{combo} /login", failures)
            page.get_by_label("API token").fill(token)
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(server.base_url + "/incidents")
            for path in PAGES:
                page.goto(server.base_url + path)
                _check(page, f"{combo} {path}", failures)
                if page.url == page_of_integration:
                    expect(page.get_by_role("button", name="Retry confirmation")).to_be_visible()
            # A form showing every error next to its field.
            page.goto(server.base_url + "/services/1/integrations/1/edit")
            page.get_by_label("Name", exact=True).fill("")
            page.get_by_label("Oldest message accepted, in seconds").fill("-1")
            page.get_by_role("button", name="Save").click()
            expect(page.locator("[aria-invalid=true]")).to_have_count(2)
            _check(page, f"{combo} edit with errors", failures)
            assert errors == [], combo
            ctx.close()
    assert failures == {}


def test_the_timeline_loads_older_alerts(browser: Any, console: tuple[UiServer, str]) -> None:
    server, token = console
    ctx, page = _sign_in(browser, server, token, viewport={"width": 1280, "height": 800})
    page.goto(server.base_url + "/incidents/1")
    expect(page.get_by_text("Showing 50 of 60 alerts")).to_be_visible()
    page.get_by_role("link", name="Load older alerts").click()
    expect(page.get_by_text("Showing 60 of 60 alerts")).to_be_visible()
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

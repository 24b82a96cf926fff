"""The notifications page in Chromium: the rule form's escalation fields and the channel
form's rate limit, each error next to its field (aria-invalid, described), what was typed
kept (but never a secret); active, expiring and scheduled silences told apart; accessible
at desktop and phone width."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from alertgate.registry import load_plugins
from alertgate.server import admin, notify_admin
from tests.core.web.browser.support import UiServer, fits_width
from tests.core.web.browser.test_console_browser import _sign_in, a11y_problems

pytestmark = pytest.mark.browser
URL = "http://127.0.0.1:9/hook"


@pytest.fixture
def notify_ui(ui_server: UiServer) -> Iterator[tuple[UiServer, str]]:
    """A service, two channels and three silences: ending in 20 minutes, in a day, and
    one not started yet."""
    plugins = load_plugins()
    now = datetime.now(UTC)
    with ui_server.sessions().begin() as s:
        org = admin.ensure_organization(s, "acme")
        service = admin.create_service(s, org, "payments")
        for name in ("chat", "pager"):
            notify_admin.create_channel(
                s, plugins, None, org, "webhook", name, {"url": URL}, actor="test"
            )
        for comment, starts, ends in (
            ("short window", None, now + timedelta(minutes=20)),
            ("long window", None, now + timedelta(days=1)),
            ("next week", now + timedelta(days=7), now + timedelta(days=8)),
        ):
            notify_admin.create_silence(
                s, org.id, service, {"title": "Deploy*"}, ends, starts_at=starts,
                comment=comment, actor="test",
            )  # fmt: skip
    yield ui_server, ui_server.new_token("acme")


def _invalid(page: Any, field_id: str, message: str) -> None:
    field = page.locator(f"#{field_id}")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#{field_id}-error")).to_contain_text(message)
    assert f"{field_id}-error" in (field.get_attribute("aria-describedby") or "")


def test_rule_form_escalation_and_channel_rate_limit(
    browser: Any, notify_ui: tuple[UiServer, str]
) -> None:
    server, token = notify_ui
    ctx, page = _sign_in(browser, server, token, viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.base_url + "/notifications")
    assert a11y_problems(page) == []

    # Silences: which are in force, which end soon, which are yet to come.
    rows = page.locator("tr.silence")
    expect(rows.filter(has_text="short window")).to_contain_text("expires soon")
    expect(rows.filter(has_text="long window")).to_contain_text("active")
    expect(rows.filter(has_text="next week")).to_contain_text("scheduled")

    # The rule form: out-of-range escalation numbers, each reported at its field.
    rules = page.get_by_role("region", name="Routing rules")
    rules.get_by_text("New rule").click()
    rules.get_by_label("Service", exact=True).select_option(label="payments")
    rules.get_by_label("renotified").check()
    rules.get_by_label("Channel", exact=True).select_option(label="chat")
    rules.get_by_label("Escalation channel").select_option(label="pager")
    rules.get_by_label("After (minutes)").fill("0")
    rules.get_by_label("At most (times)").fill("500")
    rules.get_by_role("button", name="Create rule").click()
    expect(page.get_by_role("alert")).to_contain_text("2 fields need attention")
    _invalid(page, "rule-escalate-after", "greater than or equal to 1")
    _invalid(page, "rule-escalate-times", "less than or equal to 100")
    expect(rules.get_by_label("renotified")).to_be_checked()
    chosen = rules.get_by_label("Escalation channel").evaluate(
        "e => e.options[e.selectedIndex].text"
    )
    assert chosen == "pager"
    assert a11y_problems(page) == []

    # Times without a channel to escalate to.
    rules.get_by_label("Escalation channel").select_option(label="no escalation")
    rules.get_by_label("After (minutes)").fill("10")
    rules.get_by_label("At most (times)").fill("1")
    rules.get_by_role("button", name="Create rule").click()
    _invalid(page, "rule-escalation-channel", "Choose the channel to escalate to")

    # renotified without an escalation: refused by the rules, next to the events.
    rules.get_by_label("After (minutes)").fill("")
    rules.get_by_role("button", name="Create rule").click()
    expect(page.locator("#rule-events-error")).to_contain_text("renotified needs an escalation")
    expect(rules.get_by_label("renotified")).to_have_attribute("aria-invalid", "true")
    assert a11y_problems(page) == []

    rules.get_by_label("Escalation channel").select_option(label="pager")
    rules.get_by_label("After (minutes)").fill("15")
    rules.get_by_label("At most (times)").fill("3")
    rules.get_by_role("button", name="Create rule").click()
    expect(page.get_by_text("Rule created.")).to_be_visible()
    rule = page.locator("#rules-heading + table tbody tr")
    expect(rule).to_contain_text("opened, acknowledged, resolved, renotified")
    expect(rule).to_contain_text("to pager after 15 min, every 15 min, at most 3 times")

    # The channel form: a rate limit out of range; the typed secret is not echoed.
    chans = page.get_by_role("region", name="Channels")
    chans.get_by_text("New channel").click()
    chans.get_by_label("Type").select_option(value="webhook")
    chans.get_by_label("Name", exact=True).fill("ops")
    settings = json.dumps({"url": URL, "secret": "typed-secret-value"})
    chans.get_by_label("Settings (JSON)").fill(settings)
    chans.get_by_label("Rate limit (messages a minute)").fill("-1")
    chans.get_by_role("button", name="Create channel").click()
    _invalid(page, "channel-rate-limit", "greater than or equal to 0")
    expect(chans.get_by_label("Name", exact=True)).to_have_value("ops")
    expect(chans.get_by_label("Type")).to_have_value("webhook")
    assert "typed-secret-value" not in page.content()
    assert a11y_problems(page) == []

    chans.get_by_label("Settings (JSON)").fill("{not json")
    chans.get_by_label("Rate limit (messages a minute)").fill("5")
    chans.get_by_role("button", name="Create channel").click()
    _invalid(page, "channel-settings", "Not valid JSON")

    chans.get_by_label("Settings (JSON)").fill(json.dumps({"url": URL}))
    chans.get_by_role("button", name="Create channel").click()
    expect(page.get_by_text("Channel ops created.")).to_be_visible()
    expect(page.locator("#channels-heading + table tbody tr", has_text="ops")).to_contain_text(
        "5 a minute"
    )
    assert errors == []
    ctx.close()


@pytest.mark.parametrize("width", [1280, 375])
def test_notifications_page_is_accessible_and_fits(
    browser: Any, notify_ui: tuple[UiServer, str], width: int
) -> None:
    server, token = notify_ui
    ctx, page = _sign_in(
        browser, server, token, viewport={"width": width, "height": 800}, is_mobile=width < 600
    )
    page.goto(server.base_url + "/notifications")
    for summary in ("New silence", "New channel", "New rule"):
        page.get_by_text(summary).click()
    assert a11y_problems(page) == []
    assert fits_width(page)
    ctx.close()


def test_edit_a_channel_and_a_rule(browser: Any, notify_ui: tuple[UiServer, str]) -> None:
    """The Edit forms: filled with what is stored (a secret field blank, to keep), an error
    next to its field, then saved."""
    server, token = notify_ui
    with server.sessions().begin() as s:
        chat = notify_admin.find_channel(s, "chat", None)
        notify_admin.create_rule(s, chat.organization_id, None, chat, None, "info", actor="test")
    ctx, page = _sign_in(browser, server, token, viewport={"width": 1280, "height": 900})
    page.goto(server.base_url + "/notifications")
    page.get_by_role("link", name="Edit channel chat").click()
    form = page.get_by_role("region", name="Edit channel chat")
    expect(form.get_by_label("Name", exact=True)).to_have_value("chat")
    expect(form.get_by_label("Settings (JSON)")).to_have_value(
        json.dumps({"url": URL, "secret": ""}, indent=2)
    )
    expect(form).to_contain_text("leave blank to keep the stored value")
    form.get_by_label("Name", exact=True).fill("chat-ops")
    form.get_by_label("Rate limit (messages a minute)").fill("-1")
    form.get_by_role("button", name="Save channel").click()
    _invalid(page, "edit-channel-rate-limit", "greater than or equal to 0")
    expect(page.get_by_label("Name", exact=True).first).to_have_value("chat-ops")
    assert a11y_problems(page) == []
    page.locator("#edit-channel-rate-limit").fill("3")
    page.get_by_label("Enabled").uncheck()
    page.get_by_role("button", name="Save channel").click()
    expect(page.get_by_text("Channel chat-ops updated.")).to_be_visible()
    row = page.locator("#channels-heading + table tbody tr", has_text="chat-ops")
    expect(row).to_contain_text("3 a minute")
    expect(row).to_contain_text("disabled")

    page.get_by_role("link", name="Edit rule").click()
    rule_form = page.get_by_role("region", name="Edit rule")
    expect(rule_form.get_by_label("Channel", exact=True)).to_have_value(str(chat.id))
    rule_form.get_by_label("Minimum severity").select_option("critical")
    rule_form.get_by_label("Channel", exact=True).select_option(label="pager")
    rule_form.get_by_role("button", name="Save rule").click()
    rule = page.locator("#rules-heading + table tbody tr")
    expect(rule).to_contain_text("critical")
    expect(rule).to_contain_text("pager")
    ctx.close()

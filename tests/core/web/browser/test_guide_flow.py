"""The guide's flow in a real browser: first-run set-up, sign-in, service, New Integration,
copy the Integration URL; then signed SNS deliveries to that URL open an incident that
appears on the incidents page without a reload, the OK resolves it, and a user of another
organization sees none of it."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from alertgate.plugins.aws_sns.signer import SnsSigner
from tests.core.web.browser.support import (
    TOPIC_ARN,
    UiServer,
    alarm_message,
    axe_violations,
    fits_width,
    post_sns,
    shot,
    unlabelled_controls,
)

pytestmark = pytest.mark.browser
WAIT_MS = 20_000
"""Upper bound for the list's polling (every 3 s) to show a change; not a timing claim."""


def check_page(page: Any) -> None:
    """What every page must get right: one h1, every control labelled, nothing axe-core
    finds wrong."""
    assert page.locator("h1").count() == 1, page.url
    assert unlabelled_controls(page) == [], page.url
    assert axe_violations(page) == [], page.url


def test_guide_flow_in_the_browser(browser: Any, ui_server: UiServer) -> None:
    base = ui_server.base_url
    # The guide's built-in.
    slug, title = "aws_cloudtrail", "AWS CloudTrail"
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = context.new_page()
    # CSP violations, failed asset loads and script errors all surface as console errors.
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console_errors.append(str(e)))

    # First run: an empty database sends the first visitor to the set-up page.
    page.goto(base + "/")
    expect(page).to_have_url(base + "/setup")
    check_page(page)
    shot(page, "setup")
    page.get_by_label("Set-up code").fill(ui_server.setup_code())
    page.get_by_label("Organization name").fill("acme")
    page.get_by_label("Token name").fill("alice")
    page.get_by_role("button", name="Create organization and token").click()
    expect(page.get_by_role("heading", name="Your API token")).to_be_visible()
    token = page.get_by_label("API token").input_value()
    assert token.startswith("agt_")

    # The session cookie is signed, HttpOnly and SameSite=Lax.
    cookie = next(c for c in context.cookies() if c["name"] == "alertgate_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    assert token not in cookie["value"]

    # Sign out, then sign in with the token, using the keyboard only.
    page.get_by_role("link", name="Continue to Services").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(base + "/login")
    check_page(page)
    shot(page, "sign-in")
    page.get_by_label("API token").focus()
    page.keyboard.type(token)
    page.keyboard.press("Enter")
    expect(page).to_have_url(base + "/incidents")

    # Configurations > Services > New service.
    page.get_by_role("link", name="Services", exact=True).click()
    expect(page.get_by_role("heading", name="Services")).to_be_visible()
    page.get_by_role("link", name="New service").click()
    check_page(page)
    page.get_by_label("Name").fill("payments")
    page.get_by_label("Description").fill("Card payments API")
    page.get_by_role("button", name="Create service").click()
    expect(page.get_by_role("heading", name="payments")).to_be_visible()
    expect(page.get_by_role("link", name="Integrations")).to_have_attribute("aria-current", "page")

    # Integrations tab > New Integration > name it > pick the built-in > Save.
    page.get_by_role("link", name="New Integration").click()
    check_page(page)
    choices = page.locator(".type-choice .type-title").all_inner_texts()
    assert "AWS CloudTrail" in choices and "AWS CloudWatch" in choices
    page.get_by_label("Integration name").fill("CloudTrail alarms")
    page.get_by_role("radio", name=title, exact=True).check()
    # The chosen type's settings, rendered from its settings model, are offered (folded).
    settings_panel = page.locator(f'[data-type-settings="{slug}"]')
    expect(settings_panel).to_be_visible()
    expect(page.locator("[data-type-settings]:not([hidden])")).to_have_count(1)
    settings_panel.locator("summary").click()
    expect(settings_panel.get_by_label("Verify SNS signatures")).to_be_checked()
    shot(page, "new-integration")
    page.get_by_role("button", name="Save").click()

    # The Integration URL, shown once, copied with the button.
    expect(page.get_by_role("heading", name="Integration created")).to_be_visible()
    check_page(page)
    url = page.get_by_label("Integration URL").input_value()
    assert re.fullmatch(re.escape(base) + r"/integrations/agk_[\w-]{20,}", url)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == url
    shot(page, "integration-url")

    # Back on the Integrations tab: waiting for AWS.
    page.get_by_role("link", name="Back to payments").click()
    row = page.locator("tr", has_text="CloudTrail alarms")
    expect(row).to_contain_text(title)
    expect(row).to_contain_text("Waiting for first message")

    # AWS: the SNS subscription confirms itself (signed, confirmed against a local SNS).
    signer = SnsSigner(ui_server.cert_dir, name=f"ui-{uuid.uuid4().hex}")
    response = post_sns(url, signer.subscription_confirmation(topic_arn=TOPIC_ARN))
    assert response.status_code == 200, response.text
    assert len(ui_server.sns.confirm_calls()) == 1
    page.reload()
    expect(row).to_contain_text("Subscription confirmed")
    check_page(page)
    shot(page, "service-integrations")

    # The incidents page is open while the alarm fires; it must update by itself.
    page.get_by_role("link", name="Incidents", exact=True).first.click()
    expect(page).to_have_url(base + "/incidents")
    check_page(page)
    expect(page.locator("tbody tr.none")).to_be_visible()
    page.evaluate("window.__notReloaded = true")

    t0 = datetime.now(UTC) - timedelta(minutes=10)

    def notify(state: str, previous: str, at: datetime) -> None:
        doc = signer.notification(
            alarm_message(state, previous, at), topic_arn=TOPIC_ARN, subject=state
        )
        response = post_sns(url, doc)
        assert response.status_code == 200, response.text

    notify("ALARM", "OK", t0)
    incident_row = page.locator("tr[data-incident]")
    expect(incident_row).to_have_count(1, timeout=WAIT_MS)
    expect(incident_row).to_have_attribute("data-status", "triggered")
    expect(incident_row).to_contain_text("UnauthorizedAPICalls")
    expect(incident_row).to_contain_text("payments")
    notify("ALARM", "ALARM", t0 + timedelta(minutes=1))
    expect(incident_row.locator('td[data-label="Alerts"]')).to_have_text("2", timeout=WAIT_MS)
    shot(page, "incidents")
    notify("OK", "ALARM", t0 + timedelta(minutes=3))
    expect(incident_row).to_have_attribute("data-status", "resolved", timeout=WAIT_MS)
    assert page.evaluate("window.__notReloaded") is True, "the list must update in place"
    incident_id = incident_row.get_attribute("data-incident")

    # Filters: the resolved incident is not open.
    page.get_by_label("Status").select_option("open")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr.none")).to_be_visible()
    page.get_by_label("Status").select_option("resolved")
    page.get_by_label("Service").select_option(label="payments")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tr[data-incident]")).to_have_count(1)

    # The incident's timeline, newest first: each alert, its times, its payload on demand.
    page.get_by_role("link", name=f"#{incident_id}").click()
    check_page(page)
    entries = page.locator("ol.timeline > li")
    expect(entries).to_have_count(3)
    actions = [t.strip() for t in entries.locator(".tl-action").all_text_contents()]
    assert actions == ["resolve", "trigger", "trigger"]
    outcomes = [t.strip() for t in entries.locator(".tl-outcome").all_text_contents()]
    assert outcomes == ["resolved", "attached", "opened"]
    expect(page.get_by_text("Showing 3 of 3 alerts")).to_be_visible()
    # Repeats are compact: the newest alarm's full description, then what differs.
    expect(entries.nth(1)).to_contain_text("Watches:")
    expect(entries.last).to_contain_text("Repeat of")
    expect(entries.last).not_to_contain_text("Watches:")
    opening = entries.last
    expect(opening).to_contain_text("Source time")
    expect(opening.locator("time").first).to_have_attribute("title", re.compile(r" UTC$"))
    payload = opening.locator("details pre").last
    expect(payload).to_be_hidden()
    opening.get_by_text("Original payload").click()
    expect(payload).to_be_visible()
    expect(payload).to_contain_text('"SigningCertURL"')
    decoded = opening.locator("details pre").first
    expect(decoded).to_contain_text('"AlarmName": "UnauthorizedAPICalls"')
    expect(page.get_by_role("button", name="Resolve")).to_have_count(0)
    shot(page, "incident")

    # The Integrations tab now shows when the last alert arrived.
    page.get_by_role("link", name="payments").click()
    last = page.locator("tr", has_text="CloudTrail alarms").locator(
        'td[data-label="Last alert received"]'
    )
    expect(last).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$"))
    assert console_errors == []
    context.close()

    # Another organization's user sees none of it, by list or by id.
    other = browser.new_context()
    page = other.new_page()
    page.goto(base + "/login")
    page.get_by_label("API token").fill(ui_server.new_token("globex"))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base + "/incidents")
    expect(page.locator("tr[data-incident]")).to_have_count(0)
    expect(page.locator("tbody tr.none")).to_be_visible()
    page.goto(base + "/services")
    expect(page.get_by_text("payments")).to_have_count(0)
    for path in (f"/incidents/{incident_id}", "/services/1", "/services/1/integrations/1"):
        response = page.goto(base + path)
        assert response is not None and response.status == 404, path
    rows = page.request.get(base + "/incidents/rows?status=")
    assert rows.ok and "data-incident" not in rows.text()
    other.close()


def test_acknowledge_and_resolve_buttons(browser: Any, ui_server: UiServer) -> None:
    base = ui_server.base_url
    token = ui_server.new_token("acme")
    with ui_server.sessions().begin() as s:
        from alertgate.registry import load_plugins
        from alertgate.server import admin

        org = admin.ensure_organization(s, "acme")
        service = admin.create_service(s, org, "web")
        keyed = admin.create_integration(s, load_plugins(), service, "aws_cloudwatch", "alarms")
    url = f"{base}/integrations/{keyed.key}"
    signer = SnsSigner(ui_server.cert_dir, name=f"ui-{uuid.uuid4().hex}")
    doc = signer.notification(
        alarm_message("ALARM", "OK", datetime.now(UTC)), topic_arn=TOPIC_ARN, subject="ALARM"
    )
    assert post_sns(url, doc).status_code == 200

    context = browser.new_context()
    page = context.new_page()
    page.goto(base + "/incidents")
    expect(page).to_have_url(re.compile(r"/login\?next=/incidents$"))
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base + "/incidents")
    page.locator("tr[data-incident] a").first.click()
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_contain_text("acknowledged")
    expect(page.locator(".badge")).to_have_text("acknowledged")
    expect(page.locator(".facts")).to_contain_text("by web:other")
    # The same action is on the timeline, with who did it.
    expect(page.locator("li.human-acknowledged")).to_contain_text("Acknowledged by web:other")
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    page.locator("#note-text").fill("Rolled back the deploy")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("li.human-note")).to_contain_text("Note by web:other")
    expect(page.locator("li.human-note")).to_contain_text("Rolled back the deploy")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator(".badge")).to_have_text("resolved")
    expect(page.get_by_role("button", name="Resolve")).to_have_count(0)
    context.close()


@pytest.mark.parametrize(
    "path", ["/incidents", "/services", "/services/1", "/services/1/integrations/new"]
)
def test_phone_width_has_no_horizontal_scrolling(
    browser: Any, ui_server: UiServer, path: str
) -> None:
    token = ui_server.new_token("acme")
    with ui_server.sessions().begin() as s:
        from alertgate.server import admin

        org = admin.ensure_organization(s, "acme")
        admin.create_service(s, org, "a-service-with-a-rather-long-name-for-a-phone")
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.goto(ui_server.base_url + "/login")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(ui_server.base_url + "/incidents")
    page.goto(ui_server.base_url + path)
    assert fits_width(page), path
    if path == "/services":
        shot(page, "services-phone")
    context.close()


def test_csrf_token_is_required_on_forms(ui_server: UiServer) -> None:
    """Outside the browser: a form post without the session's CSRF token is refused."""
    token = ui_server.new_token("acme")
    with httpx.Client(base_url=ui_server.base_url, timeout=30) as client:
        login = client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert csrf is not None
        refused = client.post("/login", data={"token": token})
        assert refused.status_code == 403
        forged = client.post("/login", data={"token": token, "csrf_token": "x" * 32})
        assert forged.status_code == 403
        ok = client.post("/login", data={"token": token, "csrf_token": csrf.group(1)})
        assert ok.status_code == 303 and ok.headers["location"] == "/"
        # Signed in now; a state-changing form without the token still fails.
        created = client.post("/services/new", data={"name": "x"})
        assert created.status_code == 403
        assert client.get("/services").text.count("<td") == 0

"""The incidents list of the web UI over real HTTP: pages, filters, acting on many."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.registry import load_plugins
from alertgate.server import admin
from alertgate.server.keys import integration_url
from alertgate.storage.schema import AuditEvent, Incident, Integration
from tests.console_support import ingest, trigger
from tests.core.web.browser.support import TOPIC_ARN, UiServer, post_sns, running_ui
from tests.core.web.test_web import csrf_of, make_service, sign_in

T0 = datetime(2026, 12, 1, tzinfo=UTC)
ROW = re.compile(r'<tr data-incident="(\d+)"')


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> Iterator[UiServer]:
    with running_ui(tmp_path, monkeypatch, db_url) as live:
        yield live


def _integration_of(server: UiServer, service_id: int) -> int:
    with server.sessions()() as s:
        found = s.scalar(select(Integration.id).where(Integration.service_id == service_id))
    assert found is not None
    return found


def open_incidents(server: UiServer, service_id: int, count: int) -> None:
    integration_id = _integration_of(server, service_id)
    titles = (f"{'Disk' if n % 10 == 0 else 'CPU'} alarm {n}" for n in range(count))
    alerts = (trigger(n, f"f{n}", title) for n, title in enumerate(titles))
    ingest(server.engine, integration_id, service_id, alerts)


def test_list_pages_filters_and_shows_relative_ages(server: UiServer) -> None:
    service_id, _ = make_service(server, "acme", "payments")
    open_incidents(server, service_id, 60)
    client = sign_in(server, server.new_token("acme"))
    first = client.get("/incidents")
    assert first.status_code == 200
    ids = [int(i) for i in ROW.findall(first.text)]
    assert ids == list(range(60, 10, -1))
    assert "60 incidents, 50 on this page" in first.text
    assert "data-live" in first.text and "data-poll=" in first.text
    assert re.search(
        r'<time datetime="2026-12-01T00:00:59\+00:00" title="2026-12-01 00:00:59 UTC">', first.text
    )
    older = re.search(r'href="(/incidents\?[^"]+)" rel="next"', first.text)
    assert older is not None
    second = client.get(html.unescape(older.group(1)))
    assert [int(i) for i in ROW.findall(second.text)] == list(range(10, 0, -1))
    assert "data-poll=" not in second.text and 'rel="next"' not in second.text
    disk = client.get("/incidents", params={"q": "disk", "sort": "oldest"})
    assert [int(i) for i in ROW.findall(disk.text)] == [1, 11, 21, 31, 41, 51]
    assert client.get("/incidents", params={"cursor": "junk"}).status_code == 400
    rows = client.get("/incidents/rows", params={"severity": "critical"})
    assert ROW.findall(rows.text) == [] and rows.headers["x-total-count"] == "0"
    # A service's own incident tab pages the same way.
    tab = client.get(f"/services/{service_id}/incidents")
    assert len(ROW.findall(tab.text)) == 50 and 'rel="next"' in tab.text


def test_acting_on_one_or_many_from_the_list(server: UiServer) -> None:
    service_id, _ = make_service(server, "acme", "payments")
    open_incidents(server, service_id, 3)
    client = sign_in(server, server.new_token("acme"))
    page = client.get("/incidents?status=open")
    csrf = csrf_of(page)
    form = {
        "csrf_token": csrf,
        "next": "/incidents?status=open",
        "incident-1": "1",
        "incident-2": "1",
    }
    done = client.post("/incidents/acknowledge", data=form)
    assert done.status_code == 303 and done.headers["location"] == "/incidents?status=open"
    assert "2 incidents acknowledged." in client.get(done.headers["location"]).text
    one = client.post("/incidents/3/resolve", data={"csrf_token": csrf, "next": "/incidents"})
    assert one.headers["location"] == "/incidents"
    nothing = client.post("/incidents/resolve", data={"csrf_token": csrf, "next": "/incidents"})
    assert "Select at least one incident" in client.get(nothing.headers["location"]).text
    with server.sessions()() as s:
        status = {row.id: row.status for row in s.execute(select(Incident.id, Incident.status))}
        actions = s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        actors = set(s.scalars(select(AuditEvent.actor)).all())
    assert status == {1: "acknowledged", 2: "acknowledged", 3: "resolved"}
    assert actions == ["incident.acknowledge", "incident.acknowledge", "incident.resolve"]
    assert actors == {"web:other"}
    log = client.get("/audit")
    assert log.text.count("<code>incident.acknowledge</code>") == 2
    assert '<a href="/incidents/3">incident #3</a>' in log.text
    # Another organization's incidents cannot be acted on from a forged form.
    other = sign_in(server, server.new_token("globex"))
    forged = {"csrf_token": csrf_of(other.get("/incidents")), "incident-1": "1"}
    assert other.post("/incidents/resolve", data=forged).status_code == 404


def test_incident_timeline_is_newest_first_and_paged(server: UiServer) -> None:
    service_id, _ = make_service(server, "acme", "payments")
    alerts = (trigger(n, "cpu", "CPU high", f"Host: web-1\nValue: {n}") for n in range(120))
    ingest(server.engine, _integration_of(server, service_id), service_id, alerts)
    client = sign_in(server, server.new_token("acme"))
    page = client.get("/incidents/1")
    csrf = csrf_of(page)
    noted = client.post("/incidents/1/notes", data={"csrf_token": csrf, "text": "on it"})
    assert noted.status_code == 303
    page = client.get("/incidents/1")
    assert "Showing 50 of 120 alerts" in page.text
    assert '120 <span class="muted">of 120 on the timeline</span>' in page.text
    values = [int(v) for v in re.findall(r"Value: (\d+)", page.text)]
    assert values == list(range(119, 69, -1))
    assert page.text.count("Host: web-1") == 1  # the full description once, then what differs
    assert page.text.index("Note by web:other") < page.text.index("Value: 119")
    older = re.search(r'href="(/incidents/1\?[^"#]+)[^"]*" rel="next"', page.text)
    assert older is not None
    second = client.get(html.unescape(older.group(1)))
    assert "Showing 100 of 120 alerts" in second.text
    assert [int(v) for v in re.findall(r"Value: (\d+)", second.text)] == list(range(69, 19, -1))
    assert "Note by" not in second.text
    assert client.get("/incidents/1", params={"cursor": "junk"}).status_code == 400


def test_browsers_get_html_error_pages_and_machines_keep_json(server: UiServer) -> None:
    html_accept = {"accept": "text/html,application/xhtml+xml"}
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        page = client.get("/no-such-page", headers=html_accept)
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "<h1>Page not found</h1>" in page.text and 'href="/static/app.css"' in page.text
        wrong = client.post("/services", headers=html_accept)
        assert wrong.status_code == 405 and wrong.headers["content-type"].startswith("text/html")
        for path in ("/api/v1/nope", "/integrations/agk_nope/x"):
            machine = client.get(path, headers=html_accept)
            assert machine.headers["content-type"] == "application/json", path
        assert client.get("/no-such-page").json()["code"] == "not_found"


def test_edit_settings_shows_every_error_next_to_its_field(server: UiServer) -> None:
    service_id, _ = make_service(server, "acme", "payments")
    client = sign_in(server, server.new_token("acme"))
    edit = f"/services/{service_id}/integrations/1/edit"
    page = client.get(edit)
    assert page.status_code == 200
    csrf = csrf_of(page)
    fields = dict(
        re.findall(
            r'<input type="(?:text|number)" id="[^"]+" name="([^"]+)" value="([^"]*)"', page.text
        )
    )
    number = next(
        n
        for n in fields
        if re.search(rf'type="number" id="[^"]+" name="{re.escape(n)}"', page.text)
    )
    fields.pop("name")
    form = {"csrf_token": csrf, "name": "", **fields, number: "-5"}
    bad = client.post(edit, data=form)
    assert bad.status_code == 422
    # Every problem at once, each next to its field.
    assert bad.text.count('aria-invalid="true"') == 2
    assert 'id="name-error"' in bad.text and "2 fields need attention" in bad.text
    number_id = number.replace(".", "-")
    assert re.search(
        rf'id="{re.escape(number_id)}"[^>]*aria-describedby="{re.escape(number_id)}-error', bad.text
    )
    good = client.post(edit, data={"csrf_token": csrf, "name": "CloudWatch prod", **fields})
    assert good.status_code == 303, good.text[:2000]
    assert "Settings saved." in client.get(good.headers["location"]).text
    off = client.post(f"/services/{service_id}/integrations/1/disable", data={"csrf_token": csrf})
    assert "answers 410" in client.get(off.headers["location"]).text
    client.post(f"/services/{service_id}/integrations/1/enable", data={"csrf_token": csrf})
    with server.sessions()() as s:
        actions = s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["integration.update", "integration.disable", "integration.enable"]


def test_deleting_an_integration_states_what_happens_first(server: UiServer) -> None:
    service_id, _ = make_service(server, "acme", "payments")
    open_incidents(server, service_id, 2)
    client = sign_in(server, server.new_token("acme"))
    where = f"/services/{service_id}/integrations/1/delete"
    page = client.get(where)
    assert "The 2 alerts it received are deleted with it" in page.text
    assert "2 are still open and stay open until resolved by hand" in page.text
    done = client.post(where, data={"csrf_token": csrf_of(page)})
    assert done.status_code == 303
    assert "deleted with its 2 alert(s)" in client.get(done.headers["location"]).text
    assert client.get(f"/services/{service_id}/integrations/1").status_code == 404
    assert len(ROW.findall(client.get("/incidents").text)) == 2


def test_editing_and_deleting_a_service(server: UiServer) -> None:
    service_id, _ = make_service(server, "acme", "payments")
    make_service(server, "acme", "db")
    open_incidents(server, service_id, 3)
    client = sign_in(server, server.new_token("acme"))
    assert f'href="/services/{service_id}/edit"' in client.get(f"/services/{service_id}").text
    where = f"/services/{service_id}/edit"
    page = client.get(where)
    bad = client.post(
        where, data={"csrf_token": csrf_of(page), "name": " ", "description": "x" * 5001}
    )
    assert bad.status_code == 422
    assert 'aria-describedby="name-error" aria-invalid="true"' in bad.text
    assert 'aria-describedby="description-error" aria-invalid="true"' in bad.text
    assert "2 fields need attention" in bad.text
    taken = client.post(where, data={"csrf_token": csrf_of(page), "name": "db"})
    assert taken.status_code == 422
    assert "already exists" in taken.text and 'value="db"' in taken.text
    good = client.post(
        where, data={"csrf_token": csrf_of(page), "name": "shop", "description": "Checkout"}
    )
    assert good.status_code == 303
    shown = client.get(good.headers["location"]).text
    assert "<h1>shop</h1>" in shown and "Checkout" in shown
    page = client.get(f"/services/{service_id}/delete")
    assert "Its 1 integration is deleted" in page.text
    assert "Its 3 incidents (3 still open) are deleted" in page.text
    done = client.post(f"/services/{service_id}/delete", data={"csrf_token": csrf_of(page)})
    assert done.status_code == 303 and done.headers["location"] == "/services"
    assert "with its 1 integration(s) and 3 incident(s)" in client.get("/services").text
    assert client.get(f"/services/{service_id}").status_code == 404
    assert ROW.findall(client.get("/incidents").text) == []
    with server.sessions()() as s:
        actions = s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["service.update", "service.delete"]


def test_retry_confirmation_of_a_pending_sns_subscription(server: UiServer) -> None:
    """The button comes from the plugin's action hook; the retry GETs the stored
    SubscribeURL through the same allow-list, here answered by the local fake SNS."""
    with server.sessions().begin() as s:
        service = admin.create_service(s, admin.ensure_organization(s, "acme"), "payments")
        keyed = admin.create_integration(
            s, load_plugins(), service, "aws_cloudwatch", settings={"auto_confirm": False}
        )
        service_id, integration_id, key = service.id, keyed.integration.id, keyed.key
    signer = SnsSigner(server.cert_dir, name=f"retry-{uuid.uuid4().hex}")
    confirmation = signer.subscription_confirmation(topic_arn=TOPIC_ARN)
    url = integration_url(server.base_url, key)
    assert post_sns(url, confirmation).json()["status"] == "pending"
    assert server.sns.confirm_calls() == []  # automatic confirmation is off
    token = server.new_token("acme")
    # The SubscribeURL holds SNS's confirmation token: kept privately, never in the API.
    api = httpx.get(
        f"{server.base_url}/api/v1/integrations/{integration_id}",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert api["state"]["sns"]["status"] == "pending"
    assert [a["name"] for a in api["actions"]] == ["retry_confirmation"]
    assert "Token=" not in str(api) and "_subscribe_url" not in str(api)
    client = sign_in(server, token)
    where = f"/services/{service_id}/integrations/{integration_id}"
    page = client.get(where)
    assert "Subscription pending" in page.text and ">Retry confirmation</button>" in page.text
    assert "Token=" not in page.text

    def retry() -> str:
        done = client.post(
            f"{where}/actions",
            data={"csrf_token": csrf_of(client.get(where)), "action": "retry_confirmation"},
        )
        assert done.status_code == 303
        return client.get(done.headers["location"]).text

    server.sns.confirm_status = 500
    failed = retry()
    assert "Not confirmed: confirmation request answered HTTP 500." in failed
    assert ">Retry confirmation</button>" in failed
    server.sns.confirm_status = 200
    confirmed = retry()
    assert f"Subscription to {TOPIC_ARN} confirmed." in confirmed
    assert "Subscription confirmed" in confirmed and "Retry confirmation" not in confirmed
    calls = server.sns.confirm_calls()
    assert len(calls) == 2
    assert calls[-1].path == confirmation["SubscribeURL"].split("amazonaws.com", 1)[1]
    assert "Nothing done:" in retry()  # no longer offered: nothing is called
    assert len(server.sns.confirm_calls()) == 2
    with server.sessions()() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [(e.action, e.detail) for e in events[-2:]] == [
            ("integration.action", {"action": "retry_confirmation", "ok": False}),
            ("integration.action", {"action": "retry_confirmation", "ok": True}),
        ]


def test_a_tampered_stored_subscribe_url_is_never_called(server: UiServer) -> None:
    service_id, _ = make_service(server, "acme", "payments")
    evil = "https://evil.example/?Action=ConfirmSubscription&TopicArn=x&Token=1"
    with server.sessions().begin() as s:
        integration = s.get(Integration, 1)
        assert integration is not None
        integration.state = {
            "sns": {"status": "pending", "topic_arn": TOPIC_ARN, "_subscribe_url": evil}
        }
    client = sign_in(server, server.new_token("acme"))
    where = f"/services/{service_id}/integrations/1"
    done = client.post(
        f"{where}/actions",
        data={"csrf_token": csrf_of(client.get(where)), "action": "retry_confirmation"},
    )
    assert "The stored confirmation URL is not usable" in client.get(done.headers["location"]).text
    assert server.sns.requests == []

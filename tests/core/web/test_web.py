"""The web UI over real HTTP (no browser): sessions, CSRF, set-up, isolation, forms, keys.

Each test runs on SQLite and on PostgreSQL (when ALERTGATE_TEST_POSTGRES_URL is set). The
browser flow itself is in tests/browser/.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import httpx
import pytest
from click.testing import CliRunner
from pydantic import BaseModel, Field, SecretStr
from sqlalchemy import func, insert, select

from alertgate.cli import main as cli
from alertgate.engine import Delivery, IngestEngine
from alertgate.models import Action, Alert
from alertgate.registry import load_plugins
from alertgate.server import admin, setup_codes
from alertgate.settings import Settings
from alertgate.storage.database import make_engine, make_sessionmaker
from alertgate.storage.schema import Alert as AlertRow
from alertgate.storage.schema import SetupCode
from alertgate.web.app import safe_next
from alertgate.web.forms import FormError, setting_fields, settings_from_form
from alertgate.web.session import COOKIE_NAME, load_secret_key, secret_key_path
from alertgate.web.views import INTEGRATION_LOG_LIMIT
from tests.core.web.browser.support import UiServer, running_ui

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> Iterator[UiServer]:
    """The UI on SQLite and, where ALERTGATE_TEST_POSTGRES_URL is set, on PostgreSQL."""
    with running_ui(tmp_path, monkeypatch, db_url) as live:
        yield live


def csrf_of(response: httpx.Response) -> str:
    found = CSRF.search(response.text)
    assert found, response.text[:500]
    return found.group(1)


def sign_in(server: UiServer, token: str) -> httpx.Client:
    client = httpx.Client(base_url=server.base_url, timeout=30)
    csrf = csrf_of(client.get("/login"))
    response = client.post("/login", data={"token": token, "csrf_token": csrf})
    assert response.status_code == 303, response.text
    return client


def make_service(server: UiServer, org: str, name: str) -> tuple[int, str]:
    """A service with an AWS CloudWatch integration; returns (service id, key)."""
    with server.sessions().begin() as s:
        service = admin.create_service(s, admin.ensure_organization(s, org), name)
        keyed = admin.create_integration(s, load_plugins(), service, "aws_cloudwatch")
        return service.id, keyed.key


# -- set-up and sign-in --------------------------------------------------------------------


def test_first_run_setup_only_on_an_empty_database(server: UiServer) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        assert client.get("/login").headers.get("location") == "/setup"
        page = client.get("/setup")
        form = {
            "organization": "acme",
            "token_name": "alice",
            "csrf_token": csrf_of(page),
            "setup_code": server.setup_code(),
        }
        created = client.post("/setup", data=form)
        assert created.status_code == 200
        token = re.search(r'value="(agt_[^"]+)"', created.text)
        assert token is not None
        # Signed in by the set-up itself.
        assert client.get("/services").status_code == 200
        # The token is stored hashed: the secret shown works as an API token.
        api = httpx.get(
            f"{server.base_url}/api/v1/services",
            headers={"Authorization": f"Bearer {token.group(1)}"},
        )
        assert api.status_code == 200
        # Once a token exists, set-up is closed: no second organization through it.
        assert client.get("/setup").headers.get("location") == "/login"
        fresh = csrf_of(client.get("/services"))
        again = client.post("/setup", data={**form, "organization": "evil", "csrf_token": fresh})
        assert again.status_code == 409
    with server.sessions()() as s:
        assert [o.name for o in admin.list_tokens(s)] != []
        assert len(admin.organization_names(s, {1, 2, 3})) == 1


def test_setup_requires_the_one_time_code_even_from_loopback(server: UiServer) -> None:
    """Behind a reverse proxy every visitor is 127.0.0.1: only the printed code lets one in."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        csrf = csrf_of(client.get("/setup"))
        form = {"organization": "evil", "token_name": "x", "csrf_token": csrf}
        assert client.post("/setup", data=form).status_code == 403  # no code at all
        code = server.setup_code()
        wrong = client.post("/setup", data={**form, "setup_code": "ABCD-EFGH-JKLM-NPQR"})
        assert wrong.status_code == 403 and "set-up code is not valid" in wrong.text
        as_json = client.post("/setup", json={"organization": "evil", "setup_code": "x"})
        assert as_json.status_code == 403
        assert as_json.json()["code"] == "setup_code_invalid"
        assert client.get("/services").status_code == 303  # nobody signed in
        # The code works by JSON too (no CSRF token needed: the code is the secret), in
        # lower case and without dashes, once.
        created = client.post(
            "/setup",
            json={"organization": "acme", "setup_code": code.replace("-", "").lower()},
        )
        assert created.status_code == 201, created.text
        token = created.json()["token"]
        assert created.json()["organization"] == "acme"
        again = client.post("/setup", json={"organization": "x", "setup_code": code})
        assert again.status_code == 409 and again.json()["code"] == "already_set_up"
    api = httpx.get(
        f"{server.base_url}/api/v1/services", headers={"Authorization": f"Bearer {token}"}
    )
    assert api.status_code == 200
    with server.sessions()() as s:
        assert s.scalar(select(func.count()).select_from(SetupCode)) == 0  # used up, hash only


def test_setup_code_is_printed_by_db_upgrade_and_stored_hashed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = CliRunner().invoke(cli, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
    code = re.search(r"set-up code \(valid 24 h\): ([A-Z0-9-]+)", result.output)
    assert code is not None, result.output
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            stored = s.scalars(select(SetupCode.code_hash)).all()
            assert code.group(1) not in stored and len(stored) == 1
            assert setup_codes.consume(s, code.group(1))
            assert not setup_codes.consume(s, code.group(1))  # single use
    finally:
        engine.dispose()


def test_logout_ends_the_session_for_a_copied_cookie(server: UiServer) -> None:
    client = sign_in(server, server.new_token("acme"))
    assert client.get("/services").status_code == 200
    copied = dict(client.cookies)
    csrf = csrf_of(client.get("/services"))
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    with httpx.Client(base_url=server.base_url, timeout=30, cookies=copied) as thief:
        gone = thief.get("/services")
        assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
    client.close()


def test_bad_token_is_refused_and_revoked_token_ends_the_session(server: UiServer) -> None:
    token = server.new_token("acme")
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        csrf = csrf_of(client.get("/login"))
        bad = client.post("/login", data={"token": "agt_" + "x" * 43, "csrf_token": csrf})
        assert bad.status_code == 401 and "not valid" in bad.text
        too_long = client.post("/login", data={"token": "a" * 5000, "csrf_token": csrf})
        assert too_long.status_code == 401
    client = sign_in(server, token)
    assert client.get("/services").status_code == 200
    with server.sessions().begin() as s:
        for t in admin.list_tokens(s):
            admin.revoke_token(s, t.id)
    gone = client.get("/services")
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
    client.close()


def test_session_cookie_is_signed_httponly_and_lax(server: UiServer) -> None:
    token = server.new_token("acme")
    client = sign_in(server, token)
    header = next(v for k, v in client.get("/login").request.headers.items() if k == "cookie")
    assert COOKIE_NAME in header
    with httpx.Client(base_url=server.base_url, timeout=30) as fresh:
        csrf = csrf_of(fresh.get("/login"))
        response = fresh.post("/login", data={"token": token, "csrf_token": csrf})
        set_cookie = response.headers["set-cookie"].lower()
        assert "httponly" in set_cookie and "samesite=lax" in set_cookie
        assert "secure" not in set_cookie  # http public URL; https turns it on
    # A tampered cookie is no session at all.
    value = client.cookies[COOKIE_NAME]
    tampered = value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")
    client.cookies.set(COOKIE_NAME, tampered)
    assert client.get("/services").status_code == 303
    client.close()


def test_sign_in_returns_only_to_local_paths() -> None:
    assert safe_next("/incidents?status=open") == "/incidents?status=open"
    for hostile in ("//evil.example/x", "https://evil.example", "/\\evil.example", "", None):
        assert safe_next(hostile) == "/"


def test_polled_fragment_answers_401_when_signed_out(server: UiServer) -> None:
    response = httpx.get(f"{server.base_url}/incidents/rows")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


# -- CSRF, bounds, headers -----------------------------------------------------------------


def test_every_form_carries_the_csrf_token(server: UiServer) -> None:
    service_id, _ = make_service(server, "acme", "payments")
    client = sign_in(server, server.new_token("acme"))
    pages = [
        "/services",
        "/services/new",
        f"/services/{service_id}",
        f"/services/{service_id}/integrations/new",
        "/services/1/integrations/1",
    ]
    for path in pages:
        html = client.get(path).text
        posts = re.findall(r'<form method="post".*?</form>', html, re.S)
        assert posts, path
        for form in posts:
            assert 'name="csrf_token"' in form, (path, form[:200])
    assert client.post("/services/new", data={"name": "x"}).status_code == 403
    client.close()


def test_forms_are_bounded_and_urlencoded(server: UiServer) -> None:
    client = sign_in(server, server.new_token("acme"))
    csrf = csrf_of(client.get("/services/new"))
    big = client.post("/services/new", data={"csrf_token": csrf, "name": "x" * 300_000})
    assert big.status_code == 413
    multipart = client.post(
        "/services/new", data={"csrf_token": csrf, "name": "x"}, files={"f": b"1"}
    )
    assert multipart.status_code == 415
    assert client.get(f"/incidents/{2**63}").status_code == 404
    client.close()


def test_pages_escape_user_text_and_send_security_headers(server: UiServer) -> None:
    client = sign_in(server, server.new_token("acme"))
    csrf = csrf_of(client.get("/services/new"))
    name = '<script>alert("x")</script>'
    created = client.post("/services/new", data={"csrf_token": csrf, "name": name})
    assert created.status_code == 303
    html = client.get(created.headers["location"]).text
    assert name not in html and "&lt;script&gt;" in html
    headers = client.get("/services").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"
    # Nothing is loaded from another origin.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    client.close()


# -- organizations -------------------------------------------------------------------------


def test_organizations_are_isolated(server: UiServer) -> None:
    mine, _ = make_service(server, "acme", "payments")
    theirs, _ = make_service(server, "globex", "secret-project")
    client = sign_in(server, server.new_token("acme"))
    assert "secret-project" not in client.get("/services").text
    assert "secret-project" not in client.get("/incidents").text
    assert client.get(f"/services/{mine}").status_code == 200
    for path in (
        f"/services/{theirs}",
        f"/services/{theirs}/incidents",
        f"/services/{theirs}/integrations/new",
        f"/services/{mine}/integrations/2",
    ):
        assert client.get(path).status_code == 404, path
    csrf = csrf_of(client.get("/services"))
    rotate = client.post(f"/services/{theirs}/integrations/2/rotate-key", data={"csrf_token": csrf})
    assert rotate.status_code == 404
    new = client.post(
        f"/services/{theirs}/integrations/new", data={"csrf_token": csrf, "type": "aws_cloudwatch"}
    )
    assert new.status_code == 404
    for verb in ("acknowledge", "resolve"):
        assert client.post(f"/incidents/1/{verb}", data={"csrf_token": csrf}).status_code == 404
    client.close()


# -- integrations --------------------------------------------------------------------------


def test_new_integration_validates_settings_and_shows_the_url_once(server: UiServer) -> None:
    service_id, _ = make_service(server, "acme", "payments")
    client = sign_in(server, server.new_token("acme"))
    path = f"/services/{service_id}/integrations/new"
    csrf = csrf_of(client.get(path))
    missing = client.post(path, data={"csrf_token": csrf, "name": "x"})
    assert missing.status_code == 422 and "Choose an integration type" in missing.text
    bad = client.post(
        path,
        data={
            "csrf_token": csrf,
            "type": "aws_cloudwatch",
            "name": "kept",
            "s.aws_cloudwatch.insufficient_data": "explode",
        },
    )
    assert bad.status_code == 422 and "invalid settings" in bad.text
    assert 'value="kept"' in bad.text  # what was typed survives the error
    ok = client.post(
        path,
        data={
            "csrf_token": csrf,
            "type": "aws_cloudwatch",
            "name": "alarms",
            "s.aws_cloudwatch.insufficient_data": "trigger",
            "s.aws_cloudwatch.allowed_topic_arns": "arn:aws:sns:us-east-1:1:a\n\n"
            "arn:aws:sns:us-east-1:1:b",
        },
    )
    assert ok.status_code == 200
    url = re.search(r'id="integration-url" type="text" value="([^"]+)"', ok.text)
    assert url is not None
    assert ok.headers["cache-control"] == "no-store"
    with server.sessions()() as s:
        integration = admin.list_integrations(s, None, service_id)[-1]
        assert integration.name == "alarms"
        assert integration.settings["insufficient_data"] == "trigger"
        assert integration.settings["allowed_topic_arns"] == [
            "arn:aws:sns:us-east-1:1:a",
            "arn:aws:sns:us-east-1:1:b",
        ]
        # Unchecked boxes are False, not "keep the default".
        assert integration.settings["verify_signatures"] is False
        key = url.group(1).rsplit("/", 1)[1]
        assert key not in str(integration.settings) and integration.key_hash != key
    # Shown once: the details page has only the prefix.
    detail = client.get(f"/services/{service_id}/integrations/{integration.id}").text
    assert key not in detail and integration.key_prefix in detail
    # Rotating shows a new URL once; the old one stops working.
    rotated = client.post(
        f"/services/{service_id}/integrations/{integration.id}/rotate-key",
        data={"csrf_token": csrf},
    )
    new_url = re.search(r'id="integration-url" type="text" value="([^"]+)"', rotated.text)
    assert new_url is not None and new_url.group(1) != url.group(1)
    assert httpx.post(url.group(1), content=b"{}").status_code == 404
    client.close()


def test_integration_status_reads_the_sns_state(server: UiServer) -> None:
    service_id, _ = make_service(server, "acme", "payments")
    client = sign_in(server, server.new_token("acme"))
    assert "Waiting for first message" in client.get(f"/services/{service_id}").text
    for status, text in (
        ("pending", "Subscription pending"),
        ("confirmed", "Subscription confirmed"),
        ("unsubscribed", "Unsubscribed"),
    ):
        with server.sessions().begin() as s:
            integration = admin.list_integrations(s, None, service_id)[0]
            integration.state = {"sns": {"status": status, "topic_arn": "arn:t"}}
            integration_id = integration.id
        assert text in client.get(f"/services/{service_id}").text
    # The integration's page lists what the plugin tells about the state besides its badge.
    page = client.get(f"/services/{service_id}/integrations/{integration_id}").text
    assert "Unsubscribed" in page and "<dt>SNS topic</dt><dd><code>arn:t</code></dd>" in page
    client.close()


def test_integration_page_lists_the_newest_alerts(server: UiServer) -> None:
    service_id, _ = make_service(server, "acme", "payments")
    client = sign_in(server, server.new_token("acme"))
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    # More than the page ever loaded before (it read the oldest 10,000 and showed the end).
    count = 10_000 + INTEGRATION_LOG_LIMIT + 20
    with server.sessions().begin() as s:
        integration = admin.list_integrations(s, None, service_id)[0]
        row = {
            "integration_id": integration.id,
            "service_id": service_id,
            "fingerprint": "fp",
            "action": "info",
            "outcome": "info",
            "kind": "test",
            "severity": "info",
            "summary": "",
            "attributes": {},
            "links": {},
            "payload": None,
        }
        s.execute(
            insert(AlertRow),
            [
                {
                    **row,
                    "dedupe_key": f"m-{i}",
                    "title": f"alert number {i:05d}",
                    "source_time": t0 + timedelta(seconds=i),
                    "received_at": t0 + timedelta(seconds=i),
                }
                for i in range(count)
            ],
        )
        integration_id = integration.id
    page = client.get(f"/services/{service_id}/integrations/{integration_id}").text
    titles = re.findall(r"alert number (\d{5})", page)
    newest = [f"{i:05d}" for i in range(count - 1, count - 1 - INTEGRATION_LOG_LIMIT, -1)]
    assert titles == newest  # newest first, the older ones left out
    client.close()


# -- settings forms from models ------------------------------------------------------------


class Nested(BaseModel):
    a: int = 1


class Example(BaseModel):
    enabled: bool = True
    mode: Literal["info", "trigger"] = "info"
    limit: int = Field(5, ge=1, le=10)
    label: str | None = None
    arns: list[str] = Field(default_factory=list)
    extra: dict[str, Nested] = Field(default_factory=dict)


def test_setting_fields_follow_the_json_schema() -> None:
    fields = {f.key: f for f in setting_fields("ex", Example)}
    assert {k: f.widget for k, f in fields.items()} == {
        "enabled": "checkbox",
        "mode": "select",
        "limit": "number",
        "label": "text",
        "arns": "lines",
        "extra": "json",
    }
    assert fields["mode"].options == ["info", "trigger"]
    assert (fields["limit"].minimum, fields["limit"].maximum) == (1, 10)
    assert fields["label"].optional and fields["enabled"].default == "true"
    assert all(f.name == f"s.ex.{f.key}" for f in fields.values())

    form = {
        "s.ex.mode": "trigger",
        "s.ex.limit": "7",
        "s.ex.arns": " a \n\nb",
        "s.ex.extra": '{"k": {"a": 2}}',
        "s.other.enabled": "true",
    }
    raw = settings_from_form(list(fields.values()), form)
    parsed = Example.model_validate(raw)
    assert parsed == Example(
        enabled=False, mode="trigger", limit=7, arns=["a", "b"], extra={"k": Nested(a=2)}
    )
    with pytest.raises(FormError, match="Extra: not valid JSON"):
        settings_from_form(list(fields.values()), {"s.ex.extra": "{nope"})


def test_every_installed_type_renders_a_form() -> None:
    for slug, registered in load_plugins().types.items():
        fields = setting_fields(slug, registered.type.settings_model)
        # The defaults, submitted unchanged, are valid settings.
        defaults = {f.name: f.default for f in fields if f.widget != "checkbox" or f.default}
        registered.type.settings_model.model_validate(settings_from_form(fields, defaults))


# -- the session key -----------------------------------------------------------------------


def test_generated_secret_key_is_kept_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/a.db")
    assert secret_key_path(settings) == tmp_path / "a.db.secret"
    first = load_secret_key(settings)
    assert load_secret_key(settings) == first and len(first) >= 32
    assert stat.S_IMODE(os.stat(tmp_path / "a.db.secret").st_mode) == 0o600
    other = Settings(
        database_url="postgresql+psycopg://x@h/db", secret_key_file=str(tmp_path / "k")
    )
    assert load_secret_key(other) != first
    assert load_secret_key(Settings(secret_key=SecretStr("s" * 20))) == b"s" * 20
    with pytest.raises(ValueError, match="at least 16"):
        load_secret_key(Settings(secret_key=SecretStr("short")))


def test_concurrent_first_run_setups_create_one_organization(server: UiServer) -> None:
    """Several browsers racing through set-up: exactly one wins, the others get 409."""
    from concurrent.futures import ThreadPoolExecutor

    clients = [httpx.Client(base_url=server.base_url, timeout=30) for _ in range(4)]
    code = server.setup_code()
    forms = [
        {
            "organization": f"org{i}",
            "token_name": "t",
            "csrf_token": csrf_of(c.get("/setup")),
            "setup_code": code,
        }
        for i, c in enumerate(clients)
    ]
    with ThreadPoolExecutor(len(clients)) as pool:
        statuses = sorted(
            pool.map(
                lambda pair: pair[0].post("/setup", data=pair[1]).status_code,
                zip(clients, forms, strict=True),
            )
        )
    for client in clients:
        client.close()
    assert statuses == [200, 409, 409, 409]
    with server.sessions()() as s:
        assert len(admin.list_tokens(s)) == 1


# -- out-of-order incidents (issue 25) -------------------------------------------------------


def test_an_out_of_order_incident_is_marked_in_the_list_the_page_and_the_api(
    server: UiServer,
) -> None:
    service_id, _ = make_service(server, "acme", "payments")
    with server.sessions().begin() as s:
        integration_id = admin.list_integrations(s, None, service_id)[0].id
    t0 = datetime(2026, 3, 1, tzinfo=UTC)

    def alert(key: str, action: Action, minute: int, fingerprint: str) -> Alert:
        return Alert(
            title=f"{fingerprint} {key}",
            source_time=t0 + timedelta(minutes=minute),
            dedupe_key=key,
            fingerprint=fingerprint,
            action=action,
        )

    engine = IngestEngine(server.engine)
    try:
        late = engine.ingest(
            Delivery(
                integration_id,
                service_id,
                [
                    alert("ok", Action.RESOLVE, 10, "late"),  # the OK first ...
                    alert("alarm", Action.TRIGGER, 5, "late"),  # ... then its ALARM
                    alert("other", Action.TRIGGER, 5, "in-order"),
                ],
            )
        ).outcomes
    finally:
        engine.close()
    assert [o.outcome.value for o in late] == ["no_open_incident", "late_opened", "opened"]
    late_id, normal_id = late[1].incident_id, late[2].incident_id

    token = server.new_token("acme")
    client = sign_in(server, token)
    rows = {
        int(m.group(1)): m.group(2)
        for m in re.finditer(
            r'<tr data-incident="(\d+)"(.*?)</tr>', client.get("/incidents").text, re.S
        )
    }
    assert "out of order" in rows[late_id] and "out of order" not in rows[normal_id]
    page = client.get(f"/incidents/{late_id}").text
    assert "out of order" in page and "never open here" in page
    assert "out of order" not in client.get(f"/incidents/{normal_id}").text
    client.close()

    api = httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    detail = api.get(f"/api/v1/incidents/{late_id}").json()
    assert (detail["status"], detail["out_of_order"]) == ("resolved", True)
    assert [(a["action"], a["outcome"]) for a in detail["alerts"]] == [
        ("trigger", "late_opened"),
        ("resolve", "resolved"),
    ]
    assert api.get(f"/api/v1/incidents/{normal_id}").json()["out_of_order"] is False
    api.close()

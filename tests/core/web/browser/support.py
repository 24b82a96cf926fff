"""Browser test support: Playwright drives Debian's Chromium against the real server.

Nothing is downloaded: Playwright launches /usr/bin/chromium (``apt-get install chromium``;
.ci/run installs it). Without it these tests are skipped, saying why.

``ALERTGATE_UI_SCREENSHOTS=docs/images`` makes the tests save the screenshots used in
docs/ui.md.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from alertgate.plugins.aws_cloudtrail import demo
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.server import admin, setup_codes
from alertgate.server.app import create_app
from alertgate.settings import Settings, get_settings
from alertgate.storage import migrate
from alertgate.storage.database import make_engine, make_sessionmaker
from tests.live import free_port
from tests.sns_support import FakeSns, fake_sns

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = os.environ.get("ALERTGATE_UI_SCREENSHOTS")
ACCOUNT = "123456789012"
REGION = "us-east-1"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:alertgate-cloudtrail"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is absent: apt-get install chromium")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope, not session: Playwright's sync API keeps an event loop running in this
    # thread while it is open, which would break later tests that call asyncio.run().
    from playwright.sync_api import expect, sync_playwright

    # Generous waits for a loaded 2-core CI machine; they bound waiting, they assert no timing.
    expect.set_options(timeout=15_000)

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@dataclass
class UiServer:
    base_url: str
    settings: Settings
    cert_dir: Path
    engine: Engine
    """The tests' own connection pool to the server's database."""
    sns: FakeSns
    """Where the server's SNS subscription confirmations go (``AWS_ENDPOINT_URL_SNS``)."""

    def sessions(self) -> Any:
        return make_sessionmaker(self.engine)

    def setup_code(self) -> str:
        """A one-time set-up code, as ``alertgate serve`` prints it on a fresh database."""
        with self.sessions().begin() as s:
            code = setup_codes.issue(s)
        assert code is not None, "the database has a token already"
        return code

    def new_token(self, org: str) -> str:
        """An API token of ``org`` (created if missing), made as the CLI would."""
        with self.sessions().begin() as s:
            return admin.create_token(s, admin.ensure_organization(s, org), "other").secret


@contextlib.contextmanager
def serve(app: Any, port: int) -> Iterator[None]:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@contextlib.contextmanager
def running_ui(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str | None = None
) -> Iterator[UiServer]:
    """An empty, migrated database behind the real app, on a free port.

    The public URL is the server's own address, so the Integration URL the UI shows is the
    one the tests post signed SNS deliveries to.

    :param database_url: An empty, migrated database (default: a new SQLite file).
    """
    cert_dir = tmp_path / "certs"
    url = database_url
    if url is None:
        url = f"sqlite:///{tmp_path / 'alertgate.db'}"
        migrate.upgrade(url)
    port = free_port()
    settings = Settings(
        database_url=url,
        public_url=f"http://127.0.0.1:{port}",
        secret_key_file=str(tmp_path / "session.secret"),
    )
    engine = make_engine(url)
    with fake_sns(cert_dir) as sns:
        # Read once, when the app is built (its plugin context), as a real server does.
        monkeypatch.setenv("ALERTGATE_SNS_CERT_DIR", str(cert_dir))
        monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", sns.url)
        get_settings.cache_clear()
        app = create_app(settings, db_engine=make_engine(url))
        try:
            with serve(app, port):
                yield UiServer(f"http://127.0.0.1:{port}", settings, cert_dir, engine, sns)
        finally:
            engine.dispose()
            get_settings.cache_clear()


@pytest.fixture
def ui_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UiServer]:
    with running_ui(tmp_path, monkeypatch) as server:
        yield server


def alarm_message(state: str, previous: str, changed_at: datetime) -> str:
    """A CloudWatch alarm on a CloudTrail metric filter, as the guide sets it up."""
    return demo.alarm_message(state, previous, changed_at, name="UnauthorizedAPICalls")


def post_sns(url: str, doc: dict[str, Any]) -> httpx.Response:
    """Deliver one envelope the way SNS does (text/plain JSON and its headers)."""
    return httpx.post(url, content=SnsSigner.body(doc), headers=SnsSigner.headers(doc), timeout=30)


def shot(page: Any, name: str) -> None:
    """Save a documentation screenshot when ALERTGATE_UI_SCREENSHOTS names a folder."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=False)


def unlabelled_controls(page: Any) -> list[str]:
    """Visible form controls that no label names (an accessibility failure)."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll(
                   'input:not([type=hidden]), select, textarea, button')]
                 .filter(e => e.type === 'submit' || e.tagName === 'BUTTON'
                    ? !e.textContent.trim() && !e.getAttribute('aria-label')
                    : !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
                 .map(e => e.outerHTML.slice(0, 120))"""
        )
    )


def axe_violations(page: Any) -> list[str]:
    """What axe-core (the copy bundled in axe-playwright-python) finds wrong with the page:
    every rule of its default run (WCAG 2.x A and AA, best practices), one line each."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:5])
        for v in found
    ]


def fits_width(page: Any) -> bool:
    """No horizontal scrolling of the whole page (tables may scroll inside their box)."""
    return bool(
        page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    )

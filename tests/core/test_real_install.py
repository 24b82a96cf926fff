"""alertgate as a user installs it: a wheel in a fresh virtual environment, plugins from
source packages through real entry points, ``alertgate serve --workers 2`` as a process.

Slow (a venv, a wheel build and a few pip installs): marked ``slow``. pip resolves
alertgate's dependencies through its own configuration (index, mirror or cache).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from alertgate.plugins.aws_cloudtrail.demo import TOPIC_ARN, alarm_message
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.server.runner import free_port
from tests.paths import ROOT_DIR, TESTS_DIR

pytestmark = pytest.mark.slow

FIXTURES = TESTS_DIR / "fixtures" / "plugins"
PUBLIC_API = (
    "hookimpl, IntegrationType, Alert, Action, Severity, ParseResult, ParseContext, "
    "InboundRequest, IncidentEvent, MalformedDelivery, ForbiddenDelivery"
)
# The broken plugin's last good release: it declared the type its integration was made of.
WORKING_BROKEN_EXAMPLE = """
from datetime import UTC, datetime
from pydantic import BaseModel
from alertgate import Alert, IntegrationType, ParseResult, hookimpl

class Settings(BaseModel):
    pass

@hookimpl
def alertgate_integration_types():
    return [IntegrationType("broken_example", "Example", "", "", Settings)]

@hookimpl
def alertgate_parse_request(integration_type, request):
    if integration_type == "broken_example":
        return ParseResult(alerts=[Alert(title="x", source_time=datetime.now(UTC))])
"""


@dataclass
class Installed:
    root: Path
    venv: Path
    env: dict[str, str]
    urls: dict[str, str]
    cert_dir: Path

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """A command of the venv (``python``, ``alertgate``, ``pip``), run outside the checkout."""
        exe = self.venv / "bin" / args[0]
        return subprocess.run(
            [str(exe), *args[1:]],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def check(self, *args: str, timeout: float = 300) -> str:
        done = self.run(*args, timeout=timeout)
        assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
        return done.stdout


def _source_copy(dest: Path) -> Path:
    """What a source distribution holds, so building leaves nothing in the checkout."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT_DIR / name, dest / name)
    for folder in ("core", "plugins"):
        shutil.copytree(
            ROOT_DIR / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    return dest


def _pip_install(installed: Installed, *packages: Path) -> None:
    installed.check("python", "-m", "pip", "install", "-q", *map(str, packages))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("install")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTGATE_", "PYTHON"))}
    env |= {
        "ALERTGATE_DATABASE_URL": f"sqlite:///{root / 'alertgate.db'}",
        "ALERTGATE_PUBLIC_URL": "http://alertgate.test",
        "ALERTGATE_SNS_CERT_DIR": str(root / "certs"),
    }
    (root / "certs").mkdir()
    dist = root / "dist"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(dist),
            str(_source_copy(root / "src")),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("alertgate-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    it = Installed(root, venv, env, {}, root / "certs")
    it.check("python", "-m", "pip", "install", "-q", str(wheel), timeout=900)

    good = root / "broken_example_0.9"
    shutil.copytree(FIXTURES / "broken_example", good)
    pyproject = good / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "1.0"', 'version = "0.9"'))
    (good / "broken_example.py").write_text(WORKING_BROKEN_EXAMPLE)
    _pip_install(it, FIXTURES / "thirdparty_webhook", good)
    it.check("alertgate", "services", "create", "shop")
    for slug in ("thirdparty_webhook", "aws_cloudwatch", "broken_example"):
        out = it.check(
            "alertgate", "integrations", "create", "--service", "shop", "--type", slug, "--json"
        )
        it.urls[slug] = json.loads(out)["key"]
    # The upgrade that breaks it: 1.0 imports a module nobody installed.
    _pip_install(it, FIXTURES / "broken_example")
    return it


def test_only_the_alertgate_name_is_installed(installed: Installed) -> None:
    for name in ("core", "plugins"):
        done = installed.run("python", "-c", f"import {name}")
        assert done.returncode != 0 and "ModuleNotFoundError" in done.stderr, name
    out = installed.check(
        "python",
        "-c",
        f"from alertgate import {PUBLIC_API}; import alertgate; print(alertgate.__file__)",
    )
    assert out.strip().startswith(str(installed.venv)), out


def test_plugins_lists_the_broken_plugin(installed: Installed) -> None:
    done = installed.run("alertgate", "plugins", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["plugin"]: row for row in json.loads(done.stdout)}
    broken = rows["broken_example"]
    assert (broken["status"], broken["distribution"], broken["version"]) == (
        "broken",
        "alertgate-broken-example",
        "1.0",
    )
    assert "requests_oauth9" in broken["error"]
    assert rows["thirdparty_webhook"]["status"] == "ok"
    assert rows["thirdparty_webhook"]["distribution"] == "alertgate-thirdparty-webhook"
    assert rows["aws_cloudwatch"]["builtin"] is True
    assert "ALERTGATE_DISABLE_PLUGINS=broken_example" in done.stderr  # the loud line
    assert installed.run("alertgate", "plugins", "--strict").returncode == 1
    disabled = {**installed.env, "ALERTGATE_DISABLE_PLUGINS": "broken_example"}
    assert (
        subprocess.run(
            ["alertgate", "plugins", "--strict"],
            env=disabled,
            cwd=installed.root,
            capture_output=True,
            timeout=120,
            check=False,
        ).returncode
        == 0
    )


@pytest.fixture
def server(installed: Installed) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log = installed.root / f"serve-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["alertgate", "serve", "--workers", "2", "--port", str(port)],
            cwd=installed.root,
            env=installed.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield base, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def test_serve_with_two_workers_serves_all_but_the_broken_plugin(
    installed: Installed, server: tuple[str, Path]
) -> None:
    base, log = server
    urls = {slug: f"{base}/integrations/{key}" for slug, key in installed.urls.items()}
    r = httpx.post(urls["thirdparty_webhook"], json={"name": "disk", "state": "alarm"})
    assert r.status_code == 200, r.text
    assert r.json()["outcomes"][0]["outcome"] == "opened"

    signer = SnsSigner(installed.cert_dir, name=f"install-{uuid.uuid4().hex}")
    doc = signer.notification(alarm_message("ALARM", "OK", datetime.now(UTC)), topic_arn=TOPIC_ARN)
    r = httpx.post(
        urls["aws_cloudwatch"], content=SnsSigner.body(doc), headers=SnsSigner.headers(doc)
    )
    assert r.status_code == 200, r.text

    r = httpx.post(urls["broken_example"], json={})
    assert r.status_code == 503
    assert r.json()["code"] == "plugin_unavailable"
    assert "broken_example" in r.json()["message"]
    assert int(r.headers["retry-after"]) > 0

    ready = httpx.get(f"{base}/readyz").json()
    assert [b["name"] for b in ready["plugins"]["broken"]] == ["broken_example"]
    assert httpx.get(f"{base}/healthz").status_code == 200
    page = httpx.get(f"{base}/login", follow_redirects=True)  # the wheel ships the web UI
    assert page.status_code == 200 and "<form" in page.text
    assert httpx.get(f"{base}/static/app.css").status_code == 200
    # One loud line per worker, and no worker restarted (a crash loop would log more).
    text = log.read_text()
    assert text.count("plugin 'broken_example' (distribution alertgate-broken-example 1.0)") == 2


def test_strict_mode_refuses_to_start_before_any_worker(installed: Installed) -> None:
    port = free_port()
    proc = subprocess.Popen(
        ["alertgate", "serve", "--workers", "2", "--port", str(port)],
        cwd=installed.root,
        env={**installed.env, "ALERTGATE_STRICT_PLUGINS": "true"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 1, err
    assert "broken_example" in err and "ALERTGATE_STRICT_PLUGINS" in err
    assert "requests_oauth9" in err
    with pytest.raises(ProcessLookupError):  # nothing of the process group is left
        os.killpg(proc.pid, 0)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)

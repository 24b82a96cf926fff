"""``alertgate demo``: a newcomer's first run, no AWS account needed.

A temporary SQLite database, a service with an integration, and the real server on a free
port. A plugin tells the story (``alertgate_demo``; the built-in one is the AWS CloudTrail
plugin's): deliveries exactly as the source sends them, already signed, and what the demo
server must trust to accept them, which goes into that server's plugin context only. With
the built-in story: an ALARM, a repeat ALARM, an SNS redelivery of the first message, and
the OK. The incident timeline is printed and the server keeps running for the web UI and
the API until Ctrl-C (``--no-serve`` exits at once).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click
import httpx

from alertgate.cli.context import Db
from alertgate.cli.incidents_cmd import echo_incident, incident_detail
from alertgate.errors import PluginError
from alertgate.models import DemoDelivery, DemoStory
from alertgate.registry import Plugins, load_plugins
from alertgate.server import admin
from alertgate.server.keys import integration_url
from alertgate.settings import Settings
from alertgate.storage.database import make_engine, make_sessionmaker

SERVICE = "checkout-api"


@dataclass
class Step:
    """One delivery of the story and what became of it."""

    delivery: DemoDelivery
    status: int = 0
    outcome: str = ""
    incident_id: int | None = None
    error: str = ""


EXPLAIN = {
    "opened": "opened incident #{id}",
    "attached": "grouped into incident #{id}",
    "duplicate": "duplicate ignored (same SNS MessageId, stored once)",
    "resolved": "resolved incident #{id}",
}


def send_story(url: str, steps: list[Step]) -> None:
    with httpx.Client(timeout=30) as client:
        for step in steps:
            delivery = step.delivery
            try:
                response = client.post(url, content=delivery.body, headers=dict(delivery.headers))
            except httpx.HTTPError as exc:
                step.error = f"{type(exc).__name__}: {exc}"
                continue
            step.status = response.status_code
            try:
                body = response.json()
            except ValueError:
                body = {}
            if response.is_success:
                outcomes = body.get("outcomes") or [{}]
                step.outcome = str(outcomes[0].get("outcome", ""))
                step.incident_id = outcomes[0].get("incident_id")
            else:
                step.error = f"{body.get('code', '')}: {body.get('message', response.text)}"


def setup(settings: Settings, plugins: Plugins, story: DemoStory) -> tuple[str, str, int]:
    """Create the demo service, integration and API token; return URL, token, service id."""
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            org = admin.ensure_organization(session)
            service = admin.create_service(session, org, SERVICE, "The demo's service")
            keyed = admin.create_integration(
                session, plugins, service, story.integration_type, story.integration_name
            )
            token = admin.create_token(session, org, "demo").secret
            return integration_url(settings.public_url, keyed.key), token, service.id
    finally:
        engine.dispose()


@click.command()
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port (default: free).")
@click.option("--no-serve", is_flag=True, help="Exit after the story instead of serving on.")
@click.option("--keep", is_flag=True, help="Keep the temporary database and certificate.")
def demo(port: int, no_serve: bool, keep: bool) -> None:
    """Run the CloudTrail story end to end on a temporary database, no AWS needed."""
    from alertgate.server.app import create_app
    from alertgate.server.runner import ThreadedServer, free_port
    from alertgate.storage import migrate

    try:
        plugins = load_plugins()
    except PluginError as exc:
        raise click.ClickException(str(exc)) from exc
    workdir = Path(tempfile.mkdtemp(prefix="alertgate-demo-"))
    story = plugins.demo_story(workdir, datetime.now(UTC))
    if story is None:
        shutil.rmtree(workdir, ignore_errors=True)
        raise click.ClickException("no installed plugin provides a demo story")
    port = port or free_port()
    public = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=f"sqlite:///{workdir / 'alertgate-demo.db'}", public_url=public
    )
    # The explicit trust decision (e.g. a folder of demo certificates), for this server's
    # plugins only: the process environment is left alone.
    plugins.configure(settings, {**os.environ, **story.environ})
    steps = [Step(delivery) for delivery in story.deliveries]
    migrate.upgrade(settings.database_url)
    url, token, _service_id = setup(settings, plugins, story)

    click.echo("alertgate demo (no AWS account needed)")
    click.echo(f"  workspace    {workdir}")
    if story.trust:
        click.echo(f"  trusting     {story.trust}")
    title = plugins.get_type(story.integration_type).title
    click.echo(f"  service      {SERVICE}, integration {title}")
    click.echo(f"  Integration  {url}")
    # Ctrl-C must stop the demo. Python keeps SIGINT ignored when the parent process
    # ignored it (a non-interactive shell's background job, a harness), and then no
    # KeyboardInterrupt ever comes: the demo would serve forever. Take it back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    server = ThreadedServer(create_app(settings, plugins=plugins), port=port).start()
    try:
        click.echo("")
        click.echo(story.intro)
        send_story(url, steps)
        ok = True
        for n, step in enumerate(steps, 1):
            label = step.delivery.label
            if step.error or step.outcome != step.delivery.expect:
                ok = False
                what = step.error or f"unexpected outcome {step.outcome!r}"
                click.echo(f"  {n}. {label:<26} HTTP {step.status}  {what}")
                continue
            text = EXPLAIN[step.outcome].format(id=step.incident_id)
            click.echo(f"  {n}. {label:<26} HTTP {step.status}  {text}")
        incident_id = steps[0].incident_id
        if incident_id is not None:
            click.echo("")
            click.echo("Incident timeline:")
            engine = make_engine(settings.database_url)
            try:
                echo_incident(
                    incident_detail(Db(settings, engine, make_sessionmaker(engine)), incident_id)
                )
            finally:
                engine.dispose()
        if not ok:
            raise click.ClickException("the demo story did not go as expected (see above)")
        if no_serve:
            return
        click.echo("")
        click.echo(f"The server keeps running at {public} (Ctrl-C to stop):")
        click.echo(f"  web UI        {public}/  (sign in with the API token below)")
        click.echo(f"  API token     {token}")
        click.echo(f"  API           {public}/api/v1/incidents  (Authorization: Bearer {token})")
        click.echo(f"  metrics       {public}/metrics")
        click.echo(f"  database      ALERTGATE_DATABASE_URL={settings.database_url}")
        forever = threading.Event()
        while not forever.wait(0.5):  # wake up now and then, so signals are seen
            pass
    except KeyboardInterrupt:
        # Ctrl-C at any moment once the server is up (even while the lines above are
        # printed) is the normal way to stop: exit 0, not click's "Aborted!" (exit 1).
        click.echo("\nstopping")
    finally:
        server.stop()
        if keep:
            click.echo(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

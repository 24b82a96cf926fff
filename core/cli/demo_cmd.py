"""``alertgate demo``: a newcomer's first run, no AWS account needed.

A temporary SQLite database, a service with an AWS CloudTrail integration, and the real
server on a free port. A scripted story is then sent over HTTP exactly as Amazon SNS would
send it, with real signatures made by a local demo certificate that this process trusts
explicitly (``ALERTGATE_SNS_CERT_DIR``): an ALARM, a repeat ALARM, an SNS redelivery of the
first message, and the OK. The incident timeline is printed and the server keeps running
for the web UI and the API until Ctrl-C (``--no-serve`` exits at once).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import httpx
from cryptography.fernet import Fernet

from alertgate.cli.context import Db
from alertgate.cli.incidents_cmd import echo_incident, incident_detail
from alertgate.server import admin
from alertgate.server.keys import integration_url
from alertgate.settings import Settings
from alertgate.storage.database import make_engine, make_sessionmaker

ACCOUNT = "123456789012"
REGION = "us-east-1"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:alertgate-demo-cloudtrail"
ALARM_NAME = "CloudTrail-UnauthorizedAPICalls"
SERVICE = "checkout-api"


def alarm_message(state: str, previous: str, changed_at: datetime) -> str:
    """A CloudWatch alarm notification on a CloudTrail metric filter (the guide's setup)."""
    reasons = {
        "ALARM": "Threshold Crossed: 1 out of the last 1 datapoints [3.0 ({t})] was greater "
        "than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM "
        "transition).",
        "OK": "Threshold Crossed: 1 out of the last 1 datapoints [0.0 ({t})] was not greater "
        "than or equal to the threshold (1.0) (minimum 1 datapoint for ALARM -> OK "
        "transition).",
    }
    doc = {
        "AlarmName": ALARM_NAME,
        "AlarmDescription": "Unauthorized API calls recorded by CloudTrail",
        "AWSAccountId": ACCOUNT,
        "AlarmConfigurationUpdatedTimestamp": "2026-01-05T09:12:44.012+0000",
        "NewStateValue": state,
        "NewStateReason": reasons[state].format(t=changed_at.strftime("%d/%m/%y %H:%M:%S")),
        "StateChangeTime": changed_at.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{changed_at.microsecond // 1000:03d}+0000",
        "Region": "US East (N. Virginia)",
        "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{ALARM_NAME}",
        "OldStateValue": previous,
        "OKActions": [TOPIC_ARN],
        "AlarmActions": [TOPIC_ARN],
        "InsufficientDataActions": [],
        "Trigger": {
            "MetricName": "UnauthorizedAttemptCount",
            "Namespace": "CloudTrailMetrics",
            "StatisticType": "Statistic",
            "Statistic": "SUM",
            "Unit": None,
            "Dimensions": [],
            "Period": 300,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Threshold": 1.0,
            "TreatMissingData": "notBreaching",
            "EvaluateLowSampleCountPercentile": "",
        },
    }
    return json.dumps(doc, indent=2)


@dataclass
class Step:
    label: str
    body: bytes
    headers: dict[str, str]
    expect: str
    status: int = 0
    outcome: str = ""
    incident_id: int | None = None
    error: str = ""


def sns_headers(doc: dict[str, Any]) -> dict[str, str]:
    """The headers Amazon SNS sends with an HTTP(S) delivery."""
    return {
        "content-type": "text/plain; charset=UTF-8",
        "user-agent": "Amazon Simple Notification Service Agent",
        "x-amz-sns-message-type": str(doc["Type"]),
        "x-amz-sns-message-id": str(doc["MessageId"]),
        "x-amz-sns-topic-arn": str(doc["TopicArn"]),
    }


def build_story(cert_dir: Path, now: datetime) -> list[Step]:
    from alertgate.plugins.aws_sns.signer import SnsSigner

    signer = SnsSigner(cert_dir, name="alertgate-demo", region=REGION)
    first = now - timedelta(minutes=6)
    docs = [
        ("ALARM", "INSUFFICIENT_DATA", first),
        ("ALARM", "ALARM", first + timedelta(minutes=2)),
        ("OK", "ALARM", first + timedelta(minutes=5)),
    ]
    notes = []
    for state, previous, changed_at in docs:
        subject = f'{state}: "{ALARM_NAME}" in US East (N. Virginia)'
        notes.append(
            signer.notification(
                alarm_message(state, previous, changed_at),
                topic_arn=TOPIC_ARN,
                subject=subject,
                timestamp=now,
            )
        )
    alarm, repeat, ok = notes
    return [
        Step("ALARM", signer.body(alarm), sns_headers(alarm), "opened"),
        Step("ALARM again, new message", signer.body(repeat), sns_headers(repeat), "attached"),
        Step("ALARM redelivered by SNS", signer.body(alarm), sns_headers(alarm), "duplicate"),
        Step("OK", signer.body(ok), sns_headers(ok), "resolved"),
    ]


EXPLAIN = {
    "opened": "opened incident #{id}",
    "attached": "grouped into incident #{id}",
    "duplicate": "duplicate ignored (same SNS MessageId, stored once)",
    "resolved": "resolved incident #{id}",
}


def send_story(url: str, steps: list[Step]) -> None:
    with httpx.Client(timeout=30) as client:
        for step in steps:
            try:
                response = client.post(url, content=step.body, headers=step.headers)
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


def setup(settings: Settings) -> tuple[str, str, int]:
    """Create the demo service, integration and API token; return URL, token, service id."""
    engine = make_engine(settings.database_url)
    db = Db(settings, engine, make_sessionmaker(engine))
    try:
        with db.sessions.begin() as session:
            org = admin.ensure_organization(session)
            service = admin.create_service(session, org, SERVICE, "The demo's service")
            keyed = admin.create_integration(
                session, db.plugins, service, "aws_cloudtrail", "AWS CloudTrail (demo)"
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

    workdir = Path(tempfile.mkdtemp(prefix="alertgate-demo-"))
    cert_dir = workdir / "sns-certs"
    port = port or free_port()
    public = f"http://127.0.0.1:{port}"
    # The explicit trust decision: SNS certificates are looked up in this folder first.
    os.environ["ALERTGATE_SNS_CERT_DIR"] = str(cert_dir)
    # A Fernet key, so the demo can store notification channel secrets and sign
    # acknowledge links (docs/notifications.md).
    secret_key = os.environ.get("ALERTGATE_SECRET_KEY") or Fernet.generate_key().decode()
    settings = Settings(
        database_url=f"sqlite:///{workdir / 'alertgate-demo.db'}",
        public_url=public,
        sns_cert_dir=cert_dir,
        secret_key=secret_key,
    )
    steps = build_story(cert_dir, datetime.now(UTC))
    migrate.upgrade(settings.database_url)
    url, token, _service_id = setup(settings)

    click.echo("alertgate demo (no AWS account needed)")
    click.echo(f"  workspace    {workdir}")
    click.echo(f"  trusting     the demo SNS certificate in ALERTGATE_SNS_CERT_DIR={cert_dir}")
    click.echo(f"  service      {SERVICE}, integration AWS CloudTrail")
    click.echo(f"  Integration  {url}")
    # Ctrl-C must stop the demo. Python keeps SIGINT ignored when the parent process
    # ignored it (a non-interactive shell's background job, a harness), and then no
    # KeyboardInterrupt ever comes: the demo would serve forever. Take it back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    server = ThreadedServer(create_app(settings), port=port).start()
    try:
        click.echo("")
        click.echo(
            f"Sending signed SNS notifications of the CloudWatch alarm {ALARM_NAME!r} "
            "(a CloudTrail metric filter):"
        )
        send_story(url, steps)
        ok = True
        for n, step in enumerate(steps, 1):
            if step.error or step.outcome != step.expect:
                ok = False
                what = step.error or f"unexpected outcome {step.outcome!r}"
                click.echo(f"  {n}. {step.label:<26} HTTP {step.status}  {what}")
                continue
            text = EXPLAIN[step.outcome].format(id=step.incident_id)
            click.echo(f"  {n}. {step.label:<26} HTTP {step.status}  {text}")
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
        click.echo(f"  secret key    ALERTGATE_SECRET_KEY={secret_key}  (generated for the demo)")
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

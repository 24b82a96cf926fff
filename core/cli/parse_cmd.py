"""``alertgate parse``: what a plugin makes of a payload, without a server or a database.

The file goes through exactly the code a delivery to an Integration URL runs
(``Plugins.parse``: parse, fingerprint, classify), with settings adjusted for a dry run:

- signature verification is off unless ``--verify``;
- the replay window is off (saved payloads are old) and subscriptions are never
  confirmed (a dry run makes no call to AWS);
- a file that is not an SNS envelope is delivered as a direct post (the integration's
  opt-in for unsigned posts is switched on with a throwaway secret), so a bare alarm
  message, an EventBridge event or a raw log record can be checked as is;
- a Lambda SNS event (``{"Records": [{"Sns": {...}}]}``) is split into its envelopes.

Settings a type does not have are simply not set, so this works for any plugin.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel, ValidationError

from alertgate.cli.output import echo_json, echo_table
from alertgate.errors import DeliveryRejected, PluginError
from alertgate.models import Alert, InboundRequest, ParseContext, ParseResult
from alertgate.registry import Plugins, UnknownIntegrationType, load_plugins

MAX_FILE_BYTES = 10 * 1024 * 1024
SNS_TYPES = frozenset({"Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"})
SECRET_HEADER = "x-alertgate-key"  # noqa: S105 - a header name, not a secret
CERT_DIR_ENV = "ALERTGATE_SNS_CERT_DIR"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request body to parse and how it was recognised."""

    body: bytes
    input: str
    """``sns_envelope``, ``lambda_record`` or ``direct_post``."""


def split_deliveries(raw: bytes) -> list[Delivery]:
    """Recognise an SNS envelope, a Lambda SNS event, or anything else (a direct post)."""
    try:
        doc: Any = json.loads(raw)
    except (ValueError, RecursionError):
        return [Delivery(raw, "direct_post")]
    if isinstance(doc, dict) and doc.get("Type") in SNS_TYPES:
        return [Delivery(raw, "sns_envelope")]
    records = doc.get("Records") if isinstance(doc, dict) else None
    if (
        isinstance(records, list)
        and records
        and all(isinstance(r, dict) and isinstance(r.get("Sns"), dict) for r in records)
    ):
        return [
            Delivery(json.dumps(r["Sns"]).encode(), "lambda_record")
            for r in records
            if isinstance(r, dict)
        ]
    return [Delivery(raw, "direct_post")]


def dry_run_settings(
    model: type[BaseModel], *, verify: bool, direct: bool, secret: str
) -> dict[str, Any]:
    """Setting overrides for a dry run, limited to the fields the type's model has."""
    wanted: dict[str, Any] = {
        "verify_signatures": verify,
        "max_message_age_seconds": 0,
        "auto_confirm": False,
    }
    if direct:
        wanted.update(
            accept_direct_posts=True,
            shared_secret_sha256=sha256(secret.encode()).hexdigest(),
            shared_secret_header=SECRET_HEADER,
        )
    return {k: v for k, v in wanted.items() if k in model.model_fields}


def _setting_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_set_options(values: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--set")
        out[key.strip()] = _setting_value(value)
    return out


def alert_row(alert: Alert, *, full: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "action": str(alert.action) if alert.action is not None else None,
        "fingerprint": alert.fingerprint,
        "title": alert.title,
        "severity": str(alert.severity),
        "source_time": alert.source_time.isoformat(),
    }
    if full:
        row.update(
            kind=alert.kind,
            dedupe_key=alert.dedupe_key,
            summary=alert.summary,
            attributes=alert.attributes,
            links=alert.links,
        )
    return row


def run_dry(
    plugins: Plugins,
    slug: str,
    raw: bytes,
    *,
    verify: bool,
    overrides: Mapping[str, Any],
) -> tuple[list[tuple[Delivery, ParseResult]], list[tuple[Delivery, DeliveryRejected]]]:
    """Parse every delivery in ``raw``; return the results and the rejections."""
    model = plugins.get_type(slug).settings_model
    secret = secrets.token_urlsafe(24)
    done: list[tuple[Delivery, ParseResult]] = []
    rejected: list[tuple[Delivery, DeliveryRejected]] = []
    for delivery in split_deliveries(raw):
        direct = delivery.input == "direct_post"
        settings = plugins.validate_settings(
            slug,
            {**dry_run_settings(model, verify=verify, direct=direct, secret=secret), **overrides},
        )
        headers = {SECRET_HEADER: secret} if direct else {}
        request = InboundRequest(body=delivery.body, headers=headers, content_type="text/plain")
        context = ParseContext(integration_id=0, integration_type=slug, settings=settings)
        try:
            done.append((delivery, plugins.parse(context, request)))
        except DeliveryRejected as exc:
            rejected.append((delivery, exc))
    return done, rejected


@click.command("parse")
@click.option("--type", "slug", required=True, metavar="SLUG", help="Integration type slug.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with attributes) instead.")
@click.option("--verify", is_flag=True, help="Verify SNS signatures (off by default).")
@click.option(
    "--cert-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help=f"Trust SNS certificates from this folder (sets {CERT_DIR_ENV}).",
)
@click.option(
    "--set",
    "set_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Integration setting for the dry run, e.g. insufficient_data=trigger (repeatable).",
)
def parse(
    slug: str,
    file: str,
    as_json: bool,
    verify: bool,
    cert_dir: Path | None,
    set_options: tuple[str, ...],
) -> None:
    """Dry run: show what integration type SLUG makes of the payload in FILE.

    FILE is an SNS envelope, a Lambda SNS event, or a bare message (an alarm, an
    EventBridge event, a log record), which is parsed as a direct post. Nothing is
    stored and nothing is sent. Exit 1 if the plugin rejects the payload.
    """
    overrides = parse_set_options(set_options)
    with click.open_file(file, "rb") as handle:
        raw = handle.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise click.ClickException(f"{file} is larger than {MAX_FILE_BYTES} bytes")
    try:
        plugins = load_plugins()
        plugins.get_type(slug)
    except PluginError as exc:
        raise click.ClickException(str(exc)) from exc
    except UnknownIntegrationType as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="--type") from None
    if cert_dir is not None:
        # Trusted for this dry run's plugins only, as if set in the environment.
        plugins.configure(environ={**os.environ, CERT_DIR_ENV: str(cert_dir)})
    try:
        done, rejected = run_dry(plugins, slug, raw, verify=verify, overrides=overrides)
    except ValidationError as exc:
        raise click.BadParameter(
            f"invalid settings for {slug}: {exc.errors(include_url=False)}", param_hint="--set"
        ) from None
    if as_json:
        echo_json(
            {
                "type": slug,
                "file": file,
                "verified": verify,
                "deliveries": [
                    {
                        "input": delivery.input,
                        "note": result.note,
                        "handshake": result.response.body if result.response else None,
                        "state_updates": result.state_updates,
                        "alerts": [alert_row(a, full=True) for a in result.alerts],
                    }
                    for delivery, result in done
                ],
                "rejected": [
                    {
                        "input": d.input,
                        "status": e.status_code,
                        "code": e.code,
                        "message": e.message,
                    }
                    for d, e in rejected
                ],
            }
        )
    else:
        rows = [alert_row(a, full=False) for _, result in done for a in result.alerts]
        echo_table(rows, ["action", "fingerprint", "title", "severity", "source_time"])
        for delivery, result in done:
            if result.note:
                click.echo(f"note ({delivery.input}): {result.note}")
        for delivery, err in rejected:
            click.echo(f"REJECTED ({delivery.input}) {err.status_code} {err.code}: {err.message}")
    if rejected:
        raise SystemExit(1)

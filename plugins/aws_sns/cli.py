"""``alertgate sns verify``: check SNS envelopes offline, VALID/INVALID and why per file.

Registered by the ``aws_sns`` plugin through ``alertgate_register_commands``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from alertgate.cli.output import echo_json
from alertgate.context import settings_from_environ
from alertgate.errors import DeliveryRejected
from alertgate.plugins.aws_sns.envelope import load_json, parse_envelope
from alertgate.plugins.aws_sns.runtime import SnsRuntime
from alertgate.plugins.aws_sns.settings import SnsProcessSettings
from alertgate.plugins.aws_sns.verify import verify_envelope


@click.group("sns")
def sns() -> None:
    """Amazon SNS tools."""


def _check(path: Path, runtime: SnsRuntime, max_age: int) -> dict[str, Any]:
    row: dict[str, Any] = {"file": str(path), "valid": False, "code": None, "reason": None}
    try:
        envelope = parse_envelope(load_json(path.read_bytes()))
        row.update(
            type=envelope.type,
            message_id=envelope.message_id,
            topic_arn=envelope.topic_arn,
            timestamp=envelope.timestamp.isoformat(),
            signature_version=envelope.fields.get("SignatureVersion"),
        )
        verify_envelope(envelope, runtime.certs, max_age_seconds=max_age)
    except OSError as exc:
        row.update(code="unreadable", reason=exc.strerror or str(exc))
    except DeliveryRejected as exc:
        row.update(code=exc.code, reason=exc.message)
    else:
        row["valid"] = True
    return row


@sns.command("verify")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--cert-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Folder of SimpleNotificationService-*.pem certificates "
    "(default: ALERTGATE_SNS_CERT_DIR; certificates not found there are downloaded).",
)
@click.option(
    "--max-age",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Also reject messages whose Timestamp is older than this many seconds "
    "(0: no freshness check, for archived messages).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def verify(files: tuple[Path, ...], cert_dir: Path | None, max_age: int, as_json: bool) -> None:
    """Verify the SNS signature of each FILE (a JSON envelope as SNS posts it).

    Certificate validity is checked at each message's own Timestamp, so archived messages
    signed with since-expired certificates still verify. Exit 1 if any file is invalid.
    """
    settings = settings_from_environ(SnsProcessSettings, os.environ)
    if cert_dir is not None:
        settings = settings.model_copy(update={"cert_dir": cert_dir})
    runtime = SnsRuntime.from_settings(settings, os.environ)
    rows = [_check(path, runtime, max_age) for path in files]
    if as_json:
        echo_json(rows)
    else:
        for row in rows:
            if row["valid"]:
                detail = f"{row['type']}, SignatureVersion {row['signature_version']}"
                click.echo(f"{row['file']}: VALID ({detail}, {row['topic_arn']})")
            else:
                click.echo(f"{row['file']}: INVALID {row['code']}: {row['reason']}")
    if not all(row["valid"] for row in rows):
        raise SystemExit(1)

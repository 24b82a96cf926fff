"""``alertgate cloudtrail``: the built-in CloudTrail detection catalog.

Registered by the ``aws_cloudtrail`` plugin through ``alertgate_register_commands``."""

from __future__ import annotations

import json
from pathlib import Path

import click
from pydantic import ValidationError

from alertgate.cli.output import echo_json, echo_table
from alertgate.plugins.aws_cloudtrail.docs import catalog_markdown, catalog_rows
from alertgate.plugins.aws_cloudtrail.settings import CloudTrailSettings


@click.group()
def cloudtrail() -> None:
    """AWS CloudTrail integration helpers."""


def _load_settings(path: Path | None) -> CloudTrailSettings:
    if path is None:
        return CloudTrailSettings()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path}: cannot read settings JSON: {exc}") from exc
    try:
        return CloudTrailSettings.model_validate(raw)
    except ValidationError as exc:
        raise click.ClickException(f"{path}: invalid settings:\n{exc}") from exc


@cloudtrail.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (rules and filter patterns).")
@click.option(
    "--markdown", "as_markdown", is_flag=True, help="Print the catalog as a Markdown table."
)
@click.option(
    "--settings",
    "settings_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An integration's settings JSON: show its custom detections, overrides and "
    "disabled ones too.",
)
def detections(as_json: bool, as_markdown: bool, settings_path: Path | None) -> None:
    """List the CloudTrail detections: id, severity, category, CIS control, title.

    Each detection is data: a rule over CloudTrail record fields, also rendered as the
    CloudWatch Logs metric filter pattern for the alarm path (see --json).
    """
    settings = _load_settings(settings_path)
    rows = catalog_rows(settings)
    if as_json:
        echo_json(rows)
    elif as_markdown:
        click.echo(catalog_markdown(rows), nl=False)
    else:
        echo_table(rows, ["id", "severity", "category", "cis", "enabled", "title"])

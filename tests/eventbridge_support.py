"""EventBridge events for the tests of the EventBridge-fed types (GuardDuty, Security Hub,
AWS Health): the envelope EventBridge puts around a service's ``detail``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from alertgate.cli import main
from tests.aws_cases import AWS_FIXTURES, envelope, load

DETAIL_TYPES = {
    "aws.guardduty": "GuardDuty Finding",
    "aws.securityhub": "Security Hub Findings - Imported",
    "aws.health": "AWS Health Event",
}


def event(
    source: str,
    detail: dict[str, Any],
    *,
    event_id: str,
    account: str = "123456789012",
    region: str = "us-east-1",
    time: str = "2026-03-01T12:00:00Z",
) -> dict[str, Any]:
    """``detail`` as EventBridge delivers it (see each service's user guide)."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": DETAIL_TYPES[source],
        "source": source,
        "account": account,
        "time": time,
        "region": region,
        "resources": [],
        "detail": copy.deepcopy(detail),
    }


def fixture(name: str) -> Any:
    return copy.deepcopy(load(name))


def run_parse(slug: str, doc: Any, tmp_path: Path, *settings: str) -> Result:
    """``alertgate parse --type SLUG FILE --json [--set KEY=VALUE]...`` of ``doc`` saved as
    a file."""
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(doc))
    args = ["parse", "--type", slug, str(path), "--json"]
    for setting in settings:
        args += ["--set", setting]
    return CliRunner().invoke(main, args)


def parse_json(slug: str, doc: Any, tmp_path: Path, *settings: str) -> Any:
    result = run_parse(slug, doc, tmp_path, *settings)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def parse_alerts(slug: str, doc: Any, tmp_path: Path, *settings: str) -> list[dict[str, Any]]:
    """Every alert ``alertgate parse --json`` shows for ``doc``, over all deliveries."""
    out = parse_json(slug, doc, tmp_path, *settings)
    assert out["rejected"] == []
    return [alert for delivery in out["deliveries"] for alert in delivery["alerts"]]


__all__ = [
    "AWS_FIXTURES",
    "envelope",
    "event",
    "fixture",
    "parse_alerts",
    "parse_json",
    "run_parse",
]

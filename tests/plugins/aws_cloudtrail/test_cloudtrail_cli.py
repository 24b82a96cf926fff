"""``alertgate cloudtrail detections`` and the generated parts of the user guide."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from alertgate.cli import main
from alertgate.plugins.aws_cloudtrail.catalog import BUILTIN_DETECTIONS
from alertgate.plugins.aws_cloudtrail.docs import fill_guide
from tests.paths import ROOT_DIR

ROOT = ROOT_DIR
GUIDE = ROOT / "docs" / "integrations" / "aws-cloudtrail.md"


def test_table_lists_every_detection() -> None:
    result = CliRunner().invoke(main, ["cloudtrail", "detections"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["ID", "SEVERITY", "CATEGORY", "CIS", "ENABLED", "TITLE"]
    assert [line.split()[0] for line in lines[1:]] == [d.id for d in BUILTIN_DETECTIONS]
    root = next(line for line in lines if line.startswith("root_account_usage "))
    assert root.split()[1:5] == ["critical", "identity", "4.3", "yes"]


def test_json_has_rules_and_filter_patterns() -> None:
    result = CliRunner().invoke(main, ["cloudtrail", "detections", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    by_id = {row["id"]: row for row in rows}
    stop = by_id["cloudtrail_changes"]
    assert stop["severity"] == "critical"
    assert stop["cis"] == "4.5"
    assert "StopLogging" in stop["rule"]["equals"]
    assert '($.eventName = "StopLogging")' in stop["filter_pattern"]
    assert stop["builtin"] is True and stop["enabled"] is True
    assert "RootAccountUsage" in by_id["root_account_usage"]["metric_names"]


def test_settings_file_shows_custom_and_disabled(tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text(
        json.dumps(
            {
                "disabled_detections": ["vpc_changes"],
                "severity_overrides": {"nacl_changes": "error"},
                "custom_detections": [
                    {
                        "id": "iam_user_created",
                        "title": "IAM user created",
                        "severity": "warning",
                        "rule": {"field": "eventName", "equals": ["CreateUser"]},
                    }
                ],
            }
        )
    )
    result = CliRunner().invoke(
        main, ["cloudtrail", "detections", "--json", "--settings", str(settings)]
    )
    assert result.exit_code == 0, result.output
    by_id = {row["id"]: row for row in json.loads(result.output)}
    assert by_id["vpc_changes"]["enabled"] is False
    assert by_id["nacl_changes"]["severity"] == "error"
    custom = by_id["iam_user_created"]
    assert custom["builtin"] is False and custom["enabled"] is True
    assert custom["filter_pattern"] == '{ $.eventName = "CreateUser" }'


def test_invalid_settings_file_fails_with_reason(tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"disabled_detections": ["nope"]}))
    result = CliRunner().invoke(main, ["cloudtrail", "detections", "--settings", str(settings)])
    assert result.exit_code == 1
    assert "unknown detection id(s) nope" in result.output


def test_markdown_output_is_the_guides_table() -> None:
    result = CliRunner().invoke(main, ["cloudtrail", "detections", "--markdown"])
    assert result.exit_code == 0
    assert result.output in GUIDE.read_text()
    assert result.output.count("\n| `") == len(BUILTIN_DETECTIONS)


def test_guide_generated_sections_are_current() -> None:
    text = GUIDE.read_text()
    assert fill_guide(text) == text, (
        "regenerate: python -m alertgate.plugins.aws_cloudtrail.docs "
        "docs/integrations/aws-cloudtrail.md"
    )
    for detection in BUILTIN_DETECTIONS:
        assert detection.pattern()[0] in text


def test_parse_accepts_raw_cloudtrail_shapes(tmp_path: Path) -> None:
    """``alertgate parse --type aws_cloudtrail``: one record, a Records file, a bare list."""
    fixtures = ROOT / "tests" / "fixtures" / "aws" / "cloudtrail"
    single = fixtures / "stratus_aws.defense-evasion.cloudtrail-stop.json"
    records = json.loads(single.read_text())
    cases = {
        "record.json": records[0],
        "records.json": {
            "Records": json.loads(
                (fixtures / "awsdocs_console_signin_example_01.json").read_text()
            )["Records"]
            + records
        },
        "list.json": records,
    }
    expected = {
        "record.json": [("trigger", "cloudtrail_changes")],
        "records.json": [
            ("trigger", "console_signin_without_mfa"),
            ("trigger", "cloudtrail_changes"),
        ],
        "list.json": [("trigger", "cloudtrail_changes")],
    }
    for name, doc in cases.items():
        path = tmp_path / name
        path.write_text(json.dumps(doc))
        result = CliRunner().invoke(
            main, ["parse", "--type", "aws_cloudtrail", str(path), "--json"]
        )
        assert result.exit_code == 0, result.output
        (delivery,) = json.loads(result.output)["deliveries"]
        got = [(a["action"], a["attributes"]["detection"]) for a in delivery["alerts"]]
        assert got == expected[name], name
    table = CliRunner().invoke(main, ["parse", "--type", "aws_cloudtrail", str(single)])
    assert "CloudTrail configuration changed: StopLogging by christophe" in table.output

"""``alertgate parse``: the dry run over the same payload table as the plugin tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from alertgate.cli import main
from tests.aws_cases import AWS_FIXTURES, DEFAULT_TOPIC, Case, envelope, load
from tests.paths import ROOT_DIR
from tests.plugins.aws_cloudwatch.test_aws_cloudwatch import CASES, SNS_METRIC

CERTS = AWS_FIXTURES / "certs"


def run(*args: str) -> Any:
    return CliRunner().invoke(main, ["parse", *args], catch_exceptions=False)


def as_file(case: Case, tmp_path: Path) -> Path:
    """The payload of a table row as the file a user would feed to ``alertgate parse``."""
    if case.delivery == "sns":
        return AWS_FIXTURES / case.source
    if case.delivery == "wrap":
        path = tmp_path / "envelope.json"
        path.write_text(json.dumps(envelope(load(case.source))))
        return path
    return AWS_FIXTURES / case.source  # "direct" and "raw": the bare file


FILE_CASES = [
    c
    for c in CASES
    if c.delivery in ("sns", "wrap", "direct", "raw") and not c.patch and not c.settings
]


@pytest.mark.parametrize("case", FILE_CASES, ids=[c.id for c in FILE_CASES])
def test_parse_json_matches_the_table(case: Case, tmp_path: Path) -> None:
    result = run("--type", case.slug, "--json", str(as_file(case, tmp_path)))
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["rejected"] == []
    [delivery] = out["deliveries"]
    expected_input = "sns_envelope" if case.delivery in ("sns", "wrap") else "direct_post"
    assert delivery["input"] == expected_input
    [alert] = delivery["alerts"]
    assert (alert["action"], alert["fingerprint"], alert["title"]) == (
        case.action,
        case.fingerprint,
        case.title,
    )


def test_parse_table_output() -> None:
    result = run("--type", "aws_cloudwatch", str(AWS_FIXTURES / SNS_METRIC))
    assert result.exit_code == 0, result.output
    header, row = result.output.splitlines()[:2]
    assert header.split() == ["ACTION", "FINGERPRINT", "TITLE", "SEVERITY", "SOURCE_TIME"]
    assert row.startswith("trigger  arn:aws:cloudwatch:us-east-1:427809481713:alarm:")
    assert "2021-11-10T02:45:55.640000+00:00" in row
    assert "error" in row


def test_bare_alarm_message_is_a_direct_post_with_full_details() -> None:
    path = (
        AWS_FIXTURES / "cloudwatch/message_metric_ALARM_cloudwatch_2021_metric_alarm_v1_lambda.json"
    )
    out = json.loads(run("--type", "aws_cloudwatch", "--json", str(path)).output)
    alert = out["deliveries"][0]["alerts"][0]
    assert out["deliveries"][0]["input"] == "direct_post"
    assert alert["attributes"]["metric_name"] == "IExecutionFailureHook"
    assert alert["attributes"]["delivery"] == "direct"
    assert alert["links"]["console"].startswith("https://us-east-1.console.aws.amazon.com/")
    assert "Reason: Threshold Crossed" in alert["summary"]


def test_lambda_event_is_split_into_envelopes(tmp_path: Path) -> None:
    event = load("cloudwatch/lambda_event_metric_TEMPLATE_aws-lambda-go.json")
    record = event["Records"][0]
    record["Sns"]["TopicArn"] = DEFAULT_TOPIC
    second = json.loads(json.dumps(record))
    second["Sns"]["MessageId"] = "second"
    event["Records"].append(second)
    path = tmp_path / "lambda.json"
    path.write_text(json.dumps(event))
    out = json.loads(run("--type", "aws_cloudwatch", "--json", str(path)).output)
    assert [d["input"] for d in out["deliveries"]] == ["lambda_record", "lambda_record"]
    assert [d["alerts"][0]["dedupe_key"] for d in out["deliveries"]] == [
        "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
        "second",
    ]


def test_placeholder_template_is_reported_as_rejected() -> None:
    path = AWS_FIXTURES / "cloudwatch/lambda_event_metric_TEMPLATE_aws-lambda-go.json"
    result = run("--type", "aws_cloudwatch", str(path))
    assert result.exit_code == 1
    assert "REJECTED (lambda_record) 400 invalid_envelope" in result.output


def test_verify_with_cert_dir_accepts_real_signature() -> None:
    result = run(
        "--type",
        "aws_cloudwatch",
        "--verify",
        "--cert-dir",
        str(CERTS),
        str(AWS_FIXTURES / SNS_METRIC),
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1].startswith("trigger")


def test_verify_rejects_a_tampered_message(tmp_path: Path) -> None:
    doc = load(SNS_METRIC)
    doc["Message"] = doc["Message"].replace("IExecutionFailureHook", "IExecutionFailureHooK")
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(doc))
    result = run("--type", "aws_cloudwatch", "--verify", "--cert-dir", str(CERTS), str(path))
    assert result.exit_code == 1
    assert "REJECTED (sns_envelope) 403 signature_invalid" in result.output
    # without --verify the same file parses: verification is opt-in for a dry run
    assert run("--type", "aws_cloudwatch", str(path)).exit_code == 0


def test_subscription_confirmation_is_never_confirmed_in_a_dry_run() -> None:
    path = AWS_FIXTURES / "sns/exawssns_2016_subscriptionconfirmation_v1.json"
    result = run(
        "--type", "aws_cloudwatch", "--verify", "--cert-dir", str(CERTS), "--json", str(path)
    )
    assert result.exit_code == 0, result.output
    [delivery] = json.loads(result.output)["deliveries"]
    assert delivery["alerts"] == []
    assert delivery["handshake"]["status"] == "pending"
    assert "automatic confirmation is off" in delivery["note"]


def test_set_changes_settings_for_the_dry_run() -> None:
    path = (
        AWS_FIXTURES
        / "cloudwatch/message_metric_extended_statistic_INSUFFICIENT_DATA_awsdocs_format.json"
    )
    default = json.loads(run("--type", "aws_cloudwatch", "--json", str(path)).output)
    policy = json.loads(
        run(
            "--type", "aws_cloudwatch", "--json", "--set", "insufficient_data=trigger", str(path)
        ).output
    )
    assert default["deliveries"][0]["alerts"][0]["action"] == "info"
    assert policy["deliveries"][0]["alerts"][0]["action"] == "trigger"
    assert policy["deliveries"][0]["alerts"][0]["severity"] == "warning"


@pytest.mark.parametrize(
    "args",
    [
        ["--type", "no_such_type", str(AWS_FIXTURES / SNS_METRIC)],
        [
            "--type",
            "aws_cloudwatch",
            "--set",
            "insufficient_data=sometimes",
            str(AWS_FIXTURES / SNS_METRIC),
        ],
        ["--type", "aws_cloudwatch", "--set", "novalue", str(AWS_FIXTURES / SNS_METRIC)],
        ["--type", "aws_cloudwatch", "/nonexistent/file.json"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["parse", *args])
    assert result.exit_code == 2, result.output


def test_plain_text_file_is_an_info_alert(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text("deploy finished\n")
    out = json.loads(run("--type", "aws_cloudwatch", "--json", str(path)).output)
    [alert] = out["deliveries"][0]["alerts"]
    assert alert["action"] == "info"
    assert "deploy finished" in alert["summary"]


def test_parse_is_generic_for_any_plugin(install_plugin: Any, tmp_path: Path) -> None:
    """A third-party type without SNS settings: the raw file reaches its parser untouched."""
    install_plugin(
        "ag_lines",
        """
        from datetime import datetime, timezone
        from pydantic import BaseModel
        from alertgate import hookimpl
        from alertgate.models import Alert, IntegrationType, ParseResult

        class LinesSettings(BaseModel):
            prefix: str = "line"

        @hookimpl
        def alertgate_integration_types():
            return [IntegrationType("lines", "Lines", "one alert per line", "", LinesSettings)]

        @hookimpl
        def alertgate_parse_request(integration_type, request, context):
            if integration_type != "lines":
                return None
            when = datetime(2024, 1, 1, tzinfo=timezone.utc)
            return ParseResult(alerts=[
                Alert(title=f"{context.settings.prefix}: {line}", source_time=when)
                for line in request.body.decode().splitlines()
            ])
        """,
    )
    path = tmp_path / "lines.txt"
    path.write_text("disk full\ncpu hot\n")
    result = run("--type", "lines", "--set", "prefix=host1", "--json", str(path))
    assert result.exit_code == 0, result.output
    alerts = json.loads(result.output)["deliveries"][0]["alerts"]
    assert [(a["title"], a["action"], a["fingerprint"]) for a in alerts] == [
        ("host1: disk full", "trigger", "lines:host1: disk full"),
        ("host1: cpu hot", "trigger", "lines:host1: cpu hot"),
    ]


def test_console_script_runs(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "alertgate"),
            "parse",
            "--type",
            "aws_cloudwatch",
            str(AWS_FIXTURES / SNS_METRIC),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[1].startswith("trigger")


def test_parse_and_the_integration_are_documented() -> None:
    root = ROOT_DIR
    doc = (root / "docs/integrations/aws-cloudwatch.md").read_text()
    assert "docs/integrations/aws-cloudwatch.md" in (root / "README.md").read_text()
    for param in main.commands["parse"].params:
        for opt in param.opts:
            if opt.startswith("--"):
                assert opt in doc, f"alertgate parse {opt} is not documented"
    for field in ("insufficient_data", "alarm_severity"):
        assert f"`{field}`" in doc


def test_reads_standard_input() -> None:
    body = (AWS_FIXTURES / SNS_METRIC).read_bytes()
    result = CliRunner().invoke(
        main, ["parse", "--type", "aws_cloudwatch", "--json", "-"], input=body
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["deliveries"][0]["alerts"][0]["action"] == "trigger"

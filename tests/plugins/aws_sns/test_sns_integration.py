"""The generic ``aws_sns`` integration type: one alert per verified SNS message."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from alertgate.errors import ForbiddenDelivery
from alertgate.models import Action, InboundRequest, ParseContext, Severity
from alertgate.plugins.aws_cloudtrail.demo import alarm_message
from alertgate.plugins.aws_sns.settings import CERT_DIR_ENV
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.registry import Plugins, load_plugins
from tests.paths import ROOT_DIR
from tests.sns_support import TOPIC, request

ROOT = ROOT_DIR


def test_entry_point_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert (
        project["project"]["entry-points"]["alertgate.plugins"]["aws_sns"]
        == "alertgate.plugins.aws_sns"
    )


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    loaded = load_plugins()
    if "aws_sns" not in loaded.types:
        pytest.skip(
            "aws_sns entry point not installed here: re-run /work/bin/mkwt (pip install -e .)"
        )
    return loaded


@pytest.fixture
def signer(tmp_path: Path, plugins: Plugins) -> SnsSigner:
    signer = SnsSigner(tmp_path, "generic")
    plugins.configure(environ={CERT_DIR_ENV: str(tmp_path)})
    return signer


def _context(plugins: Plugins, settings: dict[str, object]) -> ParseContext:
    return ParseContext(7, "aws_sns", plugins.validate_settings("aws_sns", settings))


def test_listed_as_builtin(plugins: Plugins) -> None:
    registered = plugins.types["aws_sns"]
    assert registered.type.title == "Amazon SNS"
    assert registered.plugin.builtin is True


def test_message_becomes_alert_grouped_by_topic_and_subject(
    plugins: Plugins, signer: SnsSigner
) -> None:
    context = _context(plugins, {})
    first = signer.notification("Bounce for a@example.com", topic_arn=TOPIC, subject="SES bounce")
    second = signer.notification("Bounce for b@example.com", topic_arn=TOPIC, subject="SES bounce")
    [a] = plugins.parse(context, request(signer.body(first))).alerts
    [b] = plugins.parse(context, request(signer.body(second))).alerts
    assert a.title == "SES bounce" and a.action is Action.TRIGGER
    assert a.severity is Severity.WARNING
    assert a.dedupe_key == first["MessageId"]
    assert a.fingerprint == b.fingerprint == f"{TOPIC}|SES bounce"
    assert a.attributes["topic_arn"] == TOPIC
    no_subject = signer.notification("\n  first line\nsecond", topic_arn=TOPIC)
    [c] = plugins.parse(context, request(signer.body(no_subject))).alerts
    assert c.title == "first line" and c.fingerprint != a.fingerprint


def test_info_action_and_verification(plugins: Plugins, signer: SnsSigner) -> None:
    context = _context(plugins, {"action": "info", "severity": "critical"})
    doc = signer.notification("x", topic_arn=TOPIC)
    [alert] = plugins.parse(context, request(signer.body(doc))).alerts
    assert alert.action is Action.INFO and alert.severity is Severity.CRITICAL
    doc["Message"] = "y"
    with pytest.raises(ForbiddenDelivery):
        plugins.parse(context, request(signer.body(doc)))


def test_sns_fed_types_work_with_the_aws_sns_plugin_disabled(tmp_path: Path) -> None:
    """The SNS runtime and settings are the aws_sns package's, not its entry point's:
    disabling the generic type leaves CloudWatch deliveries verified as before."""
    plugins = load_plugins(disabled=("aws_sns",))
    assert "aws_sns" not in plugins.types and "aws_cloudwatch" in plugins.types
    signer = SnsSigner(tmp_path, "no-aws-sns")
    plugins.configure(environ={CERT_DIR_ENV: str(tmp_path)})
    settings = plugins.validate_settings("aws_cloudwatch", {})
    message = alarm_message("ALARM", "OK", datetime.now(UTC))
    body = signer.body(signer.notification(message, topic_arn=TOPIC))
    result = plugins.parse(ParseContext(1, "aws_cloudwatch", settings), InboundRequest(body, {}))
    assert [alert.action for alert in result.alerts] == [Action.TRIGGER]
    assert result.state_updates["sns"]["status"] == "confirmed"

"""Plugin discovery, validation and the hook dispatch rules, through real entry points."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from alertgate import hookspecs
from alertgate.cli import main
from alertgate.errors import PluginError
from alertgate.models import Action, Alert, InboundRequest, IncidentEvent, ParseContext, Severity
from alertgate.registry import load_plugins
from tests.paths import ROOT_DIR

ROOT = ROOT_DIR

WEBHOOK_PLUGIN = """
from pydantic import BaseModel
from alertgate import hookimpl
from alertgate.models import Alert, IntegrationType, ParseResult
import json
from datetime import datetime, timezone

class Settings(BaseModel):
    prefix: str = "hook"

@hookimpl
def alertgate_integration_types():
    return [IntegrationType("tiny_webhook", "Tiny Webhook", "JSON {name, state}",
                            "https://example.invalid/docs", Settings)]

@hookimpl
def alertgate_parse_request(integration_type, request, context):
    if integration_type != "tiny_webhook":
        return None
    doc = json.loads(request.body)
    return ParseResult(alerts=[Alert(title=doc["name"], attributes=doc,
                       source_time=datetime(2024, 1, 1, tzinfo=timezone.utc))])

@hookimpl
def alertgate_fingerprint(integration_type, alert, settings):
    if integration_type == "tiny_webhook":
        return f"{settings.prefix}:{alert.attributes['name']}"

@hookimpl
def alertgate_classify(integration_type, alert):
    if integration_type == "tiny_webhook":
        return "resolve" if alert.attributes["state"] == "ok" else "trigger"
"""

ACCOUNT_GROUPING_PLUGIN = """
from alertgate import hookimpl

@hookimpl
def alertgate_fingerprint(integration_type, alert):
    if integration_type == "aws_cloudtrail":
        return "account:" + alert.attributes.get("account", "?")

@hookimpl
def alertgate_classify(integration_type, alert):
    state = alert.attributes.get("state")
    if integration_type == "aws_cloudtrail" and state == "INSUFFICIENT_DATA":
        return "resolve"
"""


def _cloudtrail_alert(**attributes: str) -> Alert:
    return Alert(title="t", source_time=datetime(2024, 1, 1, tzinfo=UTC), attributes=attributes)


def test_builtins_are_entry_points_of_alertgate() -> None:
    plugins = load_plugins(disabled=())
    assert {"aws_cloudwatch", "aws_cloudtrail"} <= set(plugins.types)
    for slug in ("aws_cloudwatch", "aws_cloudtrail"):
        reg = plugins.types[slug]
        assert reg.plugin.name == slug
        assert reg.plugin.distribution == "alertgate"
        assert reg.plugin.builtin is True
    assert plugins.types["aws_cloudtrail"].type.title == "AWS CloudTrail"
    assert plugins.types["aws_cloudwatch"].type.title == "AWS CloudWatch"


def test_cli_plugins_json_lists_builtins() -> None:
    result = CliRunner().invoke(main, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["slug"]: row for row in json.loads(result.output)}
    assert rows["aws_cloudtrail"]["distribution"] == "alertgate"
    assert rows["aws_cloudtrail"]["builtin"] is True
    assert rows["aws_cloudwatch"]["title"] == "AWS CloudWatch"


def test_cli_plugins_table() -> None:
    result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 0
    assert re.search(r"aws_cloudtrail\s+AWS CloudTrail\s+aws_cloudtrail\s+alertgate", result.output)


def test_third_party_type_is_listed_and_parses(install_plugin) -> None:
    install_plugin(
        "tiny_webhook_plugin", WEBHOOK_PLUGIN, distribution="tiny-webhook", version="2.3"
    )
    result = CliRunner().invoke(main, ["plugins", "--json"])
    rows = {row["slug"]: row for row in json.loads(result.output)}
    assert rows["tiny_webhook"]["distribution"] == "tiny-webhook"
    assert rows["tiny_webhook"]["version"] == "2.3"
    assert rows["tiny_webhook"]["builtin"] is False

    plugins = load_plugins(disabled=())
    settings = plugins.validate_settings("tiny_webhook", {"prefix": "p"})
    context = ParseContext(integration_id=1, integration_type="tiny_webhook", settings=settings)
    request = InboundRequest(body=b'{"name": "db", "state": "ok"}', headers={})
    (alert,) = plugins.parse(context, request).alerts
    assert alert.fingerprint == "p:db"
    assert alert.action is Action.RESOLVE


def test_third_party_overrides_builtin_fingerprint_and_resolve(install_plugin) -> None:
    install_plugin("account_grouping", ACCOUNT_GROUPING_PLUGIN)
    plugins = load_plugins(disabled=())
    settings = plugins.validate_settings("aws_cloudtrail", {})
    alert = plugins.complete_alert(
        "aws_cloudtrail", _cloudtrail_alert(account="111", state="INSUFFICIENT_DATA"), settings
    )
    assert alert.fingerprint == "account:111"
    assert alert.action is Action.RESOLVE
    # Other types are untouched by the override.
    other = plugins.complete_alert("aws_cloudwatch", _cloudtrail_alert(account="111"), settings)
    assert other.fingerprint != "account:111"


def test_disabled_plugin_is_not_loaded(install_plugin, monkeypatch) -> None:
    name = install_plugin("account_grouping", ACCOUNT_GROUPING_PLUGIN)
    monkeypatch.setenv("ALERTGATE_DISABLE_PLUGINS", f" {name} , nothing_else")
    plugins = load_plugins()
    assert name not in plugins.infos
    assert "aws_cloudtrail" in plugins.types


def test_import_error_names_plugin_and_distribution(install_plugin) -> None:
    install_plugin("broken_plugin", "import does_not_exist_anywhere\n", distribution="broken-dist")
    with pytest.raises(PluginError, match=r"'broken_plugin'.*'broken-dist'.*failed to import"):
        load_plugins(disabled=())
    result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 1
    assert "broken_plugin" in result.output


def test_hook_without_spec_fails_loudly(install_plugin) -> None:
    install_plugin(
        "typo_plugin",
        "from core import hookimpl\n@hookimpl\ndef alertgate_fingerprnt(alert):\n    return 'x'\n",
        distribution="typo-dist",
    )
    with pytest.raises(PluginError, match=r"typo_plugin.*typo-dist.*alertgate_fingerprnt"):
        load_plugins(disabled=())


def test_bad_hook_signature_fails_loudly(install_plugin) -> None:
    install_plugin(
        "badsig_plugin",
        "from core import hookimpl\n@hookimpl\ndef alertgate_fingerprint(alert, colour):\n"
        "    return 'x'\n",
    )
    with pytest.raises(PluginError, match=r"(?s)badsig_plugin.*colour"):
        load_plugins(disabled=())


def test_duplicate_slug_names_both_plugins(install_plugin) -> None:
    install_plugin(
        "impostor",
        """
from pydantic import BaseModel
from alertgate import hookimpl
from alertgate.models import IntegrationType
@hookimpl
def alertgate_integration_types():
    return [IntegrationType("aws_cloudtrail", "Fake", "", "", BaseModel)]
""",
        distribution="impostor-dist",
    )
    with pytest.raises(
        PluginError, match=r"'aws_cloudtrail'.*impostor.*impostor-dist.*aws_cloudtrail"
    ):
        load_plugins(disabled=())


def test_unknown_type_is_clear() -> None:
    plugins = load_plugins(disabled=())
    with pytest.raises(KeyError, match=r"unknown integration type 'nope'.*aws_cloudtrail"):
        plugins.get_type("nope")


LIFECYCLE_PLUGIN = """
from alertgate import hookimpl
EVENTS = []

@hookimpl
def alertgate_incident_opened(event):
    EVENTS.append(("opened", event.incident_id))

@hookimpl
def alertgate_alert_attached(event):
    EVENTS.append(("attached", event.alert_id))

@hookimpl
def alertgate_incident_acknowledged(event):
    EVENTS.append(("acknowledged", event.actor))

@hookimpl
def alertgate_incident_resolved(event):
    EVENTS.append(("resolved", event.actor))
"""

FAILING_NOTIFIER = """
from alertgate import hookimpl

@hookimpl(tryfirst=True)
def alertgate_incident_opened(event):
    raise RuntimeError("pager down")
"""


def _event(**extra) -> IncidentEvent:
    base = dict(
        incident_id=7,
        service="web",
        fingerprint="f",
        title="t",
        severity=Severity.ERROR,
        status="triggered",
    )
    base.update(extra)
    return IncidentEvent(**base)


def test_lifecycle_failing_notifier_does_not_block_others(install_plugin, caplog) -> None:
    import sys

    install_plugin("recorder", LIFECYCLE_PLUGIN)
    install_plugin("failing_notifier", FAILING_NOTIFIER)
    plugins = load_plugins(disabled=())
    plugins.incident_opened(_event())
    assert sys.modules["recorder"].EVENTS == [("opened", 7)]
    assert "failing_notifier" in caplog.text and "pager down" in caplog.text


def test_hookspecs_all_prefixed_and_documented() -> None:
    names = [n for n in dir(hookspecs) if n.startswith("alertgate_")]
    docs = (ROOT / "docs" / "plugins.md").read_text()
    for name in names:
        spec = getattr(hookspecs, name)
        assert spec.__doc__ and len(spec.__doc__) > 60, f"{name} needs a docstring"
        assert f"### {name}" in docs, f"{name} is not documented in docs/plugins.md"
        assert "```python" in docs.split(f"### {name}", 1)[1].split("\n### ", 1)[0], (
            f"{name}'s section in docs/plugins.md has no example"
        )


def test_every_hook_has_a_test() -> None:
    """Like datasette: each hook needs a test function named test_hook_<hook name>."""
    names = [n for n in dir(hookspecs) if n.startswith("alertgate_")]
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    missing = [n for n in names if f"def test_hook_{n}(" not in sources]
    assert not missing, f"hooks without a test_hook_<name> test: {missing}"


# --- one test per hook, named for test_every_hook_has_a_test ---------------------------


def test_hook_alertgate_integration_types(install_plugin) -> None:
    install_plugin("tiny_webhook_plugin", WEBHOOK_PLUGIN)
    plugins = load_plugins(disabled=())
    assert plugins.get_type("tiny_webhook").title == "Tiny Webhook"
    assert plugins.validate_settings("tiny_webhook", {}).prefix == "hook"


def test_hook_alertgate_parse_request(install_plugin) -> None:
    install_plugin("tiny_webhook_plugin", WEBHOOK_PLUGIN)
    plugins = load_plugins(disabled=())
    context = ParseContext(1, "tiny_webhook", plugins.validate_settings("tiny_webhook", {}))
    result = plugins.parse(context, InboundRequest(b'{"name": "n", "state": "bad"}', {}))
    assert [a.title for a in result.alerts] == ["n"]


def test_hook_alertgate_fingerprint(install_plugin) -> None:
    install_plugin("account_grouping", ACCOUNT_GROUPING_PLUGIN)
    plugins = load_plugins(disabled=())
    settings = plugins.validate_settings("aws_cloudtrail", {})
    alert = plugins.complete_alert("aws_cloudtrail", _cloudtrail_alert(account="222"), settings)
    assert alert.fingerprint == "account:222"


def test_hook_alertgate_classify(install_plugin) -> None:
    install_plugin("tiny_webhook_plugin", WEBHOOK_PLUGIN)
    plugins = load_plugins(disabled=())
    settings = plugins.validate_settings("tiny_webhook", {})
    alert = Alert(
        title="x",
        source_time=datetime(2024, 1, 1, tzinfo=UTC),
        attributes={"name": "x", "state": "ok"},
    )
    assert plugins.complete_alert("tiny_webhook", alert, settings).action is Action.RESOLVE


def test_hook_alertgate_incident_opened(install_plugin) -> None:
    import sys

    install_plugin("recorder", LIFECYCLE_PLUGIN)
    load_plugins(disabled=()).incident_opened(_event(incident_id=9))
    assert sys.modules["recorder"].EVENTS == [("opened", 9)]


def test_hook_alertgate_alert_attached(install_plugin) -> None:
    import sys

    install_plugin("recorder", LIFECYCLE_PLUGIN)
    load_plugins(disabled=()).alert_attached(_event(alert_id=41))
    assert sys.modules["recorder"].EVENTS == [("attached", 41)]


def test_hook_alertgate_incident_acknowledged(install_plugin) -> None:
    import sys

    install_plugin("recorder", LIFECYCLE_PLUGIN)
    load_plugins(disabled=()).incident_acknowledged(_event(actor="token:ops"))
    assert sys.modules["recorder"].EVENTS == [("acknowledged", "token:ops")]


def test_hook_alertgate_incident_resolved(install_plugin) -> None:
    import sys

    install_plugin("recorder", LIFECYCLE_PLUGIN)
    load_plugins(disabled=()).incident_resolved(_event(actor="alert"))
    assert sys.modules["recorder"].EVENTS == [("resolved", "alert")]


CHANNEL_PLUGIN = """
import json
from pydantic import BaseModel, SecretStr
from alertgate import ChannelType, NotificationError, hookimpl

SENT = []


class Settings(BaseModel):
    url: str
    token: SecretStr


@hookimpl
def alertgate_channel_types():
    return [ChannelType("tiny_chat", "Tiny chat", "Posts a line.", Settings)]


@hookimpl
def alertgate_send_notification(channel_type, notification, settings, http):
    if channel_type != "tiny_chat":
        return None
    if settings.token.get_secret_value() == "bad":
        raise NotificationError("token refused", retryable=False)
    SENT.append((notification.headline, notification.idempotency_key))
    return True
"""


def test_hook_alertgate_channel_types(install_plugin) -> None:
    install_plugin("tiny_chat_plugin", CHANNEL_PLUGIN)
    plugins = load_plugins(disabled=())
    ctype = plugins.get_channel_type("tiny_chat")
    assert ctype.title == "Tiny chat"
    assert ctype.secret_fields == {"token"}
    assert {"webhook", "slack", "email", "pagerduty"} <= set(plugins.channel_types)


def test_hook_alertgate_send_notification(install_plugin) -> None:
    import sys

    from alertgate import Notification, NotificationError, NotifyEvent, OutboundHttp

    install_plugin("tiny_chat_plugin", CHANNEL_PLUGIN)
    plugins = load_plugins(disabled=())
    model = plugins.get_channel_type("tiny_chat").settings_model
    payload = {"incident": {"severity": "error", "service": "api", "title": "down"}}
    note = Notification("ag-1", NotifyEvent.OPENED, payload, "chat")
    http = OutboundHttp()
    plugins.send_notification("tiny_chat", note, model(url="http://x/", token="ok"), http)
    assert sys.modules["tiny_chat_plugin"].SENT == [("[TRIGGERED] error api: down", "ag-1")]
    try:
        plugins.send_notification("tiny_chat", note, model(url="http://x/", token="bad"), http)
    except NotificationError as exc:
        assert not exc.retryable
    else:
        raise AssertionError("the plugin's failure was swallowed")
    try:
        plugins.send_notification("nobody", note, model(url="http://x/", token="ok"), http)
    except NotificationError as exc:
        assert "no installed plugin" in str(exc)
    else:
        raise AssertionError("an unknown type was sent")

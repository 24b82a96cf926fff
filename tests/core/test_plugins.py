"""Plugin discovery, validation and the hook dispatch rules, through real entry points."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from alertgate import hookspecs
from alertgate.cli import main
from alertgate.errors import MalformedDelivery, PluginError, PluginHookError
from alertgate.models import Action, Alert, InboundRequest, IncidentEvent, ParseContext, Severity
from alertgate.registry import BrokenPlugin, Plugins, UnknownIntegrationType, load_plugins
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


def _broken(plugins: Plugins) -> dict[str, BrokenPlugin]:
    return {b.name: b for b in plugins.broken}


def test_import_error_sets_the_plugin_aside_loudly(install_plugin, caplog) -> None:
    install_plugin("broken_plugin", "import does_not_exist_anywhere\n", distribution="broken-dist")
    install_plugin("tiny_webhook", WEBHOOK_PLUGIN)
    plugins = load_plugins(disabled=())
    broken = _broken(plugins)["broken_plugin"]
    assert (broken.distribution, broken.version) == ("broken-dist", "1.0")
    assert "does_not_exist_anywhere" in broken.error
    assert {"tiny_webhook", "aws_cloudtrail"} <= set(plugins.types)  # the others serve
    assert "broken_plugin" not in plugins.infos
    lines = [r for r in caplog.records if "broken_plugin" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.ERROR
    line = lines[0].getMessage()
    assert "'broken_plugin'" in line and "broken-dist 1.0" in line
    assert "does_not_exist_anywhere" in line and "ALERTGATE_DISABLE_PLUGINS=broken_plugin" in line
    with pytest.raises(UnknownIntegrationType, match="failed to load: broken_plugin"):
        plugins.get_type("broken_type")
    with pytest.raises(PluginError, match=r"'broken_plugin'.*broken-dist.*does_not_exist"):
        load_plugins(disabled=(), strict=True)


def test_cli_lists_a_broken_plugin_and_fails_only_when_strict(install_plugin) -> None:
    install_plugin("broken_plugin", "import does_not_exist_anywhere\n", distribution="broken-dist")
    result = CliRunner().invoke(main, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["plugin"]: row for row in json.loads(result.stdout)}
    assert rows["broken_plugin"]["status"] == "broken"
    assert rows["broken_plugin"]["distribution"] == "broken-dist"
    assert "does_not_exist_anywhere" in rows["broken_plugin"]["error"]
    assert rows["aws_cloudtrail"]["status"] == "ok"
    table = CliRunner().invoke(main, ["plugins"])
    assert table.exit_code == 0
    assert re.search(r"broken_plugin\s+broken-dist\s+1.0\s+no\s+broken", table.output)
    assert CliRunner().invoke(main, ["plugins", "--strict"]).exit_code == 1
    assert CliRunner().invoke(main, ["plugins", "--json", "--strict"]).exit_code == 1
    assert (
        CliRunner()
        .invoke(main, ["plugins", "--strict"], env={"ALERTGATE_DISABLE_PLUGINS": "broken_plugin"})
        .exit_code
        == 0
    )


def test_every_misspelled_hook_is_set_aside(install_plugin) -> None:
    # pluggy's check_pending reports one offender at a time: both must be found.
    for module in ("typo_one", "typo_two"):
        install_plugin(
            module,
            "from alertgate import hookimpl\n@hookimpl\ndef alertgate_fingerprnt(alert):\n"
            "    return 'x'\n",
            distribution=f"{module}-dist",
        )
    install_plugin("tiny_webhook", WEBHOOK_PLUGIN)
    plugins = load_plugins(disabled=())
    broken = _broken(plugins)
    assert set(broken) == {"typo_one", "typo_two"}
    assert "alertgate_fingerprnt" in broken["typo_one"].error
    assert broken["typo_two"].distribution == "typo_two-dist"
    assert "tiny_webhook" in plugins.types
    assert plugins.pm.get_plugin("typo_one") is None


def test_bad_hook_signature_sets_the_plugin_aside(install_plugin) -> None:
    install_plugin(
        "badsig_plugin",
        "from alertgate import hookimpl\n@hookimpl\ndef alertgate_fingerprint(alert, colour):\n"
        "    return 'x'\n",
    )
    plugins = load_plugins(disabled=())
    assert "colour" in _broken(plugins)["badsig_plugin"].error
    assert plugins.pm.get_plugin("badsig_plugin") is None  # no half-registered hooks
    assert "alertgate_fingerprint" not in plugins.hooks_of("badsig_plugin")


IMPOSTOR = """
from pydantic import BaseModel
from alertgate import hookimpl
from alertgate.models import IntegrationType
@hookimpl
def alertgate_integration_types():
    return [IntegrationType("aws_cloudtrail", "Fake", "", "", BaseModel)]
@hookimpl
def alertgate_fingerprint(integration_type, alert):
    return "hijacked"
"""


def test_a_plugin_claiming_a_builtin_slug_is_set_aside(install_plugin) -> None:
    install_plugin("aaa_impostor", IMPOSTOR, distribution="impostor-dist")
    plugins = load_plugins(disabled=())
    broken = _broken(plugins)["aaa_impostor"]
    assert "'aws_cloudtrail' by plugin 'aws_cloudtrail'" in broken.error
    assert broken.slugs == ("aws_cloudtrail",)
    assert plugins.types["aws_cloudtrail"].plugin.name == "aws_cloudtrail"
    # None of the impostor's hooks run.
    settings = plugins.validate_settings("aws_cloudtrail", {})
    alert = plugins.complete_alert("aws_cloudtrail", _cloudtrail_alert(), settings)
    assert alert.fingerprint != "hijacked"


def test_of_two_third_party_plugins_claiming_a_slug_the_later_is_set_aside(
    install_plugin,
) -> None:
    install_plugin("webhook_a", WEBHOOK_PLUGIN)
    install_plugin("webhook_b", WEBHOOK_PLUGIN)
    plugins = load_plugins(disabled=())
    assert plugins.types["tiny_webhook"].plugin.name == "webhook_a"
    assert "'tiny_webhook' by plugin 'webhook_a'" in _broken(plugins)["webhook_b"].error


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("raise RuntimeError('no config')", "raised RuntimeError('no config')"),
        ("return 'aws_x'", "returned str; expected a list"),
        ("return ['aws_x']", "returned a str in its list"),
    ],
)
def test_a_failing_integration_types_hook_sets_the_plugin_aside(
    install_plugin, body: str, error: str
) -> None:
    install_plugin(
        "bad_types",
        f"from alertgate import hookimpl\n@hookimpl\ndef alertgate_integration_types():\n"
        f"    {body}\n",
    )
    plugins = load_plugins(disabled=())
    assert error in _broken(plugins)["bad_types"].error
    assert "aws_cloudtrail" in plugins.types


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
    lines = [json.loads(m) for m in caplog.messages if m.startswith('{"event":"plugin_error"')]
    assert [(x["plugin"], x["hook"], x["incident_id"]) for x in lines] == [
        ("failing_notifier", "alertgate_incident_opened", 7)
    ]
    assert "pager down" in lines[0]["error"] and "Traceback" in caplog.text


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


# -- hook errors and bad results name the plugin and the hook --------------------------------


def _tiny_parse(plugins: Plugins, body: bytes = b'{"name": "db", "state": "alarm"}') -> Any:
    settings = plugins.validate_settings("tiny_webhook", {})
    context = ParseContext(integration_id=1, integration_type="tiny_webhook", settings=settings)
    return plugins.parse(context, InboundRequest(body=body, headers={}))


@pytest.mark.parametrize(
    ("hook", "body", "problem"),
    [
        ("alertgate_fingerprint", "raise KeyError('name')", "failed (KeyError)"),
        ("alertgate_fingerprint", "return 42", "returned int; expected a non-empty str"),
        ("alertgate_fingerprint", "return ''", "returned str; expected a non-empty str"),
        ("alertgate_classify", "return 'explode'", "returned str; expected an alertgate.Action"),
        ("alertgate_classify", "return []", "returned list; expected an alertgate.Action"),
    ],
)
# Plugins registered later run first: the zz_ names put theirs before tiny_webhook's.
def test_a_failing_hook_is_named_with_its_plugin(
    install_plugin, hook: str, body: str, problem: str
) -> None:
    install_plugin("tiny_webhook", WEBHOOK_PLUGIN)
    install_plugin(
        "zz_meddler",
        f"from alertgate import hookimpl\n@hookimpl\ndef {hook}(integration_type, alert):\n"
        f"    {body}\n",
    )
    plugins = load_plugins(disabled=())
    with pytest.raises(PluginHookError) as caught:
        _tiny_parse(plugins)
    assert (caught.value.hook, caught.value.plugin) == (hook, "zz_meddler")
    assert caught.value.public_message.startswith(f"{hook} of plugin 'zz_meddler' {problem}")


@pytest.mark.parametrize(
    ("result", "problem"),
    [
        ("{'alerts': []}", "returned dict; expected alertgate.ParseResult"),
        ("ParseResult(alerts=['x'])", "returned str; expected a list of alertgate.Alert"),
        ("ParseResult(alerts=[Alert('t', NOW, severity='loud')])", "returned str; expected a"),
        ("ParseResult(alerts=[Alert('t', NOW, fingerprint=7)])", "returned int; expected a str"),
    ],
)
def test_a_wrong_parse_result_is_the_parsers_error(
    install_plugin, result: str, problem: str
) -> None:
    install_plugin(
        "sloppy_parser",
        WEBHOOK_PLUGIN.replace("tiny_webhook", "sloppy")
        + "\nNOW = datetime(2024, 1, 1, tzinfo=timezone.utc)\n"
        + "@hookimpl(tryfirst=True)\ndef alertgate_parse_request(integration_type):\n"
        + "    if integration_type == 'tiny_webhook':\n"
        + f"        return {result}\n",
    )
    install_plugin("tiny_webhook", WEBHOOK_PLUGIN)
    with pytest.raises(PluginHookError, match=re.escape(problem)) as caught:
        _tiny_parse(load_plugins(disabled=()))
    assert (caught.value.hook, caught.value.plugin) == ("alertgate_parse_request", "sloppy_parser")


def test_values_that_convert_are_accepted_and_rejections_pass_through(install_plugin) -> None:
    install_plugin("tiny_webhook", WEBHOOK_PLUGIN)  # its classify returns plain strings
    result = _tiny_parse(load_plugins(disabled=()), b'{"name": "db", "state": "ok"}')
    assert result.alerts[0].action is Action.RESOLVE
    install_plugin(
        "zz_refuser",
        "from alertgate import hookimpl, MalformedDelivery\n@hookimpl\n"
        "def alertgate_fingerprint(alert):\n    raise MalformedDelivery('no_name', 'no name')\n",
    )
    with pytest.raises(MalformedDelivery, match="no name"):
        _tiny_parse(load_plugins(disabled=()))


def test_a_hook_with_a_wrapper_still_names_the_failing_plugin(install_plugin) -> None:
    install_plugin("tiny_webhook", WEBHOOK_PLUGIN)
    install_plugin(
        "wrapper",
        "from alertgate import hookimpl\n@hookimpl(wrapper=True)\n"
        "def alertgate_fingerprint(alert):\n    return (yield)\n",
    )
    install_plugin(
        "zz_crasher",
        "from alertgate import hookimpl\n@hookimpl\n"
        "def alertgate_fingerprint(alert):\n    raise ZeroDivisionError\n",
    )
    with pytest.raises(PluginHookError) as caught:
        _tiny_parse(load_plugins(disabled=()))
    assert caught.value.plugin == "zz_crasher"


def test_unknown_settings_keys_are_refused(install_plugin) -> None:
    install_plugin("tiny_webhook", WEBHOOK_PLUGIN)
    plugins = load_plugins(disabled=())
    with pytest.raises(ValidationError, match=r"(?s)prefx.*Extra inputs are not permitted"):
        plugins.validate_settings("tiny_webhook", {"prefx": "x"})
    # Stored settings of an older plugin version still load.
    stored = plugins.validate_settings("tiny_webhook", {"prefx": "x"}, known_keys_only=False)
    assert stored.model_dump() == {"prefix": "hook"}


def test_unknown_settings_keys_accept_aliases(install_plugin) -> None:
    install_plugin(
        "aliased",
        WEBHOOK_PLUGIN.replace('prefix: str = "hook"', 'prefix: str = Field("h", alias="Prefix")')
        .replace("from pydantic import BaseModel", "from pydantic import BaseModel, Field")
        .replace("tiny_webhook", "aliased"),
    )
    plugins = load_plugins(disabled=())
    assert plugins.validate_settings("aliased", {"Prefix": "p"}).model_dump() == {"prefix": "p"}

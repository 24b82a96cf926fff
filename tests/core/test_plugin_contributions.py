"""What plugins contribute besides parsing: process settings and runtime (the plugin
context), CLI commands, state descriptions for the UI/API, and the demo's story.

One third-party plugin, installed through a real entry point, uses every such hook.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from alertgate.cli import main
from alertgate.context import PluginContext, StashKey, settings_from_environ
from alertgate.errors import PluginError
from alertgate.models import InboundRequest, ParseContext, StateItem
from alertgate.registry import load_plugins
from alertgate.settings import Settings
from tests.server_helpers import live_server, new_token

TINY_PLUGIN = '''
from datetime import datetime, timezone

import click
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from alertgate import hookimpl
from alertgate.context import StashKey
from alertgate.models import (
    Alert, DemoDelivery, DemoStory, IntegrationType, ParseResult, StateItem,
)

CONFIGURED = []


class TinySettings(BaseModel):
    pass


class TinyProcessSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TINY_")
    greeting: str = Field("hello", description="What tiny titles its alerts.")
    retries: int = Field(3, ge=0, description="How often tiny tries.")


RUNTIME = StashKey("tiny.runtime")


@hookimpl
def alertgate_integration_types():
    return [IntegrationType("tiny", "Tiny", "JSON", "https://example.invalid", TinySettings)]


@hookimpl
def alertgate_settings_model():
    return TinyProcessSettings


@hookimpl
def alertgate_configure(context):
    CONFIGURED.append(context)
    settings = context.settings_of(TinyProcessSettings)
    context.stash[RUNTIME] = {"greeting": settings.greeting, "parses": 0}


@hookimpl
def alertgate_parse_request(integration_type, request, context):
    if integration_type != "tiny":
        return None
    runtime = context.plugin_context.stash[RUNTIME]
    runtime["parses"] += 1
    return ParseResult(
        alerts=[Alert(title=runtime["greeting"], dedupe_key=request.body.decode() or None,
                      source_time=datetime(2024, 1, 1, tzinfo=timezone.utc))],
        state_updates={"tiny": {"seen": runtime["parses"]}},
    )


@click.group()
def tiny():
    """Tiny tools."""


@tiny.command()
def hello():
    click.echo("hello from tiny")


@hookimpl
def alertgate_register_commands(cli):
    cli.add_command(tiny)


@hookimpl
def alertgate_describe_state(integration_type, state):
    if integration_type != "tiny" or "tiny" not in state:
        return None
    return [
        StateItem("Deliveries", f"{state['tiny']['seen']} seen", status="ok"),
        StateItem("Last", "tiny-1", code=True),
    ]


@hookimpl(tryfirst=True)
def alertgate_demo(workdir, now):
    (workdir / "tiny-demo").write_text("made by tiny")
    return DemoStory(
        integration_type="tiny",
        integration_name="Tiny (demo)",
        intro="Sending two tiny deliveries:",
        deliveries=[
            DemoDelivery("first", b"one", {"content-type": "text/plain"}, "opened"),
            DemoDelivery("second", b"two", {"content-type": "text/plain"}, "attached"),
        ],
        environ={"TINY_GREETING": "demo greeting"},
        trust="nothing: tiny deliveries are not signed",
    )
'''

TAKES_A_BUILTIN_NAME = """
import click
from alertgate import hookimpl


@hookimpl
def alertgate_register_commands(cli):
    cli.add_command(click.Command("serve", callback=lambda: click.echo("hijacked")))
"""


@pytest.fixture
def tiny(install_plugin: Any) -> str:
    return str(install_plugin("tiny_plugin", TINY_PLUGIN))


@pytest.fixture
def fresh_cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The top-level group as a new process has it: plugin commands not yet added."""
    monkeypatch.setattr(main, "commands", dict(main.commands))
    for name in ("sns", "cloudtrail", "tiny"):
        main.commands.pop(name, None)
    monkeypatch.setattr(main, "_plugins_added", False)
    yield


def test_hook_alertgate_settings_model(tiny: str) -> None:
    plugins = load_plugins(disabled=())
    models = dict(plugins.settings_models())
    assert models[tiny].__name__ == "TinyProcessSettings"
    context = plugins.configure(Settings(), {"TINY_GREETING": "hi", "TINY_RETRIES": "5"})
    settings = context.settings_of(models[tiny])
    assert (settings.greeting, settings.retries) == ("hi", 5)  # type: ignore[attr-defined]
    with pytest.raises(PluginError, match="plugin 'tiny_plugin' settings are invalid"):
        plugins.configure(Settings(), {"TINY_RETRIES": "-1"})


def test_plugin_settings_come_only_from_the_environment_given(
    tiny: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TINY_GREETING", "from os.environ")
    model = dict(load_plugins(disabled=()).settings_models())[tiny]
    assert settings_from_environ(model, {}).greeting == "hello"  # type: ignore[attr-defined]
    assert settings_from_environ(model, os.environ).greeting == "from os.environ"  # type: ignore[attr-defined]


def test_hook_alertgate_configure(tiny: str) -> None:
    import sys

    plugins = load_plugins(disabled=())
    context = plugins.configure(Settings(), {"TINY_GREETING": "configured"})
    assert [context] == sys.modules["tiny_plugin"].CONFIGURED
    assert plugins.context is context
    # Every delivery gets the same context, and with it the plugin's runtime.
    parse = ParseContext(1, "tiny", plugins.validate_settings("tiny", {}))
    for _ in range(2):
        (alert,) = plugins.parse(parse, InboundRequest(b"", {})).alerts
        assert alert.title == "configured"
    runtime: StashKey[dict[str, Any]] = sys.modules["tiny_plugin"].RUNTIME
    assert context.stash[runtime]["parses"] == 2


def test_stash_keys_are_typed_and_missing_ones_say_why() -> None:
    context = PluginContext(Settings(), {})
    key: StashKey[int] = StashKey("answer")
    context.stash[key] = 42
    assert context.stash[key] == 42 and key in context.stash
    with pytest.raises(KeyError, match="StashKey\\('other'\\) is not in the plugin context"):
        context.stash[StashKey[int]("other")]


def test_hook_alertgate_register_commands(tiny: str, fresh_cli: None) -> None:
    result = CliRunner().invoke(main, ["tiny", "hello"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello from tiny\n"
    listing = CliRunner().invoke(main, ["--help"])
    assert re.search(r"^  tiny\s+Tiny tools\.", listing.output, re.M)
    # The built-in plugins' groups arrive the same way.
    assert re.search(r"^  sns\s+Amazon SNS tools\.", listing.output, re.M)
    assert re.search(r"^  cloudtrail\s+AWS CloudTrail", listing.output, re.M)


def test_a_plugin_cannot_take_a_builtin_command(install_plugin: Any, fresh_cli: None) -> None:
    install_plugin("hijacker", TAKES_A_BUILTIN_NAME)
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "plugin 'hijacker' failed in alertgate_register_commands" in result.output
    assert "already taken: serve" in result.output
    # The built-in serve stays; the other plugins' commands are still added.
    assert "Run the server" in CliRunner().invoke(main, ["serve", "--help"]).output
    assert re.search(r"^  sns\s+Amazon SNS tools\.", result.output, re.M)


def test_hook_alertgate_describe_state(tiny: str, tmp_path: Path) -> None:
    plugins = load_plugins(disabled=())
    assert plugins.describe_state("tiny", {}) == []
    items = plugins.describe_state("tiny", {"tiny": {"seen": 3}})
    assert items == [
        StateItem("Deliveries", "3 seen", status="ok"),
        StateItem("Last", "tiny-1", code=True),
    ]
    # The API and the web UI show what the plugin describes.
    with live_server(tmp_path) as live:
        token = new_token(live.engine)
        api = live.client(token)
        service = api.post("/api/v1/services", json={"name": "tiny-svc"}).json()
        created = api.post(
            "/api/v1/integrations", json={"service_id": service["id"], "type": "tiny"}
        ).json()
        key_path = created["integration_url"].split("/integrations/", 1)[1]
        assert httpx.post(f"{live.base_url}/integrations/{key_path}", content=b"x").is_success
        shown = api.get(f"/api/v1/integrations/{created['id']}").json()
        assert shown["state"] == {"tiny": {"seen": 1}}
        assert shown["state_items"] == [
            {"label": "Deliveries", "value": "1 seen", "status": "ok", "code": False},
            {"label": "Last", "value": "tiny-1", "status": None, "code": True},
        ]
        api.close()


def test_a_plugin_failing_to_describe_state_does_not_break_the_page(
    install_plugin: Any,
) -> None:
    install_plugin(
        "broken_describer",
        """
from alertgate import hookimpl

@hookimpl
def alertgate_describe_state(integration_type, state):
    raise RuntimeError("boom")
""",
    )
    described = load_plugins(disabled=()).describe_state(
        "aws_sns", {"sns": {"status": "confirmed"}}
    )
    # The other plugins' items are still there.
    assert described == [StateItem("Subscription", "Subscription confirmed", status="ok")]


def test_hook_alertgate_demo(tiny: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "trusting     nothing: tiny deliveries are not signed" in out
    assert "service      checkout-api, integration Tiny" in out
    assert "Sending two tiny deliveries:" in out
    assert re.search(r"1\. first .* HTTP 200  opened incident #\d+", out), out
    assert re.search(r"2\. second .* HTTP 200  grouped into incident #\d+", out), out
    # The story's environment reached the demo server's plugins, not this process.
    assert "demo greeting" in out
    assert "TINY_GREETING" not in os.environ


def test_invalid_plugin_settings_name_the_plugin_at_startup(
    tiny: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TINY_RETRIES", "many")
    with pytest.raises(PluginError, match="tiny_plugin") as caught:
        load_plugins(disabled=()).configure()
    assert isinstance(caught.value.__cause__, ValidationError)

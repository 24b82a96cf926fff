"""The pytest fixtures of alertgate.testing, used the way a plugin author uses them."""

from __future__ import annotations

import inspect
import subprocess
import sys
from importlib import metadata

import pytest

from alertgate.registry import Plugins
from alertgate.testing import DeliveryClient, TestApp, build_plugins
from alertgate.testing import pytest_plugin as kit
from tests.core.testing.tiny import RESOLVE, SLUG, TRIGGER, Tiny


@pytest.fixture
def alertgate_plugins() -> Plugins:
    return build_plugins(Tiny())


def test_client_answers_with_the_incidents(alertgate_client: DeliveryClient) -> None:
    opened = alertgate_client.post(SLUG, TRIGGER[0])
    assert opened.status_code == 200
    assert opened.outcomes == ["opened"]
    [incident] = opened.incidents
    assert (incident.status, incident.fingerprint, incident.title) == (
        "triggered",
        "tiny:disk",
        "disk",
    )

    again = alertgate_client.post(SLUG, TRIGGER[0])
    assert again.outcomes == ["attached"]
    assert again.incidents[0].alert_count == 2

    closed = alertgate_client.post(SLUG, RESOLVE[0])
    assert closed.outcomes == ["resolved"]
    assert [(i.id, i.status) for i in closed.incidents] == [(incident.id, "resolved")]
    assert [i.status for i in alertgate_client.incidents()] == ["resolved"]


def test_refusals_come_back_as_json(alertgate_client: DeliveryClient) -> None:
    answer = alertgate_client.post(SLUG, b"{")
    assert answer.status_code == 400
    assert answer.json["code"] == "invalid_tiny"
    assert answer.incidents == []


def test_invalid_settings_are_refused(alertgate_client: DeliveryClient) -> None:
    with pytest.raises(Exception, match="invalid settings for tiny"):
        alertgate_client.post(SLUG, TRIGGER[0], settings={"typo": 1})


def test_app_serves_the_rest_of_alertgate(alertgate_app: TestApp) -> None:
    assert alertgate_app.request("GET", "/healthz").status_code == 200
    assert SLUG in alertgate_app.plugins.types


def test_each_test_gets_an_empty_database(alertgate_client: DeliveryClient) -> None:
    assert alertgate_client.incidents() == []
    assert alertgate_client.app.incidents() == []


def test_explicit_plugin_is_checked_like_an_installed_one() -> None:
    class Typo:
        __name__ = "typo"

        from alertgate import hookimpl

        @hookimpl
        def alertgate_parse_requests(self) -> None:  # no such hook
            pass

    with pytest.raises(Exception, match="alertgate_parse_requests"):
        build_plugins(Typo())


def test_registered_through_pytest11_and_inert() -> None:
    names = {ep.name: ep.value for ep in metadata.entry_points(group="pytest11")}
    assert names["alertgate"] == "alertgate.testing.pytest_plugin"
    assert names["alertgate_sns"] == "alertgate.plugins.aws_sns.testing"
    fixtures = [
        obj
        for _, obj in inspect.getmembers(kit)
        if hasattr(obj, "_fixture_function_marker")
        or type(obj).__name__ == "FixtureFunctionDefinition"
    ]
    assert fixtures, "no fixtures found in alertgate.testing.pytest_plugin"
    hooks = [name for name in vars(kit) if name.startswith("pytest_")]
    assert hooks == []
    for fixture in fixtures:
        marker = getattr(fixture, "_fixture_function_marker", None)
        assert marker is not None and not marker.autouse


def test_importing_the_kit_imports_no_plugin_and_no_server() -> None:
    code = (
        "import sys, alertgate.testing.pytest_plugin; "
        "print([m for m in sys.modules if m.startswith(('alertgate.plugins', 'alertgate.server'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

"""The hook-API range a plugin declares is checked at load, naming the plugin."""

from __future__ import annotations

import pytest

import alertgate
from alertgate.compat import check_plugin, matches
from alertgate.errors import PluginError
from alertgate.registry import load_plugins
from tests.conftest import InstallPlugin

PLUGIN = """
from alertgate import hookimpl, IntegrationType
from pydantic import BaseModel

ALERTGATE_HOOK_API = {declared!r}


@hookimpl
def alertgate_integration_types():
    return [IntegrationType("ranged", "Ranged", "", "", BaseModel)]
"""


@pytest.mark.parametrize(
    ("specifier", "version", "expected"),
    [
        (">=1.0,<2", "1.0", True),
        (">=1.0,<2", "1.7", True),
        (">=1.0,<2", "2.0", False),
        (">=1.1", "1.0", False),
        ("==1.*", "1.4", True),
        ("==1.*", "2.0", False),
        ("!=1.*", "2.0", True),
        ("~=1.1", "1.0", False),
        ("~=1.1", "1.9", True),
        ("~=1.1", "2.0", False),
        ("==1", "1.0", True),
        (" >= 1.0 , < 2 ", "1.0", True),
        (">1.0", "1.0", False),
        ("<=1.0", "1.0", True),
    ],
)
def test_specifier_semantics(specifier: str, version: str, expected: bool) -> None:
    assert matches(specifier, version) is expected


@pytest.mark.parametrize("bad", ["", "1.0", ">=1.0,", ">=x", "=>1.0", ">=1.*", "~=1", ">=1.0;<2"])
def test_unreadable_specifiers_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        matches(bad, "1.0")


def test_hook_api_version_is_exposed_and_readable() -> None:
    assert "HOOK_API_VERSION" in alertgate.__all__
    assert matches(f"=={alertgate.HOOK_API_VERSION}", alertgate.HOOK_API_VERSION)


def test_plugin_without_a_declaration_loads() -> None:
    check_plugin(object(), "plugin 'x'")


def test_matching_range_loads_through_entry_point(install_plugin: InstallPlugin) -> None:
    install_plugin("ranged_plugin", PLUGIN.format(declared=">=1.0,<2"), entry_point="ranged")
    assert "ranged" in load_plugins().types


@pytest.mark.parametrize(
    ("declared", "says"),
    [
        (">=2.0,<3", "supports alertgate hook API '>=2.0,<3'"),
        ("banana", "unreadable ALERTGATE_HOOK_API 'banana'"),
    ],
)
def test_mismatch_names_plugin_and_distribution(
    install_plugin: InstallPlugin, declared: str, says: str
) -> None:
    install_plugin(
        "ranged_plugin",
        PLUGIN.format(declared=declared),
        entry_point="ranged",
        distribution="alertgate-ranged",
        version="3.1",
    )
    with pytest.raises(PluginError) as caught:
        load_plugins()
    message = str(caught.value)
    assert "plugin 'ranged'" in message
    assert "'alertgate-ranged' 3.1" in message
    assert says in message


def test_non_string_declaration_is_refused() -> None:
    class Plugin:
        ALERTGATE_HOOK_API = 1

    with pytest.raises(PluginError, match="expected a string"):
        check_plugin(Plugin(), "plugin 'x'")


def test_check_against_an_explicit_version() -> None:
    class Plugin:
        ALERTGATE_HOOK_API = "<1.1"

    check_plugin(Plugin(), "plugin 'x'", api_version="1.0")
    with pytest.raises(PluginError, match=r"provides hook API 1\.1"):
        check_plugin(Plugin(), "plugin 'x'", api_version="1.1")

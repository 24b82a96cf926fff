"""Settings: every field documented, environment variables honoured."""

from __future__ import annotations

import re

import pytest

from alertgate.context import environment_names
from alertgate.registry import load_plugins
from alertgate.settings import Settings
from tests.paths import ROOT_DIR

DOC = ROOT_DIR / "docs" / "configuration.md"


def test_every_setting_has_a_row_in_the_configuration_table() -> None:
    """The core's settings and the built-in plugins' (``alertgate_settings_model``)."""
    rows = set(re.findall(r"^\| `(ALERTGATE_[A-Z0-9_]+)` \|", DOC.read_text(), re.M))
    fields = {f"ALERTGATE_{name.upper()}" for name in Settings.model_fields}
    plugin_models = load_plugins(disabled=()).settings_models()
    assert [plugin for plugin, _ in plugin_models] == ["aws_sns"]
    for _plugin, model in plugin_models:
        fields.update(environment_names(model))
    assert "ALERTGATE_SNS_CERT_DIR" in fields
    assert fields - rows == set(), "settings without a row in docs/configuration.md"
    assert rows - fields == set(), "rows in docs/configuration.md for settings that do not exist"


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERTGATE_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("ALERTGATE_MAX_BODY_BYTES", "300000")
    monkeypatch.setenv("ALERTGATE_AUTO_MIGRATE", "false")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.max_body_bytes == 300000
    assert settings.auto_migrate is False


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALERTGATE_DATABASE_URL", raising=False)
    monkeypatch.delenv("ALERTGATE_MAX_BODY_BYTES", raising=False)
    settings = Settings()
    assert settings.database_url == "sqlite:///./alertgate.db"
    assert settings.max_body_bytes >= 256 * 1024

"""The pytest fixtures of :mod:`alertgate.testing`, registered through a ``pytest11`` entry point.

Nothing here runs unless a test asks for a fixture: no autouse fixtures, no hooks, and the
application is only imported inside the fixtures, so a test session that does not use
them pays nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from alertgate.registry import Plugins
    from alertgate.testing.app import DeliveryClient, TestApp


@pytest.fixture
def alertgate_plugins() -> Plugins:
    """The plugins the app runs with: everything installed through entry points.

    Override it to register a plugin explicitly (e.g. one defined in the test module)::

        @pytest.fixture
        def alertgate_plugins():
            return alertgate.testing.build_plugins(my_plugin_module)
    """
    from alertgate.testing.app import build_plugins

    return build_plugins()


@pytest.fixture
def alertgate_settings() -> dict[str, Any]:
    """Extra :class:`alertgate.settings.Settings` fields for ``alertgate_app`` (override it)."""
    return {}


@pytest.fixture
def alertgate_app(
    tmp_path: Path, alertgate_plugins: Plugins, alertgate_settings: dict[str, Any]
) -> Iterator[TestApp]:
    """The real app with ``alertgate_plugins``, on a fresh migrated SQLite database."""
    from alertgate.testing.app import TestApp

    with TestApp(tmp_path / "alertgate-app", alertgate_plugins, **alertgate_settings) as app:
        yield app


@pytest.fixture
def alertgate_client(alertgate_app: TestApp) -> DeliveryClient:
    """Posts deliveries to an integration of a given type; answers with the incidents."""
    from alertgate.testing.app import DeliveryClient

    return DeliveryClient(alertgate_app)

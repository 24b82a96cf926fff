"""alertgate.testing: the kit for testing alertgate plugins (yours or the built-in ones).

Importing this module has no side effects and does not need pytest. With pytest, the
fixtures in :mod:`alertgate.testing.pytest_plugin` are available in every test of an
environment where alertgate is installed (a ``pytest11`` entry point) and cost nothing until
a test asks for one:

- ``alertgate_plugins``: the installed plugins (entry points); override it to register a
  plugin module or object explicitly (:func:`build_plugins`).
- ``alertgate_settings``: extra :class:`~alertgate.settings.Settings` fields for the app.
- ``alertgate_app``: a :class:`TestApp`, the real application on a temporary, migrated
  SQLite database, served in memory.
- ``alertgate_client``: a :class:`DeliveryClient` that posts deliveries to an integration
  of a given type and returns the answer with the incidents it touched.

:func:`check_integration_type` checks that an integration type keeps the plugin contract.
Signing SNS messages with a local test certificate is in
:mod:`alertgate.plugins.aws_sns.testing` (fixture ``sns_signer``).
See docs/plugins.md, "alertgate.testing reference".
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alertgate.testing.app import (
        DeliveryClient,
        DeliveryResult,
        IncidentView,
        TestApp,
        TestIntegration,
        build_plugins,
    )
    from alertgate.testing.conformance import check_integration_type

# Imported on first use, so that pytest loading the fixtures (in every test session of an
# environment with alertgate) does not import the server.
_LAZY = {
    "DeliveryClient": "alertgate.testing.app",
    "DeliveryResult": "alertgate.testing.app",
    "IncidentView": "alertgate.testing.app",
    "TestApp": "alertgate.testing.app",
    "TestIntegration": "alertgate.testing.app",
    "build_plugins": "alertgate.testing.app",
    "check_integration_type": "alertgate.testing.conformance",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'alertgate.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "DeliveryClient",
    "DeliveryResult",
    "IncidentView",
    "TestApp",
    "TestIntegration",
    "build_plugins",
    "check_integration_type",
]

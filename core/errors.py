"""Errors a parser raises to reject a delivery with a precise status and a stable code.

The server turns them into ``{"code": ..., "message": ...}`` JSON bodies. Nothing from a
rejected delivery is stored.
"""

from __future__ import annotations


class DeliveryRejected(Exception):
    """Base class: the delivery is refused; the sender should not retry it unchanged."""

    status_code = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class MalformedDelivery(DeliveryRejected):
    """400: the body is not what this integration type accepts."""

    status_code = 400


class ForbiddenDelivery(DeliveryRejected):
    """403: the body is well formed but not trusted (bad signature, disallowed topic...)."""

    status_code = 403


class PluginError(Exception):
    """A plugin could not be loaded or is inconsistent. The message names the plugin."""


class PluginHookError(Exception):
    """A plugin's hook implementation raised, or returned a value of the wrong type.

    The server answers ``500 plugin_error`` with :attr:`public_message` (no traceback, no
    exception text, which may echo the delivery) so the sender retries; the log line
    carries the rest.
    """

    def __init__(self, hook: str, plugin: str | None, problem: str, detail: str = "") -> None:
        who = f"plugin {plugin!r}" if plugin else "one of its plugins"
        self.hook = hook
        self.plugin = plugin
        self.public_message = f"{hook} of {who} {problem}"
        self.detail = detail
        super().__init__(f"{self.public_message}{': ' + detail if detail else ''}")

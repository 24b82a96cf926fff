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

"""alertgate: an alerting integration framework.

This module is the public API plugin authors import::

    from alertgate import hookimpl, IntegrationType, Alert, Action, Severity, ParseResult

Everything listed in ``__all__`` is covered by :data:`HOOK_API_VERSION` (see
docs/plugins.md, "Compatibility"); other modules of the package are internal and may change
in any release.
"""

from alertgate.context import PluginContext, StashKey
from alertgate.errors import DeliveryRejected, ForbiddenDelivery, MalformedDelivery
from alertgate.hookspecs import hookimpl
from alertgate.models import (
    Action,
    ActionResult,
    Alert,
    DemoDelivery,
    DemoStory,
    HandshakeResponse,
    InboundRequest,
    IncidentEvent,
    IntegrationAction,
    IntegrationType,
    ParseContext,
    ParseResult,
    SampleDelivery,
    Severity,
    StateItem,
)
from alertgate.notify.http11 import Response as OutboundResponse
from alertgate.notify.outbound import URL_SCHEMA, OutboundHttp, check_url
from alertgate.notify.plugin import ChannelPlugin
from alertgate.notify.types import ChannelType, Notification, NotificationError, NotifyEvent

__version__ = "0.1.0"

HOOK_API_VERSION = "1.6"
"""Version of the plugin contract (hook specs and the names in ``__all__``), semantic:
the major part changes when a hook or a public name is removed or changes meaning, the
minor part when one is added."""

__all__ = [
    "HOOK_API_VERSION",
    "URL_SCHEMA",
    "Action",
    "ActionResult",
    "Alert",
    "ChannelPlugin",
    "ChannelType",
    "DeliveryRejected",
    "DemoDelivery",
    "DemoStory",
    "ForbiddenDelivery",
    "HandshakeResponse",
    "InboundRequest",
    "IncidentEvent",
    "IntegrationAction",
    "IntegrationType",
    "MalformedDelivery",
    "Notification",
    "NotificationError",
    "NotifyEvent",
    "OutboundHttp",
    "OutboundResponse",
    "ParseContext",
    "ParseResult",
    "PluginContext",
    "SampleDelivery",
    "Severity",
    "StashKey",
    "StateItem",
    "__version__",
    "check_url",
    "hookimpl",
]

"""Domain types shared by the framework and its plugins.

These are plain dataclasses: plugins build them, the engine consumes them. Nothing here
touches the database or the network.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

if TYPE_CHECKING:
    from alertgate.context import PluginContext


class Action(enum.StrEnum):
    """What an alert does to the incident of its grouping key."""

    TRIGGER = "trigger"
    """Open an incident, or join the open one."""
    RESOLVE = "resolve"
    """Resolve the open incident, if there is one."""
    INFO = "info"
    """Recorded on the integration's log; changes no incident."""


class Severity(enum.StrEnum):
    """Incident severity, most severe first (see :data:`SEVERITY_RANK`)."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


SEVERITY_RANK: Mapping[Severity, int] = {
    Severity.CRITICAL: 4,
    Severity.ERROR: 3,
    Severity.WARNING: 2,
    Severity.INFO: 1,
}


@dataclass(slots=True)
class Alert:
    """One normalized alert, as produced by an integration's parse hook.

    ``fingerprint`` and ``action`` are left empty by the parser and filled in by the
    ``alertgate_fingerprint`` and ``alertgate_classify`` hooks, so that another plugin can
    change either without re-implementing the parser.
    """

    title: str
    source_time: datetime
    """When the source says the event happened (timezone-aware, UTC)."""
    dedupe_key: str | None = None
    """Source message id (e.g. SNS ``MessageId``): a redelivery with the same key for the
    same integration is stored once. ``None`` disables deduplication for this alert."""
    kind: str = "alert"
    """Integration-specific kind, e.g. ``cloudwatch_alarm`` or ``cloudtrail_event``."""
    severity: Severity = Severity.ERROR
    summary: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    """Normalized, integration-specific fields a responder (or a fingerprint hook) uses:
    account, region, alarm ARN, state, principal, ..."""
    links: dict[str, str] = field(default_factory=dict)
    payload: Any = None
    """The original payload, kept verbatim for the alert timeline."""
    fingerprint: str = ""
    action: Action | None = None


@dataclass(frozen=True, slots=True)
class InboundRequest:
    """An HTTP delivery to an Integration URL, reduced to what parsers need."""

    body: bytes
    headers: Mapping[str, str]
    """Header names are lower-case."""
    content_type: str = ""
    remote_addr: str | None = None


@dataclass(frozen=True, slots=True)
class ParseContext:
    """Who is being delivered to: passed to the parse hook next to the request."""

    integration_id: int
    integration_type: str
    settings: BaseModel
    """The integration's validated settings (an instance of its type's settings model)."""
    state: Mapping[str, Any] = field(default_factory=dict)
    """Integration state recorded by earlier deliveries (e.g. SNS subscription status)."""
    plugin_context: PluginContext | None = None
    """Process settings and plugin runtime objects (see :mod:`alertgate.context`); set by
    the server, and by :meth:`alertgate.registry.Plugins.parse` when left ``None``."""


@dataclass(slots=True)
class HandshakeResponse:
    """A reply the source expects instead of (or besides) storing alerts."""

    status_code: int = 200
    body: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ParseResult:
    """What a parse hook made of one delivery."""

    alerts: list[Alert] = field(default_factory=list)
    state_updates: dict[str, Any] = field(default_factory=dict)
    """Keys to merge into the integration's state after commit (e.g. subscription
    confirmed, pinned topic). Keys starting with ``_`` (at any depth) are private to the
    plugin: kept, but never shown in the API or the CLI (e.g. a confirmation token)."""
    response: HandshakeResponse | None = None
    note: str = ""
    """One line for the delivery log, e.g. "subscription confirmed"."""


@dataclass(frozen=True, slots=True)
class IntegrationType:
    """Metadata for one integration type, returned by ``alertgate_integration_types``."""

    slug: str
    title: str
    description: str
    docs_url: str
    settings_model: type[BaseModel]
    parses_inline: bool = False
    """The parse hook for this type never blocks, or calls
    :func:`alertgate.blocking.before_blocking_io` first: alertgate then parses its deliveries on
    the event loop instead of a worker thread (see :mod:`alertgate.blocking`)."""


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    """Passed to lifecycle hooks after commit."""

    incident_id: int
    service: str
    fingerprint: str
    title: str
    severity: Severity
    status: str
    integration_id: int | None = None
    alert_id: int | None = None
    actor: str | None = None
    out_of_order: bool = False
    """The incident was made already resolved by alerts that arrived out of order (an
    alarm delivered after the resolve that ends it): ``incident_opened`` with status
    ``resolved`` is followed at once by its ``incident_resolved``. Report it as one
    "fired and cleared" message with both times, never as an open incident."""
    opened_at: datetime | None = None
    """For an ``out_of_order`` incident: when it fired (its first alert's source time)."""
    resolved_at: datetime | None = None
    """For an ``out_of_order`` incident: when it cleared (its resolve's source time)."""


StateStatus = Literal["ok", "pending", "off", "waiting", "error"]


@dataclass(frozen=True, slots=True)
class StateItem:
    """One labelled fact about an integration's recorded state, for the web UI and the API.

    Returned by ``alertgate_describe_state``. The first item with a ``status`` is the
    integration's status badge in the UI's lists; the others are listed on its page.
    """

    label: str
    value: str
    status: StateStatus | None = None
    """A badge: ok | pending | off | waiting, or ``error`` (shown as an error message)."""
    code: bool = False
    """Show the value as code (identifiers such as ARNs)."""


@dataclass(frozen=True, slots=True)
class IntegrationAction:
    """Something a person can do to one integration in its current state (a button on its
    page, ``POST /api/v1/integrations/{id}/actions/{name}``), offered by
    ``alertgate_integration_actions`` and run by ``alertgate_run_integration_action``."""

    name: str
    """Stable identifier, in the API path: lowercase letters, digits, ``_`` and ``-``."""
    label: str
    """The button's text, e.g. "Retry confirmation"."""
    description: str = ""
    """One sentence on what it does, shown beside the button."""


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What running an :class:`IntegrationAction` did."""

    ok: bool
    message: str
    """For people: shown after the action (never a secret)."""
    state_updates: Mapping[str, Any] = field(default_factory=dict)
    """Merged into the integration's state like ``ParseResult.state_updates`` (top-level
    keys replace)."""


@dataclass(frozen=True, slots=True)
class DemoDelivery:
    """One step of ``alertgate demo``: a delivery exactly as the source sends it."""

    label: str
    body: bytes
    headers: Mapping[str, str]
    expect: Literal["opened", "attached", "duplicate", "resolved"]
    """The outcome the core's demo checks for (the ingest answer's ``outcome``)."""


@dataclass(frozen=True, slots=True)
class SampleDelivery:
    """A test alert for one integration type (``alertgate_test_delivery``): a delivery
    exactly as the source sends it, and what the parsing process must trust to accept it."""

    body: bytes
    headers: Mapping[str, str]
    environ: Mapping[str, str] = field(default_factory=dict)
    """Environment added to the plugin context the test is parsed in (e.g. a folder with
    the certificate that signed ``body``); never to the process environment."""


@dataclass(frozen=True, slots=True)
class DemoStory:
    """What an integration type contributes to ``alertgate demo`` (``alertgate_demo``)."""

    integration_type: str
    integration_name: str
    intro: str
    """The line printed before the deliveries are sent."""
    deliveries: list[DemoDelivery]
    environ: Mapping[str, str] = field(default_factory=dict)
    """Environment the demo server's plugin context gets on top of the process's, so it
    trusts the deliveries (e.g. a folder of demo certificates)."""
    trust: str = ""
    """One line saying what the demo trusts and how (printed as ``trusting ...``)."""

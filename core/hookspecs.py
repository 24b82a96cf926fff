"""Hook specifications: the contract between alertgate and its plugins.

Every hook is prefixed ``alertgate_``. A plugin is a module (or object) registered through
the ``alertgate.plugins`` entry-point group that implements some of them with
``@alertgate.hookimpl``. Implementations may accept any subset of a hook's arguments.

Built-in plugins mark their implementations ``trylast=True``, so a third-party plugin's
implementation of a ``firstresult`` hook always runs before the built-in one and can
override it by returning a non-``None`` result, or defer to it by returning ``None``.

See docs/plugins.md for a worked example of every hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from pydantic import BaseModel

    from alertgate.models import (
        Action,
        Alert,
        InboundRequest,
        IncidentEvent,
        IntegrationType,
        ParseContext,
        ParseResult,
    )
    from alertgate.notify.outbound import OutboundHttp
    from alertgate.notify.types import ChannelType, Notification

PROJECT_NAME = "alertgate"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# -------------------------------------------------------------------------------------------
# Registration
# -------------------------------------------------------------------------------------------


@hookspec
def alertgate_integration_types() -> list[IntegrationType]:
    """Declare the integration types this plugin provides.

    Called once when the plugin manager is built. Every implementation's list is
    collected; a slug claimed by two plugins is a load error naming both.

    :return: A list of :class:`alertgate.models.IntegrationType` (slug, title, description,
        docs link, pydantic settings model). Return an empty list to provide none, e.g.
        for a plugin that only changes fingerprinting of an existing type.
    """
    raise NotImplementedError


# -------------------------------------------------------------------------------------------
# Ingest: parse -> fingerprint -> classify
# -------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def alertgate_parse_request(
    integration_type: str, request: InboundRequest, context: ParseContext
) -> ParseResult | None:
    """Turn one HTTP delivery to an Integration URL into zero or more alerts.

    Verify the delivery (signatures, allowed senders), unwrap envelopes and answer
    handshakes (e.g. SNS subscription confirmation) here.

    :param integration_type: The slug of the integration the delivery was sent to.
        Return ``None`` for slugs this plugin does not handle.
    :param request: The body, lower-cased headers and content type of the delivery.
    :param context: The integration id, its validated settings and recorded state.
    :raises alertgate.errors.MalformedDelivery: The body cannot be parsed (HTTP 400).
    :raises alertgate.errors.ForbiddenDelivery: The body is not trusted (HTTP 403).
    :return: A :class:`alertgate.models.ParseResult`. Its alerts need no fingerprint or
        action yet: the two hooks below fill those in.

    Stops at first non-None result.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def alertgate_fingerprint(integration_type: str, alert: Alert, settings: BaseModel) -> str | None:
    """Return the grouping fingerprint of an alert.

    Alerts of one service with the same fingerprint share one open incident.

    :param integration_type: The slug of the integration that received the alert.
    :param alert: The parsed alert (its ``attributes`` hold the integration's fields).
    :param settings: The integration's validated settings.
    :return: A non-empty string, or ``None`` to let the next implementation decide.

    Stops at first non-None result.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def alertgate_classify(integration_type: str, alert: Alert, settings: BaseModel) -> Action | None:
    """Decide what an alert does: trigger, resolve or info (resolve detection).

    :param integration_type: The slug of the integration that received the alert.
    :param alert: The parsed alert, fingerprint already set.
    :param settings: The integration's validated settings.
    :return: A :class:`alertgate.models.Action`, or ``None`` to let the next implementation
        decide. When no implementation decides, the alert triggers.

    Stops at first non-None result.
    """
    raise NotImplementedError


# -------------------------------------------------------------------------------------------
# Lifecycle: called after the change is committed. Exceptions are logged, never propagated.
# -------------------------------------------------------------------------------------------


@hookspec
def alertgate_incident_opened(event: IncidentEvent) -> None:
    """An incident was opened by a triggering alert.

    Called after commit, once per opened incident. An exception raised here is logged
    with the plugin's name and does not affect the delivery or other plugins.

    :param event: The incident's id, service, fingerprint, title, severity and status.
    """


@hookspec
def alertgate_alert_attached(event: IncidentEvent) -> None:
    """A triggering alert joined an already open incident (a repeat).

    Called after commit. Exceptions are logged and ignored.

    :param event: The incident, with ``alert_id`` set to the new alert.
    """


@hookspec
def alertgate_incident_acknowledged(event: IncidentEvent) -> None:
    """An incident was acknowledged by hand (API, CLI or UI).

    Called after commit. Exceptions are logged and ignored.

    :param event: The incident, with ``actor`` naming who acknowledged it.
    """


@hookspec
def alertgate_incident_resolved(event: IncidentEvent) -> None:
    """An incident was resolved, by a resolving alert or by hand.

    Called after commit. Exceptions are logged and ignored.

    :param event: The incident, with ``actor`` naming who or what resolved it.
    """


# -------------------------------------------------------------------------------------------
# Notification channels (issue 19): channel types are plugins, like integration types.
# -------------------------------------------------------------------------------------------


@hookspec
def alertgate_channel_types() -> list[ChannelType]:
    """Declare the notification channel types this plugin provides.

    Called once when the plugin facade is built; a slug claimed by two plugins is a load
    error naming both.

    :return: A list of :class:`alertgate.ChannelType` (slug, title, description, pydantic
        settings model; fields annotated ``SecretStr`` are stored encrypted and never shown).
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def alertgate_send_notification(
    channel_type: str, notification: Notification, settings: BaseModel, http: OutboundHttp
) -> bool | None:
    """Send one notification through a channel.

    Called by the dispatcher on a worker thread; blocking I/O is fine. Use ``http`` for
    HTTP (it validates the URL and never follows redirects). Send
    ``notification.idempotency_key`` along when the receiver can use it: a retry after a
    crash may repeat a message that did get through.

    :param channel_type: The channel's type slug. Return ``None`` for slugs this plugin
        does not handle.
    :param notification: The event, its payload (the documented JSON body) and the
        idempotency key.
    :param settings: The channel's validated settings, secrets included.
    :param http: The outbound HTTP client.
    :raises alertgate.NotificationError: The message did not get through (retryable or
        not); any other exception counts as a retryable failure.
    :return: ``True`` once sent.

    Stops at first non-None result.
    """
    raise NotImplementedError

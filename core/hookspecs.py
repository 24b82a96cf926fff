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

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from pathlib import Path

    import click
    from pydantic import BaseModel

    from alertgate.context import PluginContext
    from alertgate.models import (
        Action,
        ActionResult,
        Alert,
        DemoStory,
        InboundRequest,
        IncidentEvent,
        IntegrationAction,
        IntegrationType,
        ParseContext,
        ParseResult,
        SampleDelivery,
        StateItem,
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


@hookspec
def alertgate_settings_model() -> type[BaseModel] | None:
    """Declare the process settings this plugin reads from the environment.

    Called when the plugin context is built (once per process). The model is usually a
    ``pydantic_settings.BaseSettings`` subclass with ``env_prefix`` set; each field is read
    from ``<env_prefix><FIELD>`` in upper case of the environment alertgate was given (see
    :func:`alertgate.context.settings_from_environ`), validated once, and handed back by
    ``context.settings_of(Model)``. Every field must have a default and a description: the
    settings are listed in docs/configuration.md next to the core's.

    :return: A pydantic model class, or ``None`` for none.
    """
    raise NotImplementedError


@hookspec
def alertgate_configure(context: PluginContext) -> None:
    """Build this plugin's runtime objects, once per process, before any delivery.

    Keep them in ``context.stash`` under a module-level
    :class:`alertgate.context.StashKey`; parse hooks find them again through
    ``ParseContext.plugin_context``. Runtime objects hold no database state (certificate
    caches, HTTP clients). Read the environment only through ``context.environ`` and
    ``context.settings_of(...)``, never ``os.environ``.

    :param context: The core settings, the environment and the validated plugin settings.
    :raises Exception: A misconfiguration; the process refuses to start, naming the plugin.
    """


@hookspec
def alertgate_register_commands(cli: click.Group) -> None:
    """Add this plugin's command groups to the ``alertgate`` command line.

    Called once per CLI run (lazily: only when a command no built-in provides is asked
    for, or for ``--help``). A command name already taken is an error naming the plugin.

    :param cli: The top-level ``alertgate`` click group: call ``cli.add_command(...)``.
    """


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
# Presentation and the demo
# -------------------------------------------------------------------------------------------


@hookspec
def alertgate_describe_state(
    integration_type: str, state: Mapping[str, Any]
) -> list[StateItem] | None:
    """Describe an integration's recorded ``state`` for the web UI and the API.

    ``state`` holds what this plugin's parse hook put in ``ParseResult.state_updates``
    (e.g. a subscription's status); only the plugin knows what it means. Called for every
    integration shown, so keep it cheap and never raise on unexpected contents (the state
    is stored data, maybe written by an older version of the plugin).

    :param integration_type: The slug of the integration.
    :param state: The integration's recorded state (every plugin's keys).
    :return: A list of :class:`alertgate.models.StateItem`, or ``None`` for types and
        states this plugin does not describe. Every implementation's items are shown, in
        plugin order; the first item with a ``status`` is the integration's status badge.
    """
    raise NotImplementedError


@hookspec
def alertgate_integration_actions(
    integration_type: str, state: Mapping[str, Any]
) -> list[IntegrationAction] | None:
    """Offer actions people can run on an integration in its current ``state`` (e.g.
    "Retry confirmation" while a subscription is pending): buttons on its page in the web
    UI, ``actions`` in ``GET /api/v1/integrations/{id}``.

    Called for every integration page and API answer, so keep it cheap, offer an action
    only when it can do something now, and never raise on unexpected contents (``state`` is
    stored data).

    :param integration_type: The slug of the integration.
    :param state: Its recorded state (every plugin's keys).
    :return: :class:`alertgate.models.IntegrationAction` items, or ``None`` for types and
        states this plugin offers nothing for. Every implementation's actions are offered
        (a name already offered by an earlier plugin is skipped).
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def alertgate_run_integration_action(
    integration_type: str,
    action: str,
    settings: BaseModel,
    state: Mapping[str, Any],
    context: PluginContext,
) -> ActionResult | None:
    """Run an action :func:`alertgate_integration_actions` offered for this integration.

    The core checks first that the action is offered for the integration's current state;
    it runs outside any database transaction (so it may make a network call: bound it with
    a timeout, and validate any URL it calls) and merges the result's ``state_updates``
    into the integration's state afterwards. Report failure as ``ActionResult(ok=False,
    message=...)``; an exception is logged and shown as a failure of the plugin.

    :param integration_type: The slug of the integration.
    :param action: The action's ``name``.
    :param settings: The integration's validated settings, :param state: its state.
    :param context: The process's plugin context (e.g. an HTTP client in its stash).
    :return: An :class:`alertgate.models.ActionResult`, or ``None`` for actions this plugin
        does not run.

    Stops at first non-None result.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def alertgate_demo(workdir: Path, now: datetime) -> DemoStory | None:
    """Provide the story ``alertgate demo`` tells: deliveries exactly as the source sends
    them (already signed), and the configuration the demo server needs to trust them.

    :param workdir: A temporary folder for this run (e.g. for a demo signing certificate);
        it is deleted when the demo ends.
    :param now: The current time, for timestamps the deliveries carry.
    :return: A :class:`alertgate.models.DemoStory`, or ``None`` to leave the demo to
        another plugin.

    Stops at first non-None result.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def alertgate_test_delivery(
    integration_type: str,
    settings: BaseModel,
    state: Mapping[str, Any],
    workdir: Path,
    now: datetime,
) -> SampleDelivery | None:
    """Provide a test alert for an integration of ``integration_type`` ("Send a test
    alert": ``alertgate integrations test``, ``POST /api/v1/integrations/{id}/test``).

    The delivery goes through the same parse, fingerprint and classify hooks as a real one,
    so it must be what the source sends, signed where the type checks signatures (trust for
    the signer goes in :attr:`~alertgate.models.SampleDelivery.environ`, which only the
    plugin context the test is parsed in sees). The core marks the resulting alerts as a
    test (``attributes["test"]``, a ``[test]`` title, a fingerprint of their own).

    :param integration_type: The slug of the integration being tested.
    :param settings: Its validated settings, :param state: its recorded state (e.g. to
        send from the SNS topic the integration is pinned to).
    :param workdir: A temporary folder for this test (e.g. a signing certificate); deleted
        afterwards.
    :param now: The current time, for timestamps the delivery carries.
    :return: A :class:`alertgate.models.SampleDelivery`, or ``None`` for types this plugin
        does not provide.

    Stops at first non-None result.
    """
    raise NotImplementedError


# -------------------------------------------------------------------------------------------
# Periodic checks: alerts about what did NOT arrive (hook API 1.4)
# -------------------------------------------------------------------------------------------


@hookspec
def alertgate_periodic_check(
    integration_type: str,
    integration_id: int,
    settings: BaseModel,
    state: Mapping[str, Any],
    now: datetime,
    context: PluginContext,
) -> ParseResult | None:
    """Look at one enabled integration from time to time, when no delivery comes.

    The server calls this for every enabled integration every
    ``ALERTGATE_PERIODIC_CHECK_INTERVAL_SECONDS`` (one process at a time across every
    server on the database). What it returns is ingested like a delivery to the
    integration: its alerts are fingerprinted (unless already set) and classified by the
    usual hooks and open, join or resolve incidents on the integration's service (with
    notifications), and its ``state_updates`` are merged into the integration's state in
    the same transaction. Use it for what only the absence of deliveries tells, e.g. a
    heartbeat that stopped.

    Be idempotent: base the decision on ``state`` and record it in ``state_updates``, and
    give each alert a ``dedupe_key`` derived from that state, so that a check repeated
    (another process, a retry) stores nothing twice. Keep it cheap and do no I/O: it runs
    for every integration.

    :param integration_type: The slug of the integration. Return ``None`` for slugs this
        plugin does not check.
    :param integration_id: The integration's id (e.g. for a fingerprint of its own).
    :param settings: Its validated settings.
    :param state: Its recorded state (every plugin's keys).
    :param now: The time of this check (UTC).
    :param context: The process's plugin context.
    :return: A :class:`alertgate.models.ParseResult` (``alerts`` and ``state_updates``;
        ``response`` is ignored), or ``None`` when there is nothing to do. Every
        implementation is called.
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

    With ``event.out_of_order`` the incident was made already resolved by alerts that
    arrived out of order (status ``resolved``, ``opened_at`` and ``resolved_at`` set): its
    ``alertgate_incident_resolved`` follows at once. Never page it as open.

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

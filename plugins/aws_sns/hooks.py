"""What every SNS-fed integration type shares, written once: its hook implementations.

An SNS-fed type (CloudWatch alarms, CloudTrail events, the generic ``aws_sns`` type, and
later GuardDuty, Security Hub, Health...) differs from the others only in its settings
model and in how one verified notification becomes alerts. :class:`SnsFedType` holds
those differences and provides the hooks; a plugin module exposes them under the hook
names (pluggy reads a module's attributes)::

    GUARDDUTY = SnsFedType(
        slug="aws_guardduty",
        title="Amazon GuardDuty",
        description="GuardDuty findings via EventBridge and Amazon SNS.",
        docs_url="docs/integrations/aws-guardduty.md",
        settings_model=GuardDutySettings,   # a subclass of SnsSettings
        build=findings_result,              # (SnsNotification, GuardDutySettings) -> ParseResult
        fingerprint=finding_fingerprint,    # optional: (Alert, settings) -> str | None
        classify=finding_action,            # optional: (Alert, settings) -> Action | None
    )
    alertgate_integration_types = GUARDDUTY.integration_types
    alertgate_parse_request = GUARDDUTY.parse_request
    alertgate_fingerprint = GUARDDUTY.fingerprint
    alertgate_classify = GUARDDUTY.classify
    alertgate_describe_state = GUARDDUTY.describe_state
    alertgate_integration_actions = GUARDDUTY.integration_actions
    alertgate_run_integration_action = GUARDDUTY.run_integration_action
    alertgate_periodic_check = GUARDDUTY.periodic_check

The parse hook coerces the integration's settings to the type's model, verifies and
unwraps the delivery with :func:`~alertgate.plugins.aws_sns.receive.receive`, answers a
handshake as is, or calls ``build``; the SNS state updates (subscription confirmed, topic
pinned) ride along with whatever ``build`` returned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from alertgate import hookimpl
from alertgate.context import PluginContext
from alertgate.models import (
    Action,
    ActionResult,
    Alert,
    InboundRequest,
    IntegrationAction,
    IntegrationType,
    ParseContext,
    ParseResult,
    StateItem,
)
from alertgate.plugins.aws_sns.actions import RETRY_CONFIRMATION, retry_confirmation, sns_actions
from alertgate.plugins.aws_sns.health import (
    LAST_HEARTBEAT,
    MISSING_SINCE,
    heartbeat_back,
    heartbeat_check,
    is_heartbeat,
)
from alertgate.plugins.aws_sns.models import SnsNotification, SnsSettings
from alertgate.plugins.aws_sns.receive import receive
from alertgate.plugins.aws_sns.state import describe_sns_state

SettingsT = TypeVar("SettingsT", bound=SnsSettings)


def coerce_settings(
    settings: BaseModel, model: type[SettingsT], *, accept: type[SnsSettings] | None = None
) -> SettingsT:
    """``settings`` as ``model`` (an instance of ``accept``, default ``model``, is kept).

    A plugin that overrides another's type may hand over settings of its own model; they
    are validated again as this type's.
    """
    if isinstance(settings, accept or model):
        # An ``accept`` instance is taken as is: the caller vouches that it fits ``model``'s
        # users (CloudWatch takes any AlarmSettings).
        return settings  # type: ignore[return-value]
    return model.model_validate(settings.model_dump())


def parse_sns_delivery(
    request: InboundRequest,
    context: ParseContext,
    settings: SettingsT,
    build: Callable[[SnsNotification, SettingsT], ParseResult],
) -> ParseResult:
    """Verify and unwrap one delivery; ``build`` turns a notification into a result."""
    received = receive(request, context, settings)
    if isinstance(received, ParseResult):
        return received
    if is_heartbeat(received.message):
        if context.state.get(MISSING_SINCE):
            # The silence ends now; the periodic check would also see it, a round later.
            # Stamped with the time it was received, like last_heartbeat_at: an SNS retry
            # of an older heartbeat must still end the silence the check opened.
            back = heartbeat_back(
                context.integration_id, context.state, received_at(received), "a heartbeat arrived"
            )
            back.state_updates.update(received.state_updates)
            return back
        return ParseResult(state_updates=received.state_updates, note="alertgate heartbeat")
    result = build(received, settings)
    result.state_updates.update(received.state_updates)
    name_accounts(result.alerts, settings.account_names)
    return result


def received_at(received: SnsNotification) -> datetime:
    """When a heartbeat was received (what :func:`delivery_state` recorded)."""
    recorded = received.state_updates.get(LAST_HEARTBEAT)
    return datetime.fromisoformat(recorded) if isinstance(recorded, str) else received.timestamp


def name_accounts(alerts: Sequence[Alert], names: Mapping[str, str]) -> None:
    """Add the account's name (``account_names``) to each alert's title and attributes."""
    if not names:
        return
    for alert in alerts:
        name = names.get(str(alert.attributes.get("account") or ""))
        if name and "account_name" not in alert.attributes:
            alert.attributes["account_name"] = name
            alert.title = f"{alert.title} [{name}]"


class SnsFedType(Generic[SettingsT]):
    """One SNS-fed integration type and its hook implementations (see the module doc).

    :param settings_model: The per-integration settings (a subclass of
        :class:`~alertgate.plugins.aws_sns.models.SnsSettings`).
    :param build: Turns one verified notification into a :class:`ParseResult`; no network,
        no database.
    :param accept: Settings of this class are used as they are (default
        ``settings_model``); others are validated again as ``settings_model``.
    :param fingerprint: The type's grouping key of an alert given the integration's
        settings, ``None`` to defer.
    :param classify: The type's action for an alert, ``None`` to defer.
    """

    def __init__(
        self,
        *,
        slug: str,
        title: str,
        description: str,
        docs_url: str,
        settings_model: type[SettingsT],
        build: Callable[[SnsNotification, SettingsT], ParseResult],
        accept: type[SnsSettings] | None = None,
        fingerprint: Callable[[Alert, BaseModel], str | None] | None = None,
        classify: Callable[[Alert, BaseModel], Action | None] | None = None,
    ) -> None:
        self.slug = slug
        # Such types parse on the event loop: this package's only blocking steps
        # (certificate download, subscription confirmation) call
        # alertgate.blocking.before_blocking_io first.
        self.type = IntegrationType(
            slug=slug,
            title=title,
            description=description,
            docs_url=docs_url,
            settings_model=settings_model,
            parses_inline=True,
        )
        self.settings_model = settings_model
        self.build = build
        self.accept = accept
        self._fingerprint = fingerprint
        self._classify = classify

    @hookimpl(trylast=True)
    def integration_types(self) -> list[IntegrationType]:
        return [self.type]

    @hookimpl(trylast=True)
    def parse_request(
        self, integration_type: str, request: InboundRequest, context: ParseContext
    ) -> ParseResult | None:
        if integration_type != self.slug:
            return None
        settings = coerce_settings(context.settings, self.settings_model, accept=self.accept)
        return parse_sns_delivery(request, context, settings, self.build)

    @hookimpl(trylast=True)
    def fingerprint(self, integration_type: str, alert: Alert, settings: BaseModel) -> str | None:
        if integration_type != self.slug or self._fingerprint is None:
            return None
        return self._fingerprint(alert, settings)

    @hookimpl(trylast=True)
    def classify(self, integration_type: str, alert: Alert, settings: BaseModel) -> Action | None:
        if integration_type != self.slug or self._classify is None:
            return None
        return self._classify(alert, settings)

    @hookimpl(trylast=True)
    def describe_state(
        self, integration_type: str, state: Mapping[str, Any]
    ) -> list[StateItem] | None:
        if integration_type != self.slug:
            return None
        return describe_sns_state(state)

    @hookimpl(trylast=True)
    def integration_actions(
        self, integration_type: str, state: Mapping[str, Any]
    ) -> list[IntegrationAction] | None:
        if integration_type != self.slug:
            return None
        return sns_actions(state)

    @hookimpl(trylast=True)
    def run_integration_action(
        self,
        integration_type: str,
        action: str,
        settings: BaseModel,
        state: Mapping[str, Any],
        context: PluginContext,
    ) -> ActionResult | None:
        if integration_type != self.slug or action != RETRY_CONFIRMATION.name:
            return None
        typed = coerce_settings(settings, self.settings_model, accept=self.accept)
        return retry_confirmation(state, typed, context)

    @hookimpl(trylast=True)
    def periodic_check(
        self,
        integration_type: str,
        integration_id: int,
        settings: BaseModel,
        state: Mapping[str, Any],
        now: datetime,
    ) -> ParseResult | None:
        if integration_type != self.slug:
            return None
        hours = getattr(settings, "heartbeat_hours", None)
        return heartbeat_check(integration_id, hours, state, now)

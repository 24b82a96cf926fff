"""What every SNS-fed integration type shares: its declaration and its parse hook's shape.

Coerce the integration's settings to the type's model, verify and unwrap the delivery with
:func:`~alertgate.plugins.aws_sns.receive.receive`, answer a handshake as is, or build alerts from
the notification; the SNS state updates (subscription confirmed, topic pinned) ride along
with whatever the type built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel

from alertgate.models import InboundRequest, IntegrationType, ParseContext, ParseResult
from alertgate.plugins.aws_sns.models import SnsNotification, SnsSettings
from alertgate.plugins.aws_sns.receive import receive

SettingsT = TypeVar("SettingsT", bound=SnsSettings)


def sns_integration_type(
    *, slug: str, title: str, description: str, docs_url: str, settings_model: type[SnsSettings]
) -> IntegrationType:
    """The declaration of an SNS-fed type. Such types parse on the event loop: this
    package's only blocking steps (certificate download, subscription confirmation) call
    :func:`alertgate.blocking.before_blocking_io` first."""
    return IntegrationType(
        slug=slug,
        title=title,
        description=description,
        docs_url=docs_url,
        settings_model=settings_model,
        parses_inline=True,
    )


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
    result = build(received, settings)
    result.state_updates.update(received.state_updates)
    return result

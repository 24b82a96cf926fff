"""Built-in integration ``aws_health``: AWS Health events from EventBridge.

An EventBridge rule on ``aws.health`` events delivers them through an SNS topic (signed,
confirmed and deduplicated by :mod:`alertgate.plugins.aws_sns`) or straight from an API
destination (a direct post carrying the integration's shared secret). Events are parsed by
:mod:`alertgate.plugins.aws_health.events`: one incident per event ARN, account and affected
entity, resolved when the event closes. Account-specific and organizational view events
both work.
"""

from __future__ import annotations

from pydantic import BaseModel

from alertgate import hookimpl
from alertgate.models import (
    Action,
    Alert,
    InboundRequest,
    IntegrationType,
    ParseContext,
    ParseResult,
)
from alertgate.plugins.aws_health import events
from alertgate.plugins.aws_health.events import HealthSettings
from alertgate.plugins.aws_sns.hooks import (
    coerce_settings,
    parse_sns_delivery,
    sns_integration_type,
)

SLUG = "aws_health"

__all__ = ["SLUG", "HealthSettings"]


@hookimpl(trylast=True)
def alertgate_integration_types() -> list[IntegrationType]:
    return [
        sns_integration_type(
            slug=SLUG,
            title="AWS Health",
            description="AWS Health events from EventBridge, via Amazon SNS or an API "
            "destination: one incident per event and affected resource, resolved when the "
            "event closes; organizational view included.",
            docs_url="docs/integrations/aws-health.md",
            settings_model=HealthSettings,
        )
    ]


@hookimpl(trylast=True)
def alertgate_parse_request(
    integration_type: str, request: InboundRequest, context: ParseContext
) -> ParseResult | None:
    if integration_type != SLUG:
        return None
    settings = coerce_settings(context.settings, HealthSettings)
    return parse_sns_delivery(request, context, settings, events.alerts_for)


@hookimpl(trylast=True)
def alertgate_fingerprint(integration_type: str, alert: Alert, settings: BaseModel) -> str | None:
    if integration_type != SLUG:
        return None
    return events.fingerprint(alert)


@hookimpl(trylast=True)
def alertgate_classify(integration_type: str, alert: Alert, settings: BaseModel) -> Action | None:
    if integration_type != SLUG:
        return None
    return events.action(alert)

"""Built-in integration ``aws_guardduty``: Amazon GuardDuty findings from EventBridge.

An EventBridge rule on "GuardDuty Finding" events delivers them through an SNS topic (signed,
confirmed and deduplicated by :mod:`alertgate.plugins.aws_sns`) or straight from an API
destination (a direct post carrying the integration's shared secret). Each finding is parsed
by :mod:`alertgate.plugins.aws_guardduty.findings`: one incident per finding, which updated
versions join and an archived version resolves.
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
from alertgate.plugins.aws_guardduty import findings
from alertgate.plugins.aws_guardduty.findings import GuardDutySettings
from alertgate.plugins.aws_sns.hooks import (
    coerce_settings,
    parse_sns_delivery,
    sns_integration_type,
)

SLUG = "aws_guardduty"

__all__ = ["SLUG", "GuardDutySettings"]


@hookimpl(trylast=True)
def alertgate_integration_types() -> list[IntegrationType]:
    return [
        sns_integration_type(
            slug=SLUG,
            title="Amazon GuardDuty",
            description="GuardDuty findings from EventBridge, via Amazon SNS or an API "
            "destination: one incident per finding, updates join it, archiving resolves it.",
            docs_url="docs/integrations/aws-guardduty.md",
            settings_model=GuardDutySettings,
        )
    ]


@hookimpl(trylast=True)
def alertgate_parse_request(
    integration_type: str, request: InboundRequest, context: ParseContext
) -> ParseResult | None:
    if integration_type != SLUG:
        return None
    settings = coerce_settings(context.settings, GuardDutySettings)
    return parse_sns_delivery(request, context, settings, findings.alerts_for)


@hookimpl(trylast=True)
def alertgate_fingerprint(integration_type: str, alert: Alert, settings: BaseModel) -> str | None:
    if integration_type != SLUG:
        return None
    return findings.fingerprint(alert, settings)


@hookimpl(trylast=True)
def alertgate_classify(integration_type: str, alert: Alert, settings: BaseModel) -> Action | None:
    if integration_type != SLUG:
        return None
    return findings.action(alert, settings)

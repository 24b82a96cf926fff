"""Built-in integration ``aws_securityhub``: AWS Security Hub findings from EventBridge.

An EventBridge rule on "Security Hub Findings - Imported" events delivers them through an SNS
topic (signed, confirmed and deduplicated by :mod:`alertgate.plugins.aws_sns`) or straight
from an API destination (a direct post carrying the integration's shared secret). Findings
are parsed by :mod:`alertgate.plugins.aws_securityhub.findings`: one incident per (control or
finding type, resource, account), resolved when the finding passes, is resolved or
suppressed, or is archived.
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
from alertgate.plugins.aws_securityhub import findings
from alertgate.plugins.aws_securityhub.findings import SecurityHubSettings
from alertgate.plugins.aws_sns.hooks import (
    coerce_settings,
    parse_sns_delivery,
    sns_integration_type,
)

SLUG = "aws_securityhub"

__all__ = ["SLUG", "SecurityHubSettings"]


@hookimpl(trylast=True)
def alertgate_integration_types() -> list[IntegrationType]:
    return [
        sns_integration_type(
            slug=SLUG,
            title="AWS Security Hub",
            description="Security Hub findings from EventBridge, via Amazon SNS or an API "
            "destination: one incident per control, resource and account, resolved when the "
            "finding passes, is resolved, suppressed or archived.",
            docs_url="docs/integrations/aws-securityhub.md",
            settings_model=SecurityHubSettings,
        )
    ]


@hookimpl(trylast=True)
def alertgate_parse_request(
    integration_type: str, request: InboundRequest, context: ParseContext
) -> ParseResult | None:
    if integration_type != SLUG:
        return None
    settings = coerce_settings(context.settings, SecurityHubSettings)
    return parse_sns_delivery(request, context, settings, findings.alerts_for)


@hookimpl(trylast=True)
def alertgate_fingerprint(integration_type: str, alert: Alert, settings: BaseModel) -> str | None:
    if integration_type != SLUG:
        return None
    return findings.fingerprint(alert)


@hookimpl(trylast=True)
def alertgate_classify(integration_type: str, alert: Alert, settings: BaseModel) -> Action | None:
    if integration_type != SLUG:
        return None
    return findings.action(alert, settings)

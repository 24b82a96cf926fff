"""Built-in integration ``aws_cloudwatch``: CloudWatch alarms delivered by Amazon SNS.

The SNS layer (:func:`alertgate.plugins.aws_sns.receive`) verifies and unwraps the delivery; the
alarm itself is parsed by :mod:`alertgate.plugins.aws_cloudwatch.alarms`, which the
``aws_cloudtrail`` plugin reuses.
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
from alertgate.plugins.aws_cloudwatch.alarms import (
    AlarmSettings,
    alarm_action,
    alarm_alerts,
    alarm_fingerprint,
    non_alarm_alert,
)
from alertgate.plugins.aws_sns import SnsNotification
from alertgate.plugins.aws_sns.hooks import (
    coerce_settings,
    parse_sns_delivery,
    sns_integration_type,
)

SLUG = "aws_cloudwatch"


class CloudWatchSettings(AlarmSettings):
    """Per-integration options of an AWS CloudWatch integration (SNS + alarm options)."""


@hookimpl(trylast=True)
def alertgate_integration_types() -> list[IntegrationType]:
    return [
        sns_integration_type(
            slug=SLUG,
            title="AWS CloudWatch",
            description="CloudWatch alarms via an Amazon SNS HTTPS subscription: ALARM opens "
            "an incident, repeats group into it, OK resolves it.",
            docs_url="docs/integrations/aws-cloudwatch.md",
            settings_model=CloudWatchSettings,
        )
    ]


@hookimpl(trylast=True)
def alertgate_parse_request(
    integration_type: str, request: InboundRequest, context: ParseContext
) -> ParseResult | None:
    if integration_type != SLUG:
        return None
    settings = coerce_settings(context.settings, CloudWatchSettings, accept=AlarmSettings)
    return parse_sns_delivery(request, context, settings, _alarm_result)


def _alarm_result(received: SnsNotification, settings: AlarmSettings) -> ParseResult:
    alerts = alarm_alerts(received, settings)
    if alerts is None:
        return ParseResult(
            alerts=[non_alarm_alert(received)], note="not a CloudWatch alarm: recorded as info"
        )
    alarm = alerts[0].attributes
    return ParseResult(alerts=alerts, note=f"alarm {alarm['alarm_name']!r} {alarm['state']}")


@hookimpl(trylast=True)
def alertgate_fingerprint(integration_type: str, alert: Alert, settings: BaseModel) -> str | None:
    if integration_type != SLUG:
        return None
    return alarm_fingerprint(alert)


@hookimpl(trylast=True)
def alertgate_classify(integration_type: str, alert: Alert, settings: BaseModel) -> Action | None:
    if integration_type != SLUG:
        return None
    return alarm_action(alert, settings)

"""Built-in integration ``aws_cloudwatch``: CloudWatch alarms delivered by Amazon SNS.

The SNS layer (:func:`alertgate.plugins.aws_sns.receive`) verifies and unwraps the delivery; the
alarm itself is parsed by :mod:`alertgate.plugins.aws_cloudwatch.alarms`, which the
``aws_cloudtrail`` plugin reuses.
"""

from __future__ import annotations

from alertgate.models import ParseResult
from alertgate.plugins.aws_cloudwatch.alarms import (
    AlarmSettings,
    alarm_action,
    alarm_alerts,
    alarm_fingerprint,
    non_alarm_alert,
)
from alertgate.plugins.aws_sns import SnsFedType, SnsNotification

SLUG = "aws_cloudwatch"


class CloudWatchSettings(AlarmSettings):
    """Per-integration options of an AWS CloudWatch integration (SNS + alarm options)."""


def _alarm_result(received: SnsNotification, settings: AlarmSettings) -> ParseResult:
    alerts = alarm_alerts(received, settings)
    if alerts is None:
        return ParseResult(
            alerts=[non_alarm_alert(received)], note="not a CloudWatch alarm: recorded as info"
        )
    alarm = alerts[0].attributes
    return ParseResult(alerts=alerts, note=f"alarm {alarm['alarm_name']!r} {alarm['state']}")


CLOUDWATCH = SnsFedType(
    slug=SLUG,
    title="AWS CloudWatch",
    description="CloudWatch alarms via an Amazon SNS HTTPS subscription: ALARM opens "
    "an incident, repeats group into it, OK resolves it.",
    docs_url="docs/integrations/aws-cloudwatch.md",
    settings_model=CloudWatchSettings,
    accept=AlarmSettings,
    build=_alarm_result,
    fingerprint=alarm_fingerprint,
    classify=alarm_action,
)

alertgate_integration_types = CLOUDWATCH.integration_types
alertgate_parse_request = CLOUDWATCH.parse_request
alertgate_fingerprint = CLOUDWATCH.fingerprint
alertgate_classify = CLOUDWATCH.classify
alertgate_describe_state = CLOUDWATCH.describe_state
alertgate_integration_actions = CLOUDWATCH.integration_actions
alertgate_run_integration_action = CLOUDWATCH.run_integration_action
alertgate_periodic_check = CLOUDWATCH.periodic_check

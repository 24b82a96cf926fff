"""Built-in integration ``aws_health``: AWS Health events from EventBridge.

An EventBridge rule on ``aws.health`` events delivers them through an SNS topic (signed,
confirmed and deduplicated by :mod:`alertgate.plugins.aws_sns`) or straight from an API
destination (a direct post carrying the integration's shared secret). Events are parsed by
:mod:`alertgate.plugins.aws_health.events`: one incident per event ARN, account and affected
entity, resolved when the event closes. Account-specific and organizational view events
both work.
"""

from __future__ import annotations

from alertgate.plugins.aws_health import events
from alertgate.plugins.aws_health.events import HealthSettings
from alertgate.plugins.aws_sns import SnsFedType

SLUG = "aws_health"

__all__ = ["SLUG", "HealthSettings"]

HEALTH = SnsFedType(
    slug=SLUG,
    title="AWS Health",
    description="AWS Health events from EventBridge, via Amazon SNS or an API "
    "destination: one incident per event and affected resource, resolved when the "
    "event closes; organizational view included.",
    docs_url="docs/integrations/aws-health.md",
    settings_model=HealthSettings,
    build=events.alerts_for,
    fingerprint=events.fingerprint,
    classify=events.action,
)

alertgate_integration_types = HEALTH.integration_types
alertgate_parse_request = HEALTH.parse_request
alertgate_fingerprint = HEALTH.fingerprint
alertgate_classify = HEALTH.classify
alertgate_describe_state = HEALTH.describe_state
alertgate_integration_actions = HEALTH.integration_actions
alertgate_run_integration_action = HEALTH.run_integration_action
alertgate_periodic_check = HEALTH.periodic_check

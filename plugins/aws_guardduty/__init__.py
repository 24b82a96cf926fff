"""Built-in integration ``aws_guardduty``: Amazon GuardDuty findings from EventBridge.

An EventBridge rule on "GuardDuty Finding" events delivers them through an SNS topic (signed,
confirmed and deduplicated by :mod:`alertgate.plugins.aws_sns`) or straight from an API
destination (a direct post carrying the integration's shared secret). Each finding is parsed
by :mod:`alertgate.plugins.aws_guardduty.findings`: one incident per finding, which updated
versions join and an archived version resolves.
"""

from __future__ import annotations

from alertgate.plugins.aws_guardduty import findings
from alertgate.plugins.aws_guardduty.findings import GuardDutySettings
from alertgate.plugins.aws_sns import SnsFedType

SLUG = "aws_guardduty"

__all__ = ["SLUG", "GuardDutySettings"]

GUARDDUTY = SnsFedType(
    slug=SLUG,
    title="Amazon GuardDuty",
    description="GuardDuty findings from EventBridge, via Amazon SNS or an API "
    "destination: one incident per finding, updates join it, archiving resolves it.",
    docs_url="docs/integrations/aws-guardduty.md",
    settings_model=GuardDutySettings,
    build=findings.alerts_for,
    fingerprint=findings.fingerprint,
    classify=findings.action,
)

alertgate_integration_types = GUARDDUTY.integration_types
alertgate_parse_request = GUARDDUTY.parse_request
alertgate_fingerprint = GUARDDUTY.fingerprint
alertgate_classify = GUARDDUTY.classify
alertgate_describe_state = GUARDDUTY.describe_state
alertgate_integration_actions = GUARDDUTY.integration_actions
alertgate_run_integration_action = GUARDDUTY.run_integration_action
alertgate_periodic_check = GUARDDUTY.periodic_check

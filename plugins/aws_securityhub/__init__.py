"""Built-in integration ``aws_securityhub``: AWS Security Hub findings from EventBridge.

An EventBridge rule on "Security Hub Findings - Imported" events delivers them through an SNS
topic (signed, confirmed and deduplicated by :mod:`alertgate.plugins.aws_sns`) or straight
from an API destination (a direct post carrying the integration's shared secret). Findings
are parsed by :mod:`alertgate.plugins.aws_securityhub.findings`: one incident per (control or
finding type, resource, account), resolved when the finding passes, is resolved or
suppressed, or is archived.
"""

from __future__ import annotations

from alertgate.plugins.aws_securityhub import findings
from alertgate.plugins.aws_securityhub.findings import SecurityHubSettings
from alertgate.plugins.aws_sns import SnsFedType

SLUG = "aws_securityhub"

__all__ = ["SLUG", "SecurityHubSettings"]

SECURITYHUB = SnsFedType(
    slug=SLUG,
    title="AWS Security Hub",
    description="Security Hub findings from EventBridge, via Amazon SNS or an API "
    "destination: one incident per control, resource and account, resolved when the "
    "finding passes, is resolved, suppressed or archived.",
    docs_url="docs/integrations/aws-securityhub.md",
    settings_model=SecurityHubSettings,
    build=findings.alerts_for,
    fingerprint=findings.fingerprint,
    classify=findings.action,
)

alertgate_integration_types = SECURITYHUB.integration_types
alertgate_parse_request = SECURITYHUB.parse_request
alertgate_fingerprint = SECURITYHUB.fingerprint
alertgate_classify = SECURITYHUB.classify
alertgate_describe_state = SECURITYHUB.describe_state
alertgate_integration_actions = SECURITYHUB.integration_actions
alertgate_run_integration_action = SECURITYHUB.run_integration_action
alertgate_periodic_check = SECURITYHUB.periodic_check

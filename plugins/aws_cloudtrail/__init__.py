"""Built-in integration ``aws_cloudtrail``: CloudTrail alarms and security events."""

from __future__ import annotations

from pydantic import BaseModel

from core import hookimpl
from core.models import IntegrationType

SLUG = "aws_cloudtrail"


class CloudTrailSettings(BaseModel):
    """Per-integration options of an AWS CloudTrail integration."""


@hookimpl(trylast=True)
def alertgate_integration_types() -> list[IntegrationType]:
    return [
        IntegrationType(
            slug=SLUG,
            title="AWS CloudTrail",
            description="CloudWatch alarms on CloudTrail metric filters and CloudTrail security "
            "events from EventBridge, via Amazon SNS.",
            docs_url="docs/integrations/aws-cloudtrail.md",
            settings_model=CloudTrailSettings,
        )
    ]

"""Built-in integration ``aws_cloudwatch``: CloudWatch alarms delivered by Amazon SNS."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core import hookimpl
from core.models import IntegrationType

SLUG = "aws_cloudwatch"


class CloudWatchSettings(BaseModel):
    """Per-integration options of an AWS CloudWatch integration."""

    insufficient_data: str = Field(
        "info", description="What INSUFFICIENT_DATA does: 'info' (default) or 'trigger'."
    )


@hookimpl(trylast=True)
def alertgate_integration_types() -> list[IntegrationType]:
    return [
        IntegrationType(
            slug=SLUG,
            title="AWS CloudWatch",
            description="CloudWatch alarms via an Amazon SNS HTTPS subscription: ALARM opens "
            "an incident, repeats group into it, OK resolves it.",
            docs_url="docs/integrations/aws-cloudwatch.md",
            settings_model=CloudWatchSettings,
        )
    ]

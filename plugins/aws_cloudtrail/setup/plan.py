"""The AWS side of one integration, computed once: what ``alertgate aws template`` renders as
CloudFormation and ``alertgate aws deploy`` applies through the AWS APIs.

The plan holds names and patterns only (no account id, region or Integration URL), so the
same plan renders a template usable as a StackSet across an AWS Organization.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from alertgate.plugins.aws_cloudtrail.catalog import Detection
from alertgate.plugins.aws_cloudtrail.rules import AllOf, Condition, Rule
from alertgate.plugins.aws_cloudtrail.settings import CloudTrailSettings
from alertgate.plugins.aws_sns.health import HEARTBEAT_MESSAGE

METRIC_NAMESPACE = "CloudTrailMetrics"
MAX_FILTER_PATTERN = 1024
"""CloudWatch Logs refuses longer metric filter patterns."""

SNS_FED_TYPES = frozenset(
    {
        "aws_sns",
        "aws_cloudwatch",
        "aws_cloudtrail",
        "aws_guardduty",
        "aws_securityhub",
        "aws_health",
    }
)

CLOUDTRAIL_DETAIL_TYPES = ["AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail"]

GLOBAL_EVENT_SOURCES = frozenset(
    {
        "iam.amazonaws.com",
        "signin.amazonaws.com",
        "organizations.amazonaws.com",
        "cloudfront.amazonaws.com",
        "route53.amazonaws.com",
    }
)
"""Global services whose CloudTrail events reach EventBridge in us-east-1 only: their rules
are created in us-east-1 only, so a stack in every region neither misses nor doubles them."""

FINDING_RULES: dict[str, dict[str, Any]] = {
    "aws_guardduty": {"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"]},
    "aws_securityhub": {
        "source": ["aws.securityhub"],
        "detail-type": ["Security Hub Findings - Imported"],
    },
    "aws_health": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
}
"""The EventBridge rule each EventBridge-fed integration type needs."""


class PlanError(ValueError):
    """The requested plan cannot be made (unknown detection, wrong integration type)."""


@dataclass(frozen=True)
class MetricAlarm:
    """A metric filter over the trail's log group and an alarm on its metric."""

    detection_id: str
    title: str
    logical_id: str
    name: str
    metric_name: str
    pattern: str
    exact: bool


@dataclass(frozen=True)
class EventRule:
    """An EventBridge rule forwarding matching events to the topic."""

    logical_id: str
    name: str
    description: str
    pattern: dict[str, Any] | None = None
    schedule: str | None = None
    message: str | None = None
    us_east_1_only: bool = False


@dataclass(frozen=True)
class Plan:
    """Everything the AWS side of one integration consists of."""

    integration_id: int
    integration_type: str
    prefix: str
    alarms: tuple[MetricAlarm, ...] = ()
    rules: tuple[EventRule, ...] = ()
    with_trail: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def topic_name(self) -> str:
        return self.prefix

    @property
    def trail_name(self) -> str:
        return f"{self.prefix}-trail"

    @property
    def log_group_name(self) -> str:
        return f"/alertgate/{self.prefix}/cloudtrail"


def camel(text: str) -> str:
    """``root_account_usage`` -> ``RootAccountUsage`` (CloudFormation logical ids)."""
    return "".join(part[:1].upper() + part[1:] for part in text.replace(".", "_").split("_"))


def _conditions(rule: Rule) -> Iterable[Condition]:
    if isinstance(rule, Condition):
        yield rule
        return
    children: list[Rule] = rule.all if isinstance(rule, AllOf) else rule.any
    for child in children:
        yield from _conditions(child)


def _equals(rule: Rule, name: str) -> set[str]:
    return {
        str(value)
        for cond in _conditions(rule)
        if cond.field == name and cond.equals
        for value in cond.equals
        if isinstance(value, str)
    }


def _cloudtrail_rules(
    detections: Sequence[Detection], prefix: str, notes: list[str]
) -> list[EventRule]:
    # One rule per event source, naming the union of the event names detections look for
    # there: broader than each detection (alertgate applies the exact rule), far fewer rules.
    names: dict[str, set[str] | None] = {}
    for detection in detections:
        sources = _equals(detection.rule, "eventSource")
        events = _equals(detection.rule, "eventName")
        if not sources and not events:
            notes.append(f"{detection.id}: names no event; watched by its alarm only")
        for source in sources or ({"*"} if events else set()):
            if not events:
                names[source] = None
            elif source not in names or names[source] is not None:
                names[source] = (names.get(source) or set()) | events
    rules = []
    for source in sorted(names):
        detail: dict[str, Any] = {}
        if source != "*":
            detail["eventSource"] = [source]
        wanted = names[source]
        if wanted is not None:
            detail["eventName"] = sorted(wanted)
        short = "AnySource" if source == "*" else camel(source.split(".")[0])
        rules.append(
            EventRule(
                logical_id=f"Rule{short}",
                name=f"{prefix}-{short.lower()}",
                description=f"CloudTrail events of {source} for alertgate detections",
                pattern={"detail-type": CLOUDTRAIL_DETAIL_TYPES, "detail": detail},
                us_east_1_only=source in GLOBAL_EVENT_SOURCES,
            )
        )
    return rules


def _alarm(detection: Detection, prefix: str) -> MetricAlarm:
    pattern, exact = detection.pattern()
    return MetricAlarm(
        detection_id=detection.id,
        title=detection.title,
        logical_id=camel(detection.id),
        name=f"{prefix}-{detection.id}",
        metric_name=camel(detection.id),
        pattern=pattern,
        exact=exact,
    )


def make_plan(
    integration_id: int,
    integration_type: str,
    settings: BaseModel,
    *,
    detection_ids: Sequence[str] | None = None,
    with_trail: bool = False,
    eventbridge: bool = False,
    heartbeat: bool = False,
) -> Plan:
    """The plan for one integration; ``detection_ids`` narrows the enabled detections.

    :raises PlanError: not an SNS-fed type, or a detection id that is not enabled here.
    """
    if integration_type not in SNS_FED_TYPES:
        raise PlanError(f"integration type {integration_type!r} is not delivered through SNS")
    prefix = f"alertgate-{integration_id}"
    detections: list[Detection] = []
    if isinstance(settings, CloudTrailSettings):
        detections = list(settings.detections())
        if detection_ids is not None:
            enabled = {d.id: d for d in detections}
            unknown = [d for d in detection_ids if d not in enabled]
            if unknown:
                raise PlanError(f"not enabled on this integration: {', '.join(unknown)}")
            detections = [enabled[d] for d in detection_ids]
    elif detection_ids:
        raise PlanError("--detections needs an aws_cloudtrail integration")
    if with_trail and not detections:
        raise PlanError("--with-trail needs an aws_cloudtrail integration with detections")
    alarms: list[MetricAlarm] = []
    notes: list[str] = []
    for detection in detections:
        alarm = _alarm(detection, prefix)
        if len(alarm.pattern) > MAX_FILTER_PATTERN:
            notes.append(f"{detection.id}: filter pattern too long for CloudWatch Logs; skipped")
            continue
        if not alarm.exact:
            notes.append(f"{detection.id}: the metric filter counts more than the detection")
        alarms.append(alarm)
    rules: list[EventRule] = []
    if eventbridge:
        rules.extend(_cloudtrail_rules(detections, prefix, notes))
        finding = FINDING_RULES.get(integration_type)
        if finding is not None:
            rules.append(
                EventRule(
                    logical_id="RuleFindings",
                    name=f"{prefix}-findings",
                    description=f"{' '.join(finding['detail-type'])} events for alertgate",
                    pattern=finding,
                )
            )
    if heartbeat:
        rules.append(
            EventRule(
                logical_id="RuleHeartbeat",
                name=f"{prefix}-heartbeat",
                description="Hourly alertgate heartbeat: proves the chain to alertgate works",
                schedule="rate(1 hour)",
                message=HEARTBEAT_MESSAGE,
            )
        )
    return Plan(
        integration_id=integration_id,
        integration_type=integration_type,
        prefix=prefix,
        alarms=tuple(alarms),
        rules=tuple(rules),
        with_trail=with_trail,
        notes=tuple(notes),
    )


def topic_policy(topic_arn: Any, account: Any) -> dict[str, Any]:
    """The topic's access policy: CloudWatch alarms and EventBridge rules of this account
    may publish. ``topic_arn`` and ``account`` are values, or CloudFormation references."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CloudWatchAndEventBridgePublish",
                "Effect": "Allow",
                "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            }
        ],
    }


def alarm_settings(alarm: MetricAlarm, topic_arn: Any) -> dict[str, Any]:
    """The alarm of one detection: the same names serve ``put_metric_alarm`` and the
    ``AWS::CloudWatch::Alarm`` properties. OK actions resolve the incident; missing data
    (no matching event) is not breaching, so a quiet account stays OK."""
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": f"alertgate detection {alarm.detection_id}: {alarm.title}",
        "Namespace": METRIC_NAMESPACE,
        "MetricName": alarm.metric_name,
        "Statistic": "Sum",
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [topic_arn],
        "OKActions": [topic_arn],
    }

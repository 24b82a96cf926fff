"""A :class:`~alertgate.plugins.aws_cloudtrail.setup.plan.Plan` applied through the AWS APIs.

Each resource is read first and written only when it differs, so a second run changes
nothing; with ``dry_run`` nothing is written and the changes are only reported. Clients come
from boto3's default credential chain and honour ``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_<SERVICE>`` as every AWS SDK does.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from alertgate.plugins.aws_cloudtrail.setup.plan import (
    METRIC_NAMESPACE,
    EventRule,
    MetricAlarm,
    Plan,
    PlanError,
    alarm_settings,
    topic_policy,
)

ClientFactory = Callable[[str], Any]

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_ALARM_FIELDS = (
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)
"""What ``describe_alarms`` returns that ``put_metric_alarm`` takes back unchanged."""


@dataclass
class Result:
    """What a deploy changed (or, in a dry run, would change)."""

    topic_arn: str
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def subscription_protocol(url: str) -> str:
    """``https``, or ``http`` for a loopback stand-in (moto): never send the key in clear.

    :raises PlanError: not an Integration URL alertgate would accept to be delivered to.
    """
    parts = urlsplit(url)
    if "/integrations/" not in parts.path or not parts.hostname:
        raise PlanError("the Integration URL must look like https://HOST/integrations/KEY")
    if parts.scheme == "https":
        return "https"
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return "http"
    raise PlanError("the Integration URL must use https (it carries the secret key)")


class Deployer:
    """Applies one plan in one region of one account."""

    def __init__(self, plan: Plan, clients: ClientFactory, *, dry_run: bool) -> None:
        self.plan = plan
        self.clients = clients
        self.dry_run = dry_run
        identity = clients("sts").get_caller_identity()
        self.account: str = identity["Account"]
        self.partition: str = identity["Arn"].split(":")[1]
        self.region: str = clients("sns").meta.region_name
        self.topic_arn = f"arn:{self.partition}:sns:{self.region}:{self.account}:{plan.topic_name}"
        self.result = Result(self.topic_arn)

    def _change(self, text: str, apply: Callable[[], object]) -> None:
        self.result.changes.append(text)
        if not self.dry_run:
            apply()

    # -- SNS --------------------------------------------------------------------------------

    def topic(self, integration_url: str) -> None:
        sns = self.clients("sns")
        protocol = subscription_protocol(integration_url)
        arns = {
            topic["TopicArn"]
            for page in sns.get_paginator("list_topics").paginate()
            for topic in page["Topics"]
        }
        exists = self.topic_arn in arns
        if not exists:
            self._change(
                f"create SNS topic {self.plan.topic_name}",
                lambda: sns.create_topic(Name=self.plan.topic_name),
            )
        wanted = topic_policy(self.topic_arn, self.account)
        current = None
        if exists:
            attrs = sns.get_topic_attributes(TopicArn=self.topic_arn)["Attributes"]
            current = json.loads(attrs.get("Policy") or "null")
        if current != wanted:
            self._change(
                "set the topic policy (CloudWatch and EventBridge may publish)",
                lambda: sns.set_topic_attributes(
                    TopicArn=self.topic_arn,
                    AttributeName="Policy",
                    AttributeValue=json.dumps(wanted),
                ),
            )
        subscribed = exists and any(
            sub["Protocol"] == protocol and sub["Endpoint"] == integration_url
            for page in sns.get_paginator("list_subscriptions_by_topic").paginate(
                TopicArn=self.topic_arn
            )
            for sub in page["Subscriptions"]
        )
        if not subscribed:
            self._change(
                f"subscribe the Integration URL ({protocol}) to the topic",
                lambda: sns.subscribe(
                    TopicArn=self.topic_arn, Protocol=protocol, Endpoint=integration_url
                ),
            )

    # -- CloudWatch Logs and alarms ---------------------------------------------------------

    def metric_filter(self, alarm: MetricAlarm, log_group: str) -> None:
        logs = self.clients("logs")
        found = logs.describe_metric_filters(logGroupName=log_group, filterNamePrefix=alarm.name)
        current = next((f for f in found["metricFilters"] if f["filterName"] == alarm.name), None)
        transformation = {
            "metricNamespace": METRIC_NAMESPACE,
            "metricName": alarm.metric_name,
            "metricValue": "1",
        }
        if current is not None and current["filterPattern"] == alarm.pattern:
            have = current["metricTransformations"]
            if len(have) == 1 and all(have[0].get(k) == v for k, v in transformation.items()):
                return
        verb = "create" if current is None else "update"
        self._change(
            f"{verb} metric filter {alarm.name} on {log_group}",
            lambda: logs.put_metric_filter(
                logGroupName=log_group,
                filterName=alarm.name,
                filterPattern=alarm.pattern,
                metricTransformations=[transformation],
            ),
        )

    def alarm(self, alarm: MetricAlarm) -> None:
        cloudwatch = self.clients("cloudwatch")
        wanted = alarm_settings(alarm, self.topic_arn)
        found = cloudwatch.describe_alarms(AlarmNames=[alarm.name])["MetricAlarms"]
        if found and all(found[0].get(k) == v for k, v in wanted.items()):
            return
        verb = "update" if found else "create"
        self._change(f"{verb} alarm {alarm.name}", lambda: cloudwatch.put_metric_alarm(**wanted))

    def existing_alarms(self, names: Sequence[str], prefix: str | None) -> None:
        """Add the topic to the ALARM and OK actions of alarms the operator already has."""
        cloudwatch = self.clients("cloudwatch")
        alarms: list[dict[str, Any]] = []
        if names:
            alarms += cloudwatch.describe_alarms(AlarmNames=list(names))["MetricAlarms"]
            missing = set(names) - {a["AlarmName"] for a in alarms}
            if missing:
                raise PlanError(f"no such alarm(s): {', '.join(sorted(missing))}")
        if prefix:
            for page in cloudwatch.get_paginator("describe_alarms").paginate(
                AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm"]
            ):
                alarms += page["MetricAlarms"]
        for current in {a["AlarmName"]: a for a in alarms}.values():
            args = {k: current[k] for k in _ALARM_FIELDS if k in current}
            added = []
            for key in ("AlarmActions", "OKActions"):
                if self.topic_arn not in args.get(key, []):
                    args[key] = [*args.get(key, []), self.topic_arn]
                    added.append(key)
            if added:
                self._change(
                    f"add the topic to {' and '.join(added)} of alarm {current['AlarmName']}",
                    functools.partial(cloudwatch.put_metric_alarm, **args),
                )

    # -- EventBridge ------------------------------------------------------------------------

    def rule(self, rule: EventRule) -> None:
        if rule.us_east_1_only and self.region != "us-east-1":
            self.result.notes.append(
                f"{rule.name}: global-service events reach EventBridge in us-east-1 only; "
                "run deploy there too"
            )
            return
        events = self.clients("events")
        wanted: dict[str, Any] = {
            "Name": rule.name,
            "Description": rule.description,
            "State": "ENABLED",
        }
        if rule.pattern is not None:
            wanted["EventPattern"] = json.dumps(rule.pattern, sort_keys=True)
        if rule.schedule is not None:
            wanted["ScheduleExpression"] = rule.schedule
        try:
            current: dict[str, Any] | None = events.describe_rule(Name=rule.name)
        except events.exceptions.ResourceNotFoundException:
            current = None
        same = current is not None and all(
            (json.loads(current.get(k) or "null") == rule.pattern)
            if k == "EventPattern"
            else current.get(k) == v
            for k, v in wanted.items()
        )
        if not same:
            verb = "create" if current is None else "update"
            self._change(f"{verb} EventBridge rule {rule.name}", lambda: events.put_rule(**wanted))
        target: dict[str, Any] = {"Id": "alertgate", "Arn": self.topic_arn}
        if rule.message is not None:
            target["Input"] = rule.message
        targets = [] if current is None else events.list_targets_by_rule(Rule=rule.name)["Targets"]
        if not any(all(t.get(k) == v for k, v in target.items()) for t in targets):
            self._change(
                f"point EventBridge rule {rule.name} at the topic",
                lambda: events.put_targets(Rule=rule.name, Targets=[target]),
            )


def deploy(
    plan: Plan,
    clients: ClientFactory,
    *,
    integration_url: str,
    log_group: str | None = None,
    alarm_names: Sequence[str] = (),
    alarm_prefix: str | None = None,
    dry_run: bool = False,
) -> Result:
    """Bring the AWS side of ``plan`` up to date; what changed is in the result.

    :raises PlanError: a missing log group for the plan's alarms, an unusable URL, an
        alarm name that does not exist.
    """
    if plan.with_trail:
        raise PlanError("deploy does not create trails: use `aws template --with-trail`")
    if plan.alarms and not log_group:
        raise PlanError("--log-group is needed: the log group your trail writes to")
    deployer = Deployer(plan, clients, dry_run=dry_run)
    deployer.result.notes.extend(plan.notes)
    deployer.topic(integration_url)
    for alarm in plan.alarms:
        assert log_group is not None
        deployer.metric_filter(alarm, log_group)
        deployer.alarm(alarm)
    deployer.existing_alarms(alarm_names, alarm_prefix)
    for rule in plan.rules:
        deployer.rule(rule)
    return deployer.result

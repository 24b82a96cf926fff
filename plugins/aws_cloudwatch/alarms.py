"""CloudWatch alarm notifications turned into alerts: the code every AWS plugin shares.

Two wire formats carry an alarm state change:

* the classic SNS alarm message (``AlarmName``, ``NewStateValue``, ``Trigger`` ...), what
  an alarm action publishes to an SNS topic;
* the EventBridge event ``"detail-type": "CloudWatch Alarm State Change"``, forwarded by
  an EventBridge rule to SNS or posted directly by an API destination.

Both become one :class:`~alertgate.models.Alert` of kind ``cloudwatch_alarm`` whose attributes
follow the cross-plugin contract (``account``, ``region``, ``alarm_arn``, ``state`` ...).
The ``aws_cloudtrail`` plugin calls :func:`alarm_alerts`, :func:`alarm_fingerprint` and
:func:`alarm_action` for its CloudWatch-alarm path instead of re-implementing them.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field

from alertgate import jsonfast
from alertgate.models import Action, Alert, Severity
from alertgate.plugins.aws_cloudwatch import regions
from alertgate.plugins.aws_sns import SnsNotification, SnsSettings
from alertgate.plugins.aws_sns.recorded import recorded_message_alert, topic_fingerprint

KIND = "cloudwatch_alarm"
"""``Alert.kind`` of every alarm state change."""
NON_ALARM_KIND = "sns_message"
"""``Alert.kind`` of an SNS message that is not an alarm (always ``info``)."""

EVENT_DETAIL_TYPE = "CloudWatch Alarm State Change"

STATES = ("ALARM", "OK", "INSUFFICIENT_DATA")

# Bounds: AWS's own limits are far below these; they only stop a hostile body from
# making one alert arbitrarily large.
_MAX_TEXT = 4096
_MAX_ITEMS = 50

_ALARM_ARN_RE = re.compile(r"^arn:(aws[a-z-]*):cloudwatch:([a-z0-9-]+):(\d{12}):alarm:(.+)$", re.S)
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_TOPIC_ARN_RE = re.compile(r"^arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):")

_COMPARISON_WORDS = {
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "GreaterThanThreshold": "greater than",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
    "LessThanLowerOrGreaterThanUpperThreshold": "outside the band",
    "LessThanLowerThreshold": "below the band",
    "GreaterThanUpperThreshold": "above the band",
}

_BAND_SIDES = {
    "LessThanLowerOrGreaterThanUpperThreshold": "outside",
    "LessThanLowerThreshold": "below",
    "GreaterThanUpperThreshold": "above",
}


class AlarmSettings(SnsSettings):
    """Per-integration options of every integration type that receives CloudWatch alarms."""

    insufficient_data: Literal["info", "trigger"] = Field(
        "info",
        title="When an alarm lacks data",
        description="What INSUFFICIENT_DATA does: info records it and changes nothing (the "
        "default); trigger opens or joins an incident of severity warning.",
    )
    alarm_severity: Severity = Field(
        Severity.ERROR,
        title="Severity of an alarm",
        description="The severity of the incident an alarm (the ALARM state) opens.",
    )


# -------------------------------------------------------------------------------------------
# Small, total helpers: every field of a notification may be missing or of the wrong type.
# -------------------------------------------------------------------------------------------


def _text(value: Any, limit: int = _MAX_TEXT) -> str | None:
    """A bounded string, or ``None`` for missing/empty/structured values."""
    if type(value) is str:  # the common case first: this runs ~25 times per alarm
        text = value.strip()
    elif value is None or isinstance(value, (dict, list, bool)):
        return None
    else:
        text = str(value).strip()
    return text[:limit] if text else None


def _number(value: Any) -> float | None:
    """A finite number, or ``None`` (JSON allows ``Infinity``/``NaN``; they mean nothing here)."""
    if isinstance(value, bool):
        return None
    if not (isinstance(value, int | float) or (isinstance(value, str) and len(value) <= 64)):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value[:_MAX_ITEMS] if isinstance(value, list) else []


def parse_time(value: Any) -> datetime | None:
    """Parse an AWS timestamp to an aware UTC datetime.

    Accepts ``2021-11-10T02:45:55.640+0000`` (CloudWatch), ``2019-10-02T17:04:40Z``
    (EventBridge, SNS) and other ISO 8601 forms; ``None`` if it is not one.
    """
    text = _text(value, 64)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # beyond the calendar in UTC: 0001-01-01T00:00:00+14:00
        return None


def _clean_treat_missing(value: Any) -> str | None:
    # CloudWatch renders this field as "- TreatMissingData:                    missing".
    text = _text(value, 200)
    if text is None:
        return None
    if ":" in text and "TreatMissingData" in text:
        text = text.rsplit(":", 1)[1].strip()
    return text or None


def _dimensions(value: Any) -> dict[str, str]:
    """Dimensions as ``{name: value}`` from the SNS list form or the EventBridge dict form."""
    out: dict[str, str] = {}
    if isinstance(value, dict):
        items = [(k, v) for k, v in list(value.items())[:_MAX_ITEMS]]
    else:
        items = []
        for entry in _list(value):
            entry = _map(entry)
            # SNS writes lower-case keys; the CloudWatch API writes Name/Value.
            name = entry.get("name", entry.get("Name"))
            items.append((name, entry.get("value", entry.get("Value"))))
    for name, val in items:
        key, text = _text(name, 255), _text(val, 1024)
        if key is not None:
            out[key] = text or ""
    return out


def _fmt_number(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _describe_metric(name: str | None, namespace: str | None, dims: Mapping[str, str]) -> str:
    where = [namespace] if namespace else []
    where += [f"{k}={v}" for k, v in dims.items()]
    label = name or "(unnamed metric)"
    return f"{label} ({', '.join(where)})" if where else label


# -------------------------------------------------------------------------------------------
# Normalization: both wire formats fill the same dict of attributes.
# -------------------------------------------------------------------------------------------


def _metric_entries(metrics: list[Any], *, eventbridge: bool) -> list[dict[str, Any]]:
    """Normalize ``Trigger.Metrics`` (SNS) / ``configuration.metrics`` (EventBridge)."""
    out = []
    for raw in metrics:
        entry = _map(raw)
        if eventbridge:
            stat = _map(entry.get("metricStat"))
            metric = _map(stat.get("metric"))
            name, ns = _text(metric.get("name")), _text(metric.get("namespace"))
            item = {
                "id": _text(entry.get("id"), 255),
                "expression": _text(entry.get("expression")),
                "label": _text(entry.get("label"), 1024),
                "return_data": entry.get("returnData") is not False,
                "metric_name": name,
                "namespace": ns,
                "dimensions": _dimensions(metric.get("dimensions")),
                "stat": _text(stat.get("stat"), 100),
                "period": _number(stat.get("period")),
            }
        else:
            stat = _map(entry.get("MetricStat"))
            metric = _map(stat.get("Metric"))
            item = {
                "id": _text(entry.get("Id"), 255),
                "expression": _text(entry.get("Expression")),
                "label": _text(entry.get("Label"), 1024),
                "return_data": entry.get("ReturnData") is not False,
                "metric_name": _text(metric.get("MetricName")),
                "namespace": _text(metric.get("Namespace")),
                "dimensions": _dimensions(metric.get("Dimensions")),
                "stat": _text(stat.get("Stat"), 100),
                "period": _number(stat.get("Period")),
            }
        out.append(item)
    return out


def _underlying_metric(metrics: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The one metric a math/anomaly alarm watches, if exactly one distinct metric is used."""
    stats = [m for m in metrics if m["metric_name"]]
    distinct = {(m["metric_name"], m["namespace"], tuple(m["dimensions"].items())) for m in stats}
    return stats[0] if len(distinct) == 1 else None


def _from_sns_message(doc: Mapping[str, Any]) -> dict[str, Any]:
    trigger = _map(doc.get("Trigger"))
    metrics = _metric_entries(_list(trigger.get("Metrics")), eventbridge=False)
    children = []
    for raw in _list(doc.get("TriggeringChildren")):
        child = _map(raw)
        state = _map(child.get("State"))
        children.append(
            {
                "arn": _text(child.get("Arn"), 2048),
                "state": _text(state.get("Value"), 64),
                "timestamp": _text(state.get("Timestamp"), 64),
            }
        )
    if _text(doc.get("AlarmRule")) is not None or (not trigger and "TriggeringChildren" in doc):
        alarm_type = "composite"
    elif _text(trigger.get("ThresholdMetricId")) is not None:
        alarm_type = "anomaly_detection"
    elif metrics and _text(trigger.get("MetricName")) is None:
        alarm_type = "metric_math"
    else:
        alarm_type = "metric"
    statistic = _text(trigger.get("Statistic"), 100) or _text(trigger.get("ExtendedStatistic"), 100)
    return {
        "alarm_name": _text(doc.get("AlarmName"), 1024),
        "alarm_arn": _text(doc.get("AlarmArn"), 2048),
        "description": _text(doc.get("AlarmDescription")),
        "raw_account": _text(doc.get("AWSAccountId"), 64),
        "raw_region": _text(doc.get("Region"), 128),
        "state": _text(doc.get("NewStateValue"), 64),
        "previous_state": _text(doc.get("OldStateValue"), 64),
        "reason": _text(doc.get("NewStateReason")),
        "state_change_time": doc.get("StateChangeTime"),
        "alarm_type": alarm_type,
        "metric_name": _text(trigger.get("MetricName"), 255),
        "namespace": _text(trigger.get("Namespace"), 255),
        "dimensions": _dimensions(trigger.get("Dimensions")),
        "statistic": statistic,
        "unit": _text(trigger.get("Unit"), 64),
        "period": _number(trigger.get("Period")),
        "evaluation_periods": _number(trigger.get("EvaluationPeriods")),
        "threshold": _number(trigger.get("Threshold")),
        "comparison": _text(trigger.get("ComparisonOperator"), 100),
        "treat_missing_data": _clean_treat_missing(trigger.get("TreatMissingData")),
        "threshold_metric_id": _text(trigger.get("ThresholdMetricId"), 255),
        "metrics": metrics,
        "alarm_rule": _text(doc.get("AlarmRule")),
        "triggering_children": children,
        "actions_suppressed_by": None,
        "format": "sns_alarm",
    }


def _from_event(event: Mapping[str, Any]) -> dict[str, Any]:
    detail = _map(event.get("detail"))
    config = _map(detail.get("configuration"))
    state = _map(detail.get("state"))
    previous = _map(detail.get("previousState"))
    metrics = _metric_entries(_list(config.get("metrics")), eventbridge=True)
    reason_data = _reason_data(state.get("reasonData"))
    resources = _list(event.get("resources"))
    children = []
    for raw in _list(reason_data.get("triggeringAlarms")):
        child = _map(raw)
        child_state = _map(child.get("state"))
        children.append(
            {
                "arn": _text(child.get("arn"), 2048),
                "state": _text(child_state.get("value"), 64),
                "timestamp": _text(child_state.get("timestamp"), 64),
            }
        )
    if _text(config.get("alarmRule")) is not None:
        alarm_type = "composite"
    elif _text(config.get("thresholdMetricId")) is not None:
        alarm_type = "anomaly_detection"
    elif len(metrics) == 1 and metrics[0]["expression"] is None:
        alarm_type = "metric"
    else:
        alarm_type = "metric_math"
    single = metrics[0] if alarm_type == "metric" else None
    return {
        "alarm_name": _text(detail.get("alarmName"), 1024),
        "alarm_arn": _text(resources[0], 2048) if resources else None,
        "description": _text(config.get("description")),
        "raw_account": _text(event.get("account"), 64),
        "raw_region": _text(event.get("region"), 128),
        "state": _text(state.get("value"), 64),
        "previous_state": _text(previous.get("value"), 64),
        "reason": _text(state.get("reason")),
        "state_change_time": state.get("timestamp") or event.get("time"),
        "alarm_type": alarm_type,
        "metric_name": single["metric_name"] if single else None,
        "namespace": single["namespace"] if single else None,
        "dimensions": dict(single["dimensions"]) if single else {},
        "statistic": (single["stat"] if single else None) or _text(reason_data.get("statistic")),
        "unit": _text(reason_data.get("unit"), 64),
        "period": (single["period"] if single else None) or _number(reason_data.get("period")),
        "evaluation_periods": _number(reason_data.get("evaluationPeriods")),
        # The event carries no threshold or operator in its configuration; the threshold
        # of a metric alarm is only in the evaluation's reasonData.
        "threshold": _number(reason_data.get("threshold")),
        "comparison": _text(config.get("comparisonOperator"), 100),
        "treat_missing_data": _text(config.get("treatMissingData"), 100),
        "threshold_metric_id": _text(config.get("thresholdMetricId"), 255),
        "metrics": metrics,
        "alarm_rule": _text(config.get("alarmRule")),
        "triggering_children": children,
        # Composite alarms with an actions suppressor still emit EventBridge events while
        # their actions are suppressed; kept so a responder (or a classify hook) can tell.
        "actions_suppressed_by": _text(state.get("actionsSuppressedBy"), 64),
        "format": "eventbridge",
    }


def _reason_data(value: Any) -> Mapping[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and len(value) <= 64 * 1024:
        try:
            return _map(jsonfast.loads(value))
        except ValueError:
            return {}
    return {}


def is_alarm_message(doc: Any) -> bool:
    """True for a classic CloudWatch alarm message (what an alarm action publishes)."""
    return isinstance(doc, dict) and "AlarmName" in doc and "NewStateValue" in doc


def is_alarm_event(doc: Any) -> bool:
    """True for an EventBridge "CloudWatch Alarm State Change" event."""
    return (
        isinstance(doc, dict)
        and doc.get("detail-type") == EVENT_DETAIL_TYPE
        and doc.get("source") == "aws.cloudwatch"
        and isinstance(doc.get("detail"), dict)
    )


# -------------------------------------------------------------------------------------------
# Building the alert
# -------------------------------------------------------------------------------------------


def _locate(
    fields: Mapping[str, Any], topic_arn: str | None
) -> tuple[str | None, str | None, str | None, str]:
    """Resolve (alarm ARN, account, region code, partition).

    The ARN is authoritative; ``AWSAccountId``/``Region`` come next (``Region`` is often
    a display name, mapped back to its code); the SNS topic's ARN is a last resort,
    since an alarm action publishes to a topic of its own region.
    """
    arn = fields["alarm_arn"]
    match = _ALARM_ARN_RE.match(arn) if arn else None
    if match and regions.is_region_code(match.group(2)):
        return arn, match.group(3), match.group(2), match.group(1)
    account = fields["raw_account"] if _ACCOUNT_RE.match(fields["raw_account"] or "") else None
    region = regions.region_code(fields["raw_region"])
    topic = _TOPIC_ARN_RE.match(topic_arn or "")
    if topic:
        region = region or (topic.group(1) if regions.is_region_code(topic.group(1)) else None)
        account = account or topic.group(2)
    return None, account, region, regions.partition_of(region)


# Alarms repeat (every state change of an alarm links to the same page), and quoting the
# name costs several microseconds: a small, bounded cache (names are at most 1,024 chars).
@functools.lru_cache(maxsize=1024)
def console_url(region: str | None, alarm_name: str | None, partition: str = "aws") -> str | None:
    """Link to the alarm in the CloudWatch console; ``None`` unless the region is valid."""
    if not region or not alarm_name or not regions.is_region_code(region):
        return None
    host = {
        "aws": f"{region}.console.aws.amazon.com",
        "aws-cn": f"{region}.console.amazonaws.cn",
        "aws-us-gov": "console.amazonaws-us-gov.com",
    }.get(partition)
    if host is None:
        return None
    # errors="replace": a signed message may carry an unpaired surrogate (a JSON escape).
    fragment = f"alarmsV2:alarm/{quote(alarm_name, safe='', errors='replace')}"
    return f"https://{host}/cloudwatch/home?region={region}#{fragment}"


def describe_condition(attrs: Mapping[str, Any]) -> str:
    """The alarm's condition in words, e.g. "SUM of Errors (AWS/Lambda) per 300 s ..."."""
    cmp_words = _COMPARISON_WORDS.get(attrs.get("comparison") or "", attrs.get("comparison"))
    periods = attrs.get("evaluation_periods")
    over = (
        f", over {int(periods)} evaluation period{'s' if periods != 1 else ''}" if periods else ""
    )
    kind = attrs["alarm_type"]
    if kind == "composite":
        text = f"composite alarm rule {attrs.get('alarm_rule') or '(unknown)'}"
        names = [
            f"{_name_of_arn(c['arn'])} ({c['state'] or '?'})"
            for c in attrs.get("triggering_children") or []
            if c.get("arn")
        ]
        return text + (f"; triggered by {', '.join(names)}" if names else "")
    metrics: list[dict[str, Any]] = attrs.get("metrics") or []
    if kind == "anomaly_detection":
        band_id = attrs.get("threshold_metric_id")
        band = next((m for m in metrics if m["id"] == band_id), None)
        watched = _underlying_metric(metrics)
        subject = (
            _describe_metric(watched["metric_name"], watched["namespace"], watched["dimensions"])
            if watched
            else "the alarm's metrics"
        )
        stat = f" {watched['stat']}" if watched and watched["stat"] else ""
        per = f" per {_fmt_number(watched['period'])} s" if watched and watched["period"] else ""
        band_text = band["expression"] if band and band["expression"] else band_id
        side = _BAND_SIDES.get(attrs.get("comparison") or "", "outside")
        return f"{subject}{stat}{per} {side} the anomaly detection band {band_text}{over}"
    threshold = f"{cmp_words or 'compared with'} {_fmt_number(attrs.get('threshold'))}"
    unit = attrs.get("unit")
    if unit and unit != "None":
        threshold += f" {unit}"
    if kind == "metric_math":
        expr = next((m for m in metrics if m["expression"] and m["return_data"]), None)
        inputs = [
            _describe_metric(m["metric_name"], m["namespace"], m["dimensions"])
            for m in metrics
            if m["metric_name"]
        ]
        label = f" ({expr['label']})" if expr and expr["label"] else ""
        head = f"expression {expr['expression']}{label}" if expr else "metric math"
        of = f" of {'; '.join(inputs)}" if inputs else ""
        return f"{head}{of} is {threshold}{over}"
    subject = _describe_metric(
        attrs.get("metric_name"), attrs.get("namespace"), attrs["dimensions"]
    )
    stat = f"{attrs['statistic']} of " if attrs.get("statistic") else ""
    period = attrs.get("period")
    per = f" per {_fmt_number(period)} s" if period else ""
    return f"{stat}{subject}{per} is {threshold}{over}"


def _name_of_arn(arn: str) -> str:
    match = _ALARM_ARN_RE.match(arn)
    return match.group(4) if match else arn


def build_alarm_alert(
    doc: Mapping[str, Any],
    *,
    settings: Any = None,
    dedupe_key: str | None = None,
    payload: Any = None,
    topic_arn: str | None = None,
    fallback_time: datetime | None = None,
) -> Alert | None:
    """Turn one alarm message or alarm state-change event into an alert.

    :param doc: The decoded SNS ``Message`` or the EventBridge event.
    :param settings: The integration's settings (an :class:`AlarmSettings`); decides the
        severity of ALARM and of INSUFFICIENT_DATA.
    :param dedupe_key: The source message id (SNS ``MessageId``); when ``None`` a key
        derived from the alarm, its new state and the state change time is used.
    :param payload: The original delivery kept on the alert (defaults to ``doc``).
    :param topic_arn: The SNS topic, a last-resort source of account and region.
    :param fallback_time: Source time when the document has no usable timestamp.
    :return: The alert (fingerprint and action not yet set), or ``None`` when ``doc`` is
        neither format.
    """
    if is_alarm_message(doc):
        fields = _from_sns_message(doc)
    elif is_alarm_event(doc):
        fields = _from_event(doc)
    else:
        return None
    arn, account, region, partition = _locate(fields, topic_arn)
    name = fields["alarm_name"] or (_name_of_arn(arn) if arn else None) or "(unnamed alarm)"
    state = (fields["state"] or "UNKNOWN").upper()
    source_time = parse_time(fields["state_change_time"]) or fallback_time or datetime.now(UTC)
    attrs: dict[str, Any] = {
        "account": account,
        "region": region,
        "region_name": regions.region_name(region)
        or (fields["raw_region"] if region is None else None),
        "alarm_name": name,
        "alarm_arn": arn,
        "alarm_type": fields["alarm_type"],
        "state": state,
        "previous_state": fields["previous_state"],
        "reason": fields["reason"],
        "metric_name": fields["metric_name"],
        "namespace": fields["namespace"],
        "dimensions": fields["dimensions"],
        "threshold": fields["threshold"],
        "comparison": fields["comparison"],
        "statistic": fields["statistic"],
        "unit": fields["unit"],
        "period": fields["period"],
        "evaluation_periods": fields["evaluation_periods"],
        "treat_missing_data": fields["treat_missing_data"],
        "threshold_metric_id": fields["threshold_metric_id"],
        "metrics": fields["metrics"],
        "alarm_rule": fields["alarm_rule"],
        "triggering_children": fields["triggering_children"],
        "description": fields["description"],
        "actions_suppressed_by": fields["actions_suppressed_by"],
        "partition": partition,
        "topic_arn": topic_arn,
        "format": fields["format"],
    }
    if attrs["metric_name"] is None and attrs["alarm_type"] in ("metric_math", "anomaly_detection"):
        # A math or anomaly alarm over a single metric still "watches" that metric:
        # CloudTrail's enrichment and responders both want its name.
        watched = _underlying_metric(attrs["metrics"])
        if watched:
            attrs["metric_name"] = watched["metric_name"]
            attrs["namespace"] = watched["namespace"]
            attrs["dimensions"] = dict(watched["dimensions"])
    attrs["condition"] = describe_condition(attrs)

    links = {}
    url = console_url(region, name, partition)
    if url:
        links["console"] = url
    where = region or attrs["region_name"] or "unknown region"
    if dedupe_key is None and fields["format"] == "eventbridge":
        # A direct post (EventBridge API destination) has no SNS MessageId; the event id
        # is EventBridge's own unique id for this delivery.
        dedupe_key = _text(doc.get("id"), 255)
    if dedupe_key is None:
        # No message id at all: the state change itself identifies the message.
        dedupe_key = f"{arn or f'{account}:{region}:{name}'}|{state}|{source_time.isoformat()}"
    return Alert(
        title=f'{state}: "{name}" in {where}',
        source_time=source_time,
        dedupe_key=dedupe_key,
        kind=KIND,
        severity=_severity(state, settings),
        summary=_summary(attrs, source_time),
        attributes=attrs,
        links=links,
        payload=doc if payload is None else payload,
    )


def _severity(state: str, settings: Any) -> Severity:
    if state == "ALARM":
        return Severity(getattr(settings, "alarm_severity", Severity.ERROR))
    if state == "INSUFFICIENT_DATA" and getattr(settings, "insufficient_data", "info") == "trigger":
        return Severity.WARNING
    return Severity.INFO


def _summary(attrs: Mapping[str, Any], source_time: datetime) -> str:
    where = attrs["region"] or "unknown region"
    if attrs["region_name"]:
        where += f" ({attrs['region_name']})"
    change = f"{attrs['previous_state'] or '?'} -> {attrs['state']}"
    lines = [
        f"Reason: {attrs['reason'] or '(none given)'}",
        f"Condition: {attrs['condition']}",
        f"Account: {attrs['account'] or 'unknown'}   Region: {where}",
        # isoformat's "YYYY-MM-DD HH:MM:SS" prefix: what strftime wrote, ~0.6 us cheaper.
        f"State: {change} at {source_time.isoformat(' ', 'seconds')[:19]} UTC",
    ]
    if attrs["description"]:
        lines.append(f"Description: {attrs['description']}")
    if attrs["actions_suppressed_by"]:
        lines.append(
            f"Note: the alarm's actions were suppressed ({attrs['actions_suppressed_by']})."
        )
    if attrs["state"] not in STATES:
        lines.append(f"Note: unknown alarm state {attrs['state']!r}; recorded as info.")
    return "\n".join(lines)


# -------------------------------------------------------------------------------------------
# Entry points for plugins
# -------------------------------------------------------------------------------------------


def decode_message(message: str) -> Any:
    """The SNS ``Message`` as JSON, or ``None`` when it is not a JSON document."""
    text = message.strip()
    if not text.startswith("{"):
        return None
    try:
        return jsonfast.loads(text)
    except (ValueError, RecursionError):  # absurdly deep nesting is "not JSON" too
        return None


def alarm_alerts(notification: SnsNotification, settings: Any) -> list[Alert] | None:
    """Alerts for an SNS notification that carries an alarm state change.

    :param notification: What :func:`alertgate.plugins.aws_sns.receive` returned.
    :param settings: The integration's settings (an :class:`AlarmSettings` or subclass).
    :return: A one-element list, or ``None`` when the message is not an alarm (then the
        caller decides: e.g. :func:`non_alarm_alert`, or CloudTrail's event path).
    """
    doc = decode_message(notification.message)
    payload = notification.envelope if notification.envelope is not None else doc
    alert = build_alarm_alert(
        doc if isinstance(doc, dict) else {},
        settings=settings,
        dedupe_key=notification.message_id,
        payload=payload,
        topic_arn=notification.topic_arn,
        fallback_time=notification.timestamp,
    )
    if alert is None:
        return None
    alert.attributes["delivery"] = notification.kind
    return [alert]


def non_alarm_alert(notification: SnsNotification, note: str | None = None) -> Alert:
    """An ``info`` alert for an SNS message that is not an alarm: recorded, changes nothing."""
    note = note or (
        "This SNS message is not a CloudWatch alarm notification; it was recorded for "
        "reference and changes no incident."
    )
    return recorded_message_alert(notification, kind=NON_ALARM_KIND, what="an alarm", note=note)


def alarm_fingerprint(alert: Alert, settings: object = None) -> str | None:
    """Grouping key of an alarm alert: the alarm's ARN.

    Without an ARN it is the ARN the alarm would have (partition, region code, account,
    name), so a message with and without an ARN still group together; the alarm name is
    never used alone. ``None`` for alerts that are not alarms.
    """
    if alert.kind == NON_ALARM_KIND:
        return topic_fingerprint(alert)
    if alert.kind != KIND:
        return None
    attrs = alert.attributes
    if attrs.get("alarm_arn"):
        return str(attrs["alarm_arn"])
    region = attrs.get("region") or "unknown-region"
    account = attrs.get("account") or "unknown-account"
    partition = attrs.get("partition") or regions.partition_of(attrs.get("region"))
    return f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{attrs.get('alarm_name')}"


def alarm_action(alert: Alert, settings: Any) -> Action | None:
    """ALARM triggers, OK resolves, INSUFFICIENT_DATA follows ``settings.insufficient_data``.

    Unknown states and non-alarm messages are ``info``; ``None`` for other kinds.
    """
    if alert.kind == NON_ALARM_KIND:
        return Action.INFO
    if alert.kind != KIND:
        return None
    state = alert.attributes.get("state")
    if state == "ALARM":
        return Action.TRIGGER
    if state == "OK":
        return Action.RESOLVE
    if state == "INSUFFICIENT_DATA":
        policy = getattr(settings, "insufficient_data", "info")
        return Action.TRIGGER if policy == "trigger" else Action.INFO
    return Action.INFO


__all__ = [
    "EVENT_DETAIL_TYPE",
    "KIND",
    "NON_ALARM_KIND",
    "AlarmSettings",
    "alarm_action",
    "alarm_alerts",
    "alarm_fingerprint",
    "build_alarm_alert",
    "console_url",
    "decode_message",
    "describe_condition",
    "is_alarm_event",
    "is_alarm_message",
    "non_alarm_alert",
    "parse_time",
]

"""CloudTrail enrichment of CloudWatch alarms (path 1): what does this alarm's metric watch?

The alarm itself is parsed by :mod:`alertgate.plugins.aws_cloudwatch.alarms`. Here its metric name
(or, failing that, its alarm name) is matched against the metric names of the detection
catalog - the CIS benchmark's own (``root_usage_metric``), AWS's CloudFormation sample's
(``RootAccountUsageCount``) and common variants - and against the integration's
``metric_map``. A match tells the responder what the alarm watches, adds the category and
CIS control, and sets the severity of ALARM.
"""

from __future__ import annotations

from dataclasses import dataclass

from alertgate.models import Alert, Severity
from alertgate.plugins.aws_cloudtrail.catalog import Detection, normalize_metric_name
from alertgate.plugins.aws_cloudtrail.insights import (
    alarm_window,
    insights_query,
    logs_insights_url,
)
from alertgate.plugins.aws_cloudtrail.settings import CloudTrailSettings, MetricMapping
from alertgate.plugins.aws_cloudwatch.regions import is_region_code

normalize = normalize_metric_name

_MIN_CONTAINED = 8
"""Alarm-name matching looks for a known name inside the alarm name; shorter names than
this are too generic to trust that way."""


@dataclass(frozen=True, slots=True)
class Watch:
    """What an alarm's metric watches."""

    title: str
    description: str
    category: str
    severity: Severity | None
    detection: str | None
    cis: str | None
    matched_by: str
    """``metric_map``, ``metric_name`` or ``alarm_name``."""


def _from_detection(detection: Detection, matched_by: str) -> Watch:
    return Watch(
        title=detection.title,
        description=detection.description,
        category=detection.category,
        severity=detection.severity,
        detection=detection.id,
        cis=detection.cis,
        matched_by=matched_by,
    )


def _from_mapping(mapping: MetricMapping, settings: CloudTrailSettings, name: str) -> Watch:
    base = settings.detection(mapping.detection) if mapping.detection else None
    return Watch(
        title=mapping.title or (base.title if base else name),
        description=mapping.description or (base.description if base else ""),
        category=mapping.category or (base.category if base else "custom"),
        severity=mapping.severity or (base.severity if base else None),
        detection=base.id if base else None,
        cis=base.cis if base else None,
        matched_by="metric_map",
    )


def identify(
    metric_name: str | None, alarm_name: str | None, settings: CloudTrailSettings
) -> Watch | None:
    """What an alarm watches, from its metric name, then its alarm name; ``None`` if unknown.

    The integration's ``metric_map`` wins (exact name, then normalized); then the catalog's
    metric names (normalized, exact); then a catalog name contained in the alarm name.
    Disabled detections still describe alarms: the alarm, not the catalog, decides to page.
    """
    if metric_name:
        wanted = normalize(metric_name)
        mapping = settings.metric_map.get(metric_name) or settings.metric_map_index().get(wanted)
        if mapping is not None:
            return _from_mapping(mapping, settings, metric_name)
    index = settings.metric_index()
    if metric_name:
        found = index.get(wanted)
        if found is not None:
            return _from_detection(found, "metric_name")
    if alarm_name:
        wanted = normalize(alarm_name)
        found = index.get(wanted)
        if found is None:
            candidates = [k for k in index if len(k) >= _MIN_CONTAINED and k in wanted]
            found = index[max(candidates, key=len)] if candidates else None
        if found is not None:
            return _from_detection(found, "alarm_name")
    return None


def enrich(alert: Alert, settings: CloudTrailSettings) -> Alert:
    """Add what the alarm watches to a ``cloudwatch_alarm`` alert (in place).

    Attributes gain ``detection``, ``watches``, ``category``, ``cis`` and
    ``watch_matched_by``; the title names what is watched; ALARM takes the watch's
    severity. Unknown metrics are left as the CloudWatch parser made them.
    """
    attrs = alert.attributes
    watch = identify(attrs.get("metric_name"), attrs.get("alarm_name"), settings)
    attrs.update(
        detection=watch.detection if watch else None,
        watches=watch.title if watch else None,
        category=watch.category if watch else None,
        cis=watch.cis if watch else None,
        watch_matched_by=watch.matched_by if watch else None,
    )
    if watch is None:
        return alert
    alert.title = f"{alert.title}: {watch.title}"
    cis = f" [CIS AWS Foundations {watch.cis}]" if watch.cis else ""
    head = f"Watches: {watch.title}{cis}"
    if watch.description:
        head += f"\n{watch.description}"
    alert.summary = f"{head}\n{alert.summary}" if alert.summary else head
    if attrs.get("state") == "ALARM" and watch.severity is not None:
        alert.severity = watch.severity
    link = insights_link(alert, settings)
    if link:
        alert.links["logs_insights"] = link
    return alert


def insights_link(alert: Alert, settings: CloudTrailSettings) -> str | None:
    """A Logs Insights query for the events the alarm's metric filter counted, over the
    alarm's evaluation window ending at its state change; ``None`` without the trail's log
    group (``log_group_name``), a catalog detection, or a valid region."""
    attrs = alert.attributes
    region = attrs.get("region")
    detection = settings.detection(attrs["detection"]) if attrs.get("detection") else None
    if not settings.log_group_name or detection is None or not is_region_code(region):
        return None
    start, end = alarm_window(
        alert.source_time, attrs.get("period"), attrs.get("evaluation_periods")
    )
    query = insights_query(detection.rule)
    return logs_insights_url(str(region), settings.log_group_name, query, start, end)

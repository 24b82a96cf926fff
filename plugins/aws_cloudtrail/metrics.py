"""CloudTrail enrichment of CloudWatch alarms (path 1): what does this alarm's metric watch?

The alarm itself is parsed by :mod:`plugins.aws_cloudwatch.alarms`. Here its metric name
(or, failing that, its alarm name) is matched against the metric names of the detection
catalog - the CIS benchmark's own (``root_usage_metric``), AWS's CloudFormation sample's
(``RootAccountUsageCount``) and common variants - and against the integration's
``metric_map``. A match tells the responder what the alarm watches, adds the category and
CIS control, and sets the severity of ALARM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.models import Alert, Severity
from plugins.aws_cloudtrail.catalog import Detection
from plugins.aws_cloudtrail.settings import CloudTrailSettings, MetricMapping

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_CIS_PREFIX = re.compile(r"^cis(v?\d+)*")
_SUFFIXES = ("metrics", "metric", "count", "alarms", "alarm", "filter")
_MIN_CONTAINED = 8
"""Alarm-name matching looks for a known name inside the alarm name; shorter names than
this are too generic to trust that way."""


def normalize(name: str) -> str:
    """Compare metric names ignoring case, punctuation, a ``CIS…`` prefix and
    Metric/Count/Alarm/Filter suffixes: ``CIS-3.3-RootUsageMetric`` -> ``rootusage``."""
    text = _NOT_ALNUM.sub("", name.lower())
    text = _CIS_PREFIX.sub("", text)
    stripped = True
    while stripped:
        stripped = False
        for suffix in _SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                stripped = True
    return text


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


def _index(settings: CloudTrailSettings) -> dict[str, Detection]:
    index: dict[str, Detection] = {}
    for detection_id in settings.known_ids():
        detection = settings.detection(detection_id)
        assert detection is not None
        for metric in (*detection.metric_names, detection.id):
            index.setdefault(normalize(metric), detection)
    return index


def identify(
    metric_name: str | None, alarm_name: str | None, settings: CloudTrailSettings
) -> Watch | None:
    """What an alarm watches, from its metric name, then its alarm name; ``None`` if unknown.

    The integration's ``metric_map`` wins (exact name, then normalized); then the catalog's
    metric names (normalized, exact); then a catalog name contained in the alarm name.
    Disabled detections still describe alarms: the alarm, not the catalog, decides to page.
    """
    if metric_name:
        mapping = settings.metric_map.get(metric_name)
        if mapping is None:
            wanted = normalize(metric_name)
            mapping = next(
                (m for n, m in settings.metric_map.items() if normalize(n) == wanted), None
            )
        if mapping is not None:
            return _from_mapping(mapping, settings, metric_name)
    index = _index(settings)
    if metric_name:
        found = index.get(normalize(metric_name))
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
    return alert

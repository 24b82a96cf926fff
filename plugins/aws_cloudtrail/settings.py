"""Per-integration settings of an AWS CloudTrail integration.

They extend the CloudWatch alarm settings (which extend the SNS ones), because the guide's
path delivers CloudWatch alarms: the same INSUFFICIENT_DATA policy and SNS options apply.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from alertgate.models import Severity
from alertgate.plugins.aws_cloudtrail.catalog import (
    Detection,
    builtin_by_id,
    builtin_metric_index,
    normalize_metric_name,
)
from alertgate.plugins.aws_cloudtrail.insights import LOG_GROUP_PATTERN
from alertgate.plugins.aws_cloudwatch.alarms import AlarmSettings

MAX_CUSTOM_DETECTIONS = 50
MAX_METRIC_MAPPINGS = 200


class MetricMapping(BaseModel):
    """What an alarm on one (non-standard) metric name means.

    Name a detection to borrow its title, description, category and severity, and/or set
    any of those directly (they win over the detection's).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    detection: str | None = Field(None, max_length=64, description="A detection id.")
    title: str | None = Field(None, max_length=120, description="What the metric watches.")
    description: str | None = Field(None, max_length=2000)
    category: str | None = Field(None, pattern=r"^[a-z][a-z0-9_\-]{0,39}$")
    severity: Severity | None = None


class CloudTrailSettings(AlarmSettings):
    """Per-integration options of an AWS CloudTrail integration."""

    disabled_detections: list[str] = Field(
        default_factory=list,
        max_length=100,
        title="Detections turned off",
        description="Ids of detections (built-in or your own) that never alert on this "
        "integration.",
        json_schema_extra={"docs_url": "docs/integrations/aws-cloudtrail.md#detection-catalog"},
    )
    custom_detections: list[Detection] = Field(
        default_factory=list,
        max_length=MAX_CUSTOM_DETECTIONS,
        title="Your own detections",
        description="Extra detections, in the same shape as the built-in ones.",
        json_schema_extra={"docs_url": "docs/integrations/aws-cloudtrail.md#custom-detections"},
    )
    severity_overrides: dict[str, Severity] = Field(
        default_factory=dict,
        max_length=100,
        title="Severity changes",
        description="Detection id to severity, replacing the catalog's rating (e.g. "
        '{"root-login": "warning"}).',
        json_schema_extra={"docs_url": "docs/integrations/aws-cloudtrail.md#detection-catalog"},
    )
    record_unmatched_events: bool = Field(
        True,
        title="Keep events no detection matches",
        description="Record CloudTrail events that match no detection as info alerts on this "
        "integration's log. Off: accept and drop them.",
    )
    metric_map: dict[str, MetricMapping] = Field(
        default_factory=dict,
        max_length=MAX_METRIC_MAPPINGS,
        title="Metrics the catalog does not know",
        description="For alarms on metric filters of your own: metric name to what it watches.",
        json_schema_extra={"docs_url": "docs/integrations/aws-cloudtrail.md#settings"},
    )
    log_group_name: str | None = Field(
        None,
        pattern=LOG_GROUP_PATTERN,
        title="The trail's CloudWatch Logs group",
        description="Alarm path: the CloudWatch Logs log group the trail writes to. Alarms "
        "on catalog metrics then link to a Logs Insights query for the events they counted "
        "(`alertgate aws deploy --log-group` records it).",
    )
    quiet_period_minutes: int | None = Field(
        None,
        ge=1,
        le=43_200,
        title="Resolve after this many quiet minutes",
        description="Resolve an open incident of this integration after this many minutes "
        "without a new alert (CloudTrail events never resolve by themselves). Empty: "
        "resolve by hand.",
    )

    _detections: tuple[Detection, ...] = PrivateAttr(default=())
    _by_id: dict[str, Detection] = PrivateAttr(default_factory=dict)
    _metric_index: dict[str, Detection] = PrivateAttr(default_factory=dict)
    _metric_map_index: dict[str, MetricMapping] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> CloudTrailSettings:
        builtin = builtin_by_id()
        seen: set[str] = set()
        for custom in self.custom_detections:
            if custom.id in builtin:
                raise ValueError(
                    f"custom detection id {custom.id!r} is a built-in detection; pick another"
                )
            if custom.id in seen:
                raise ValueError(f"custom detection id {custom.id!r} appears twice")
            seen.add(custom.id)
        known = builtin.keys() | seen
        for field, ids in (
            ("disabled_detections", self.disabled_detections),
            ("severity_overrides", list(self.severity_overrides)),
            *(
                (f"custom detection {c.id!r} supersedes", c.supersedes)
                for c in self.custom_detections
            ),
            *(
                (f"metric_map[{name!r}].detection", [m.detection])
                for name, m in self.metric_map.items()
                if m.detection is not None
            ),
        ):
            unknown = sorted(set(ids) - known)
            if unknown:
                raise ValueError(f"{field}: unknown detection id(s) {', '.join(unknown)}")
        for name in self.metric_map:
            if not name or len(name) > 255:
                raise ValueError("metric_map keys must be metric names of 1-255 characters")
        self._build()
        return self

    def _build(self) -> None:
        # Built once per settings object, from module-level caches when nothing is
        # customised: settings are validated per delivery and this is the hot path.
        disabled = set(self.disabled_detections)
        by_id = dict(builtin_by_id())
        metric_index = builtin_metric_index()
        if self.custom_detections or self.severity_overrides:
            metric_index = dict(metric_index)
            for detection in self.custom_detections:
                by_id[detection.id] = detection
            for detection_id, severity in self.severity_overrides.items():
                if by_id[detection_id].severity != severity:
                    by_id[detection_id] = by_id[detection_id].model_copy(
                        update={"severity": severity}
                    )
            for detection in by_id.values():
                for metric in (*detection.metric_names, detection.id):
                    key = normalize_metric_name(metric)
                    current = metric_index.get(key)
                    # First claim wins; a severity-overridden copy replaces its original.
                    if current is None or current.id == detection.id:
                        metric_index[key] = detection
        self._by_id = by_id
        self._detections = tuple(d for d in by_id.values() if d.id not in disabled)
        self._metric_index = metric_index
        self._metric_map_index = {
            normalize_metric_name(name): mapping for name, mapping in self.metric_map.items()
        }

    def detections(self) -> tuple[Detection, ...]:
        """The detections in force here: built-ins then custom ones, minus disabled ones,
        with severity overrides applied."""
        return self._detections

    def metric_index(self) -> dict[str, Detection]:
        """Normalized metric name -> detection, over every known detection (disabled too)."""
        return self._metric_index

    def metric_map_index(self) -> dict[str, MetricMapping]:
        """``metric_map`` keyed by normalized metric name."""
        return self._metric_map_index

    def known_ids(self) -> list[str]:
        """Every detection id, enabled or not: built-ins in catalog order, then custom."""
        return list(self._by_id)

    def detection(self, detection_id: str) -> Detection | None:
        """Any known detection (even a disabled one) by id, overrides applied."""
        return self._by_id.get(detection_id)

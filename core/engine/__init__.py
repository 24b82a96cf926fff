"""The incident engine: dedupe, ordering, grouping and resolution of alerts.

See docs/storage.md for the semantics and the group-commit write path.
"""

from alertgate.engine.engine import QUIET_PERIOD_ACTOR, QUIET_PERIOD_SETTING, IngestEngine
from alertgate.engine.types import (
    AlertOutcome,
    Delivery,
    IncidentChange,
    IncidentNotFound,
    IngestReport,
    Outcome,
    StorageUnavailable,
)

__all__ = [
    "QUIET_PERIOD_ACTOR",
    "QUIET_PERIOD_SETTING",
    "AlertOutcome",
    "Delivery",
    "IncidentChange",
    "IncidentNotFound",
    "IngestEngine",
    "IngestReport",
    "Outcome",
    "StorageUnavailable",
]

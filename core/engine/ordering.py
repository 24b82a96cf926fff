"""Rules shared by the in-order path (apply) and the out-of-order placement (late)."""

from __future__ import annotations

from datetime import datetime, timedelta

from alertgate.models import SEVERITY_RANK, Severity
from alertgate.storage.schema import to_utc

MAX_FUTURE_SKEW = timedelta(minutes=15)
"""A source clock may run ahead of ours by this much. Beyond it, ordering uses our receive
time plus this skew, so one bogus far-future timestamp cannot make every later alert of its
grouping key stale."""


def order_time(source_time: datetime, received_at: datetime) -> datetime:
    """The time an alert is ordered by: its source time, capped by :data:`MAX_FUTURE_SKEW`."""
    return min(to_utc(source_time), to_utc(received_at) + MAX_FUTURE_SKEW)


def severity(value: str) -> Severity:
    """A stored or reported severity; unknown values count as ``error``."""
    try:
        return Severity(value)
    except ValueError:
        return Severity.ERROR


def higher(a: str, b: str) -> str:
    """The higher of two severities (``a`` on a tie)."""
    return a if SEVERITY_RANK[severity(a)] >= SEVERITY_RANK[severity(b)] else b

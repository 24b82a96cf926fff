"""Silences (maintenance windows): which incidents' notifications to suppress, and when.

A silence matches when every matcher's glob (:func:`fnmatch.fnmatchcase`) matches the
incident's field: ``service``, ``integration`` (type slug or integration name),
``severity``, ``title``, ``fingerprint`` or ``attributes.NAME`` (the triggering alert's
attributes; dots go deeper: ``attributes.aws.region``). It is active from ``starts_at`` to
``ends_at`` and, with a weekly window, only inside that window (UTC).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

PLAIN_KEYS = ("service", "integration", "severity", "title", "fingerprint")
ATTRIBUTE_PREFIX = "attributes."
_ATTRIBUTE_KEY = re.compile(r"^attributes(\.[A-Za-z0-9_:\-]{1,100}){1,5}$")
MAX_MATCHERS = 20
MAX_GLOB = 500


def check_matchers(matchers: Mapping[str, str]) -> dict[str, str]:
    """Validate matcher keys and globs.

    :raises ValueError: An unknown key, or too many or too long matchers.
    """
    if len(matchers) > MAX_MATCHERS:
        raise ValueError(f"at most {MAX_MATCHERS} matchers")
    checked: dict[str, str] = {}
    for key, glob in matchers.items():
        if key not in PLAIN_KEYS and not _ATTRIBUTE_KEY.match(key):
            raise ValueError(
                f"unknown matcher key {key[:100]!r}: use one of {', '.join(PLAIN_KEYS)} "
                "or attributes.NAME"
            )
        if not isinstance(glob, str) or not glob or len(glob) > MAX_GLOB:
            raise ValueError(f"matcher {key}: a glob of 1 to {MAX_GLOB} characters")
        checked[key] = glob
    return checked


@dataclass(frozen=True, slots=True)
class Weekly:
    """A recurring window: these weekdays (Monday = 0), from ``start`` to ``end`` UTC; an
    ``end`` before ``start`` runs past midnight into the next day."""

    days: frozenset[int]
    start: time
    end: time

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Weekly:
        """:raises ValueError: Bad days or times."""
        days = frozenset(int(d) for d in raw.get("days", ()))
        if not days or not days <= set(range(7)):
            raise ValueError("weekly.days: weekday numbers 0 (Monday) to 6")
        return cls(days, time.fromisoformat(str(raw["start"])), time.fromisoformat(str(raw["end"])))

    def as_json(self) -> dict[str, Any]:
        return {
            "days": sorted(self.days),
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
        }

    def contains(self, moment: datetime) -> bool:
        now, day = moment.time(), moment.weekday()
        if self.start <= self.end:
            return day in self.days and self.start <= now < self.end
        if day in self.days and now >= self.start:
            return True
        return (day - 1) % 7 in self.days and now < self.end


@dataclass(frozen=True, slots=True)
class Subject:
    """What a silence is matched against: one incident event."""

    service: str
    integration: tuple[str, ...]
    severity: str
    title: str
    fingerprint: str
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def value(self, key: str) -> Any:
        if key.startswith(ATTRIBUTE_PREFIX):
            node: Any = self.attributes
            for part in key[len(ATTRIBUTE_PREFIX) :].split("."):
                if not isinstance(node, Mapping) or part not in node:
                    return None
                node = node[part]
            return node
        return getattr(self, key)


@dataclass(frozen=True, slots=True)
class SilenceRule:
    id: int
    organization_id: int
    service_id: int | None
    matchers: tuple[tuple[str, str], ...]
    starts_at: datetime
    ends_at: datetime
    weekly: Weekly | None = None

    def active(self, moment: datetime) -> bool:
        if not self.starts_at <= moment < self.ends_at:
            return False
        return self.weekly is None or self.weekly.contains(moment)

    def matches(self, subject: Subject) -> bool:
        return all(_glob(subject.value(key), glob) for key, glob in self.matchers)


def _glob(value: Any, glob: str) -> bool:
    if value is None:
        return False
    if isinstance(value, tuple):
        return any(fnmatch.fnmatchcase(str(v), glob) for v in value)
    if isinstance(value, list | dict):
        return False
    return fnmatch.fnmatchcase(str(value), glob)

"""Relative ages ("5 min ago") for the UI; the exact time goes in the element's title."""

from __future__ import annotations

from datetime import UTC, datetime

_STEPS = ((60, 1, "s"), (3600, 60, "min"), (86400, 3600, "h"), (86400 * 60, 86400, "d"))


def ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return "—"
    now = now or datetime.now(UTC)
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    seconds = int((now - aware).total_seconds())
    if seconds < 0:
        return "in the future"
    for limit, unit, name in _STEPS:
        if seconds < limit:
            return f"{seconds // unit} {name} ago"
    return aware.strftime("%Y-%m-%d")

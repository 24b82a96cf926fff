"""The links shown with alerts and incidents (e.g. AWS console deep links), one rule."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MAX_INCIDENT_LINKS = 20
"""Most links an incident shows (its alerts may carry a link each: keep the page short)."""


def merge_links(links: Iterable[Mapping[str, Any] | None]) -> dict[str, str]:
    """An incident's links from its alerts' links, oldest alert first: each name keeps its
    first URL (the opening alert's), later alerts add the names it lacked. Only
    ``https://`` URLs: what a plugin stored is shown as a link and must never run script."""
    merged: dict[str, str] = {}
    for one in links:
        for name, url in (one or {}).items():
            if len(merged) >= MAX_INCIDENT_LINKS:
                return merged
            if name not in merged and isinstance(url, str) and url.startswith("https://"):
                merged[str(name)] = url
    return merged

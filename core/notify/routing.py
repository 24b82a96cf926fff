"""Routing rules and active silences, cached per process.

The ingest writer consults the table once per batch. With no rules configured it costs a
dictionary check: the table is reloaded only when ``notify_config.version`` (bumped in the
transaction of every change to channels, rules or silences) differs from the cached one,
and that version is read at most once per ``ALERTGATE_NOTIFY_CACHE_SECONDS``. A change made
in this process invalidates the cache at once; other workers see it within that time.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from alertgate.models import SEVERITY_RANK, Severity
from alertgate.notify.silences import SilenceRule, Subject, Weekly
from alertgate.notify.sqlexec import Exec

SELECT_VERSION = "SELECT version FROM notify_config WHERE id = 1"
BUMP_VERSION = (
    "INSERT INTO notify_config (id, version) VALUES (1, 1) "
    "ON CONFLICT (id) DO UPDATE SET version = notify_config.version + 1"
)
SELECT_RULES = (
    "SELECT r.id, r.organization_id, r.service_id, r.channel_id, r.events, r.min_severity "
    "FROM notification_rules r JOIN notification_channels c ON c.id = r.channel_id "
    "WHERE c.enabled = ? ORDER BY r.id"
)
SELECT_SERVICES = "SELECT id, organization_id, name FROM services"
SELECT_INTEGRATIONS = "SELECT id, type, name FROM integrations"
SELECT_SILENCES = (
    "SELECT id, organization_id, service_id, matchers, starts_at, ends_at, weekly "
    "FROM silences WHERE ends_at > ? ORDER BY id"
)


def severity_rank(value: str) -> int:
    try:
        return SEVERITY_RANK[Severity(value)]
    except ValueError:
        return SEVERITY_RANK[Severity.ERROR]


@dataclass(frozen=True, slots=True)
class Route:
    """One rule: events of the service's incidents at or above a severity to a channel."""

    rule_id: int
    channel_id: int
    events: frozenset[str]
    min_rank: int

    def wants(self, event: str, severity: str) -> bool:
        return event in self.events and severity_rank(severity) >= self.min_rank


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    organization_id: int
    name: str


@dataclass(slots=True)
class RoutingTable:
    version: int
    by_service: dict[int, tuple[Route, ...]] = field(default_factory=dict)
    org_defaults: dict[int, tuple[Route, ...]] = field(default_factory=dict)
    services: dict[int, ServiceInfo] = field(default_factory=dict)
    integrations: dict[int, tuple[str, ...]] = field(default_factory=dict)
    silences: tuple[SilenceRule, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.by_service and not self.org_defaults

    def routes(self, service_id: int, event: str, severity: str) -> list[Route]:
        """The rules of the service (or, when it has none, its organization's default)
        that want this event at this severity."""
        routes = self.by_service.get(service_id)
        if routes is None:
            info = self.services.get(service_id)
            routes = self.org_defaults.get(info.organization_id, ()) if info else ()
        return [r for r in routes if r.wants(event, severity)]

    def silence_for(self, service_id: int, subject: Subject, moment: datetime) -> int | None:
        """The id of the first active silence matching ``subject``, if any."""
        info = self.services.get(service_id)
        for silence in self.silences:
            if info is None or silence.organization_id != info.organization_id:
                continue
            if silence.service_id is not None and silence.service_id != service_id:
                continue
            if silence.active(moment) and silence.matches(subject):
                return silence.id
        return None

    def service_name(self, service_id: int) -> str:
        info = self.services.get(service_id)
        return info.name if info else f"service {service_id}"


def load_table(ex: Exec, version: int, now: datetime) -> RoutingTable:
    """Read rules, services, integrations and unexpired silences."""
    table = RoutingTable(version)
    rules = ex.rows(SELECT_RULES, (True,))
    if not rules:
        return table
    by_service: dict[int, list[Route]] = {}
    defaults: dict[int, list[Route]] = {}
    for rule_id, org_id, service_id, channel_id, events, min_severity in rules:
        route = Route(
            int(rule_id),
            int(channel_id),
            frozenset(str(e) for e in ex.sql.read_json(events) or ()),
            severity_rank(str(min_severity)),
        )
        if service_id is None:
            defaults.setdefault(int(org_id), []).append(route)
        else:
            by_service.setdefault(int(service_id), []).append(route)
    table.by_service = {k: tuple(v) for k, v in by_service.items()}
    table.org_defaults = {k: tuple(v) for k, v in defaults.items()}
    table.services = {
        int(sid): ServiceInfo(int(org), str(name)) for sid, org, name in ex.rows(SELECT_SERVICES)
    }
    table.silences = tuple(_silences(ex, now))
    if table.silences:
        table.integrations = {
            int(iid): (str(itype), str(name)) for iid, itype, name in ex.rows(SELECT_INTEGRATIONS)
        }
    return table


def _silences(ex: Exec, now: datetime) -> Iterable[SilenceRule]:
    for sid, org_id, service_id, matchers, starts, ends, weekly in ex.rows(
        SELECT_SILENCES, (ex.sql.dt(now),)
    ):
        raw_weekly = ex.sql.read_json(weekly)
        yield SilenceRule(
            int(sid),
            int(org_id),
            None if service_id is None else int(service_id),
            tuple(sorted(dict(ex.sql.read_json(matchers) or {}).items())),
            ex.sql.read_dt(starts),
            ex.sql.read_dt(ends),
            Weekly.parse(raw_weekly) if raw_weekly else None,
        )


def bump_version(ex: Exec) -> None:
    """Call in the transaction of every change to channels, rules or silences."""
    ex.rows(BUMP_VERSION)


class RoutingCache:
    """The process's routing table (see the module docstring).

    :param ttl: Seconds between version checks.
    """

    def __init__(self, ttl: float = 1.0) -> None:
        self.ttl = ttl
        self._table: RoutingTable | None = None
        self._checked = -math.inf
        self._lock = threading.Lock()

    def get(self, ex: Exec, now: datetime) -> RoutingTable:
        """The current table, read through ``ex`` (the caller's transaction) when due."""
        table = self._table
        clock = time.monotonic()
        if table is not None and clock - self._checked < self.ttl:
            return table
        rows: Sequence[object] = ex.rows(SELECT_VERSION)
        version = int(rows[0][0]) if rows else 0  # type: ignore[index]
        if table is None or table.version != version or table.silences:
            # Silences end; reload those tables too so expired ones stop costing.
            table = load_table(ex, version, now)
        with self._lock:
            self._table = table
            self._checked = clock
        return table

    def invalidate(self) -> None:
        with self._lock:
            self._checked = -math.inf
            self._table = None

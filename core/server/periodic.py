"""Periodic checks: every enabled integration is shown to its plugins from time to time
(``alertgate_periodic_check``), so that a plugin can raise an alert about what did *not*
arrive, e.g. a heartbeat that stopped.

Every server worker runs :func:`check_periodically`; the job lock
(:func:`~alertgate.storage.locks.job_lock`) lets one process at a time across every server
on the database do a round, and the others skip it. What a check returns is ingested
through the engine like a delivery (grouping, resolving, the outbox's notifications), so
the rules that apply to a delivery's alerts apply to these too.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio.to_thread
from pydantic import ValidationError
from sqlalchemy import select

from alertgate.engine import IngestEngine
from alertgate.engine.types import Delivery
from alertgate.registry import Plugins, UnknownIntegrationType
from alertgate.storage.locks import job_lock
from alertgate.storage.schema import Integration

log = logging.getLogger(__name__)

JOB = "periodic-check"


@dataclass(frozen=True, slots=True)
class CheckRound:
    """What one round did."""

    integrations: int
    """Enabled integrations looked at."""
    alerts: int
    """Alerts ingested (opened, joined, resolved... as the engine decided)."""
    state_updates: int
    """Integrations whose state a check updated."""


def run_periodic_checks(
    engine: IngestEngine, plugins: Plugins, now: datetime | None = None
) -> CheckRound:
    """One round over every enabled integration (no lock: see :func:`check_if_free`).

    An integration whose stored settings no longer validate (or whose type is not
    installed) is skipped: its deliveries are refused too, and the admin sees why there.
    """
    now = now or datetime.now(UTC)
    with engine.db.connect() as conn:
        rows = conn.execute(
            select(
                Integration.id,
                Integration.service_id,
                Integration.type,
                Integration.settings,
                Integration.state,
            ).where(Integration.enabled.is_(True))
        ).all()
    alerts = updated = 0
    for integration_id, service_id, slug, raw_settings, state in rows:
        try:
            settings = plugins.validate_settings(slug, raw_settings, known_keys_only=False)
        except (UnknownIntegrationType, ValidationError):
            continue
        for result in plugins.periodic_check(
            slug, integration_id, settings, dict(state or {}), now
        ):
            if not result.alerts and not result.state_updates:
                continue
            engine.ingest(
                Delivery(
                    integration_id=integration_id,
                    service_id=service_id,
                    alerts=list(result.alerts),
                    received_at=now,
                    state_updates=dict(result.state_updates),
                )
            )
            alerts += len(result.alerts)
            updated += bool(result.state_updates)
            if result.note:
                log.info("periodic check of integration %s: %s", integration_id, result.note)
    return CheckRound(len(rows), alerts, updated)


def check_if_free(
    engine: IngestEngine, plugins: Plugins, now: datetime | None = None
) -> CheckRound | None:
    """:func:`run_periodic_checks`, unless another process is doing a round (``None``)."""
    with job_lock(engine.db, JOB) as mine:
        return run_periodic_checks(engine, plugins, now) if mine else None


async def check_periodically(engine: IngestEngine, plugins: Plugins, interval: float) -> None:
    """A round every ``interval`` seconds, for as long as the server runs."""
    while True:
        await asyncio.sleep(interval)
        try:
            done: CheckRound | None = await anyio.to_thread.run_sync(check_if_free, engine, plugins)
        except Exception:
            log.exception("periodic checks failed; retrying in %s s", interval)
            continue
        if done is not None and done.alerts:
            log.info("periodic checks ingested %s alert(s)", done.alerts)


__all__ = ["CheckRound", "check_if_free", "check_periodically", "run_periodic_checks"]

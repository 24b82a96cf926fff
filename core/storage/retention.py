"""Retention: forget old alerts' raw payloads, keep everything else.

Alerts older than the retention period lose their ``payload`` (the verbatim SNS envelope
or posted document, by far the largest column). The alert rows themselves, with their
title, attributes, times and outcome, and every incident stay, so incident history and
counts are unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from alertgate.storage.schema import sqlite_datetime, to_utc

PRUNE_BATCH = 1000
"""Rows updated per transaction, so a large prune never holds the write lock for long."""

# Oldest first. The ORDER BY also settles the index: with skewed statistics (an integration
# estimated at ~0 rows) uq_alerts_dedupe, which leads with integration_id too, looked as
# cheap and was taken, reading every alert of the integration per batch; only the
# (service_id, integration_id, received_at) index returns rows in this order without a sort.
_PRUNE = text(
    "UPDATE alerts SET payload = NULL WHERE id IN ("
    "SELECT id FROM alerts WHERE service_id = :service AND integration_id = :integration "
    "AND received_at < :cutoff AND payload IS NOT NULL ORDER BY received_at LIMIT :limit)"
)


def prune_payloads(
    db: Engine, older_than: timedelta, *, now: datetime | None = None, batch: int = PRUNE_BATCH
) -> int:
    """Set ``payload`` to NULL on alerts received before ``now - older_than``.

    Walks each integration's alerts through ix_alerts_service_integration_received.
    :return: The number of alerts pruned.
    """
    cutoff = to_utc(now or datetime.now(UTC)) - older_than
    cutoff_param: object = sqlite_datetime(cutoff) if db.dialect.name == "sqlite" else cutoff
    with db.connect() as conn:
        integrations = conn.execute(text("SELECT id, service_id FROM integrations")).all()
    pruned = 0
    for integration_id, service_id in integrations:
        while True:
            with db.begin() as conn:
                count = conn.execute(
                    _PRUNE,
                    {
                        "service": service_id,
                        "integration": integration_id,
                        "cutoff": cutoff_param,
                        "limit": batch,
                    },
                ).rowcount
            pruned += count
            if count < batch:
                break
    return pruned

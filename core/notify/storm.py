"""Storm control: a rate limit per channel; what is over it is folded into one digest.

A channel sends at most ``rate_limit_per_minute`` messages per window
(``ALERTGATE_NOTIFY_RATE_WINDOW_SECONDS``, a minute by default). A notification claimed
while its channel is over the limit is not sent: it is marked ``folded``. Once the window
has room again, the folded notifications of the channel become one ``digest`` notification
("12 more alerts on 3 incidents"), queued like any other (same retries, same idempotency
rules), and each folded row records the digest that carried it (``digested``). Nothing is
dropped and nothing is sent one by one. Repeats of an open incident are never sent alone;
a digest counts them among its alerts.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from alertgate.engine.sql import dump_json
from alertgate.notify.outbox import INSERT_NOTIFICATION
from alertgate.notify.sqlexec import Exec
from alertgate.notify.types import NotifyEvent

MAX_DIGEST_INCIDENTS = 500

SENT_SINCE = "SELECT count(*) FROM notifications WHERE channel_id = ? AND delivered_at >= ?"
FOLD = (
    "UPDATE notifications SET status = 'folded', lease_token = NULL "
    "WHERE id = ? AND lease_token = ?"
)
FOLDED_CHANNELS = "SELECT DISTINCT channel_id FROM notifications WHERE status = 'folded'"
TAKE_FOLDED = (
    "UPDATE notifications SET status = 'digested' WHERE channel_id = ? AND status = 'folded' "
    "RETURNING id, incident_id, payload, created_at"
)
SET_DIGEST = "UPDATE notifications SET digest_id = ? WHERE channel_id = ? AND digest_id IS NULL "
SELECT_DIGEST_ID = "SELECT id FROM notifications WHERE idempotency_key = ?"


def over_limit(
    ex: Exec, channel_id: int, limit: int, window: timedelta, now: datetime, unrecorded: int = 0
) -> bool:
    """Whether the channel already sent ``limit`` messages in the window ending now.

    :param unrecorded: Messages sent but not yet recorded as delivered (the dispatcher
        records a round's outcomes at its end).
    """
    if limit <= 0:
        return False
    rows = ex.rows(SENT_SINCE, (channel_id, ex.sql.dt(now - window)))
    return int(rows[0][0]) + unrecorded >= limit


def fold(ex: Exec, notification_id: int, lease: str) -> None:
    ex.rows(FOLD, (notification_id, lease))


def folded_channels(ex: Exec) -> list[int]:
    return [int(row[0]) for row in ex.rows(FOLDED_CHANNELS)]


def make_digest(ex: Exec, channel_id: int, window: timedelta, now: datetime) -> int | None:
    """Turn the channel's folded notifications into one queued digest; its id (None when
    another dispatcher took them first). Call in a transaction.

    The digest counts the alerts its incidents received from one window before the first
    folded notification on: the burst that saturated the channel."""
    taken = ex.rows(TAKE_FOLDED, (channel_id,))
    if not taken:
        return None
    ids = sorted(int(row[0]) for row in taken)
    incidents = sorted({int(row[1]) for row in taken})
    since = min(ex.sql.read_dt(row[3]) for row in taken) - window
    latest = max(taken, key=lambda row: int(row[0]))
    alerts = _alerts_since(ex, incidents[:MAX_DIGEST_INCIDENTS], since)
    payload: dict[str, Any] = dict(ex.sql.read_json(latest[2]) or {})
    summary = f"{alerts} more alerts on {len(incidents)} incidents"
    payload.update(
        event=NotifyEvent.DIGEST.value,
        digest={
            "summary": summary,
            "alerts": alerts,
            "notifications": len(ids),
            "incidents": incidents[:MAX_DIGEST_INCIDENTS],
            "since": since.isoformat(),
        },
        occurred_at=now.isoformat(),
    )
    payload.pop("alert", None)
    payload.pop("actor", None)
    digest = hashlib.sha256(f"{channel_id}:{ids[0]}:{ids[-1]}".encode()).hexdigest()[:24]
    key = f"ag-digest-{channel_id}-{digest}"
    at = ex.sql.dt(now)
    row = (int(latest[1]), channel_id, "digest", key, dump_json(payload), "pending", at, None, at)
    ex.many(INSERT_NOTIFICATION, [row])
    digest_id = int(ex.rows(SELECT_DIGEST_ID, (key,))[0][0])
    marks = ", ".join(str(i) for i in ids)  # integers from the database
    ex.rows(SET_DIGEST + f"AND id IN ({marks})", (digest_id, channel_id))
    return digest_id


def _alerts_since(ex: Exec, incidents: list[int], since: datetime) -> int:
    if not incidents:
        return 0
    listed = ", ".join(str(i) for i in incidents)  # integers from the database
    rows = ex.rows(
        f"SELECT count(*) FROM alerts WHERE incident_id IN ({listed}) AND received_at >= ?",  # noqa: S608
        (ex.sql.dt(since),),
    )
    return int(rows[0][0])

"""Escalation: re-notify incidents nobody acknowledged.

A rule with an escalation channel re-notifies (event ``renotified``) each of its service's
incidents that is still ``triggered`` ``escalate_after_minutes`` after it opened, then every
``escalate_every_minutes``, at most ``escalate_times`` times. A rule whose ``events``
include ``renotified`` also sends each of those re-notifications to its own channel (say a
chat channel kept posted while the pager escalates); without an escalation there is no
timing, so :func:`alertgate.server.notify_admin.create_rule` refuses that choice. There is
no timer state: the
k-th re-notification of an incident has its own idempotency key (incident,
``renotified-k``, channel), so every dispatcher may run the check and each one is queued
once. After downtime only the latest due one is queued, not a burst of missed ones.
Silences apply as to any notification.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from alertgate.engine.types import PendingEvent
from alertgate.notify.outbox import Outbox
from alertgate.notify.routing import severity_rank
from alertgate.notify.sqlexec import Exec
from alertgate.notify.types import NotifyEvent
from alertgate.storage.schema import OPEN_STATUS_SQL

SELECT_ESCALATING = (
    "SELECT r.service_id, r.organization_id, r.escalation_channel_id, r.escalate_after_minutes, "
    "r.escalate_every_minutes, r.escalate_times, r.min_severity, r.channel_id, r.events, "
    "own.enabled FROM notification_rules r "
    "JOIN notification_channels c ON c.id = r.escalation_channel_id "
    "JOIN notification_channels own ON own.id = r.channel_id "
    "WHERE c.enabled = ? AND r.escalate_after_minutes IS NOT NULL"
)
RENOTIFIED = NotifyEvent.RENOTIFIED.value
# The open-status predicate verbatim, so the partial unique index can serve the lookup.
_TRIGGERED = (
    "SELECT i.id, i.service_id, i.fingerprint, i.title, i.severity, i.status, "  # noqa: S608
    f"i.integration_id, i.created_at FROM incidents i WHERE {OPEN_STATUS_SQL} "
    "AND i.status = 'triggered' AND i.created_at <= ? AND "
)
TRIGGERED_OF_SERVICE = _TRIGGERED + "i.service_id = ?"
# An organization default covers the services without rules of their own.
TRIGGERED_OF_ORG_DEFAULT = _TRIGGERED + (  # noqa: S608 - constants only
    "i.service_id IN (SELECT s.id FROM services s WHERE s.organization_id = ? AND NOT EXISTS "
    "(SELECT 1 FROM notification_rules o WHERE o.service_id = s.id))"
)


def due_round(opened: datetime, after: int, every: int, times: int, now: datetime) -> int:
    """Which re-notification (1..times) is due now; 0 for none yet."""
    first = opened + timedelta(minutes=after)
    if now < first:
        return 0
    step = max(every, 1)
    return min(times, int((now - first) / timedelta(minutes=step)) + 1)


def escalate(ex: Exec, outbox: Outbox, now: datetime) -> int:
    """Queue the re-notifications due now (each at most once); returns how many were
    offered, already queued ones included. Call in a transaction."""
    written = 0
    for (
        service_id, org_id, channel_id, after, every, times, min_sev, own_id, events, own_on,
    ) in ex.rows(SELECT_ESCALATING, (True,)):  # fmt: skip
        if not times or times <= 0:
            continue
        targets = [int(channel_id)]
        if own_on and RENOTIFIED in (ex.sql.read_json(events) or ()) and own_id != channel_id:
            targets.append(int(own_id))
        cutoff = ex.sql.dt(now - timedelta(minutes=int(after)))
        rows = (
            ex.rows(TRIGGERED_OF_SERVICE, (cutoff, service_id))
            if service_id is not None
            else ex.rows(TRIGGERED_OF_ORG_DEFAULT, (cutoff, org_id))
        )
        for iid, sid, fingerprint, title, severity, status, integration_id, created in rows:
            if severity_rank(str(severity)) < severity_rank(str(min_sev)):
                continue
            k = due_round(ex.sql.read_dt(created), int(after), int(every or after), int(times), now)
            if k == 0:
                continue
            pending = PendingEvent(
                "incident_renotified", int(iid), int(sid), str(fingerprint), str(title),
                str(severity), str(status), integration_id, None,
            )  # fmt: skip
            for target in targets:
                written += outbox.write_renotification(ex, pending, target, k, now)
    return written

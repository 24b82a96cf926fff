"""Chain health: is the SNS side still delivering?

- a heartbeat (what ``alertgate aws template --heartbeat`` schedules hourly) is recorded in
  the integration state as ``last_heartbeat_at`` and makes no alert;
- ``last_delivery_at`` records the last verified delivery (written at most once a minute,
  so a busy integration does not rewrite its state on every message);
- an UnsubscribeConfirmation opens "SNS subscription removed" on the integration's
  service; a later confirmation resolves it;
- with the setting ``heartbeat_hours``, the periodic check (:func:`heartbeat_check`, the
  ``alertgate_periodic_check`` hook) opens "No heartbeat for N hours" when no heartbeat
  arrived for that long, and a heartbeat (or the next check after one) resolves it.

The heartbeat check keeps its decisions in the state, so repeating a check changes
nothing: ``heartbeat_watch_since`` is when it started watching (reset when turned off), and
``heartbeat_missing_since`` (the start of the silence) is set while the incident is open.
Its alerts' dedupe keys name that silence, so two processes checking at once store one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from alertgate.models import Action, Alert, ParseResult, Severity

HEARTBEAT_MESSAGE = '{"alertgate": "heartbeat", "version": 1}'
"""What the scheduled heartbeat publishes to the topic."""
LAST_DELIVERY = "last_delivery_at"
LAST_HEARTBEAT = "last_heartbeat_at"
DELIVERY_RESOLUTION = timedelta(minutes=1)
SUBSCRIPTION_KIND = "sns_subscription"
HEARTBEAT_KIND = "sns_heartbeat"
WATCH_SINCE = "heartbeat_watch_since"
MISSING_SINCE = "heartbeat_missing_since"


def is_heartbeat(message: str) -> bool:
    """Whether an SNS message is an alertgate heartbeat (a tiny JSON object)."""
    text = message.strip()
    if len(text) > 200 or not text.startswith("{"):
        return False
    try:
        doc = json.loads(text)
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("alertgate") == "heartbeat"


def delivery_state(state: Mapping[str, Any], now: datetime, heartbeat: bool) -> dict[str, Any]:
    """State updates recording a verified delivery (and a heartbeat)."""
    updates: dict[str, Any] = {}
    if heartbeat:
        updates[LAST_HEARTBEAT] = now.isoformat()
    last = state.get(LAST_DELIVERY)
    try:
        stale = not isinstance(last, str) or now - datetime.fromisoformat(last) >= (
            DELIVERY_RESOLUTION
        )
    except (ValueError, TypeError):
        stale = True
    if stale or heartbeat:
        updates[LAST_DELIVERY] = now.isoformat()
    return updates


def subscription_alert(topic_arn: str, now: datetime, *, removed: bool) -> Alert:
    """Opens (removed) or resolves (confirmed again) the "subscription removed" incident."""
    title = "SNS subscription removed" if removed else "SNS subscription confirmed again"
    return Alert(
        title=title,
        source_time=now,
        kind=SUBSCRIPTION_KIND,
        severity=Severity.ERROR,
        summary=f"The subscription of this integration to {topic_arn} was deleted: nothing "
        "published to the topic reaches alertgate until it is subscribed again "
        "(`alertgate aws deploy`)."
        if removed
        else f"The subscription to {topic_arn} is confirmed again.",
        attributes={"topic_arn": topic_arn},
        fingerprint=f"sns:subscription:{topic_arn}",
        action=Action.TRIGGER if removed else Action.RESOLVE,
    )


def _time(value: Any) -> datetime | None:
    """A timestamp this module wrote into the state (ISO 8601), or ``None``."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def heartbeat_fingerprint(integration_id: int) -> str:
    """One "no heartbeat" incident per integration (two may share a service)."""
    return f"sns:heartbeat:{integration_id}"


def heartbeat_check(
    integration_id: int, hours: int | None, state: Mapping[str, Any], now: datetime
) -> ParseResult | None:
    """The periodic heartbeat check of one integration (``None``: nothing to do).

    Off (``hours`` unset): resolves an incident left open and forgets the watch. On: the
    silence starts at the last heartbeat or when the check started watching (recorded on
    its first check), whichever is later, so turning the setting on never pages at once
    for heartbeats that stopped before. A silence of ``hours`` opens the incident once; a
    heartbeat after it resolves it.
    """
    missing = state.get(MISSING_SINCE)
    if not hours:
        if missing:
            return heartbeat_back(integration_id, state, now, "the heartbeat check was turned off")
        if state.get(WATCH_SINCE):
            return ParseResult(state_updates={WATCH_SINCE: None})
        return None
    watch = _time(state.get(WATCH_SINCE))
    if watch is None:
        return ParseResult(state_updates={WATCH_SINCE: now.isoformat()})
    last = _time(state.get(LAST_HEARTBEAT))
    start = max(last, watch) if last is not None else watch
    if now - start < timedelta(hours=hours):
        if missing:
            return heartbeat_back(integration_id, state, now, "a heartbeat arrived")
        return None
    if missing:
        return None  # already open
    since = start.isoformat()
    never = last is None
    return ParseResult(
        alerts=[
            Alert(
                title=f"No heartbeat for {hours} hour{'s' if hours != 1 else ''}",
                source_time=now,
                dedupe_key=f"heartbeat:missing:{integration_id}:{since}",
                kind=HEARTBEAT_KIND,
                severity=Severity.ERROR,
                summary=(
                    f"No alertgate heartbeat has arrived since {since}"
                    + (" (none ever arrived)" if never else "")
                    + ": alerts from AWS may not be reaching alertgate either. Check the "
                    "heartbeat rule, the topic and its subscription (docs: troubleshooting "
                    "the AWS chain)."
                ),
                attributes={"heartbeat_hours": hours, "silent_since": since},
                fingerprint=heartbeat_fingerprint(integration_id),
                action=Action.TRIGGER,
            )
        ],
        state_updates={MISSING_SINCE: since},
        note=f"no heartbeat since {since}",
    )


def heartbeat_back(
    integration_id: int, state: Mapping[str, Any], now: datetime, reason: str
) -> ParseResult:
    """Resolves the "no heartbeat" incident opened for the silence in ``state``."""
    since = str(state.get(MISSING_SINCE))
    return ParseResult(
        alerts=[
            Alert(
                title="Heartbeat back",
                source_time=now,
                dedupe_key=f"heartbeat:back:{integration_id}:{since}",
                kind=HEARTBEAT_KIND,
                severity=Severity.INFO,
                summary=f"The heartbeat silence since {since} ended: {reason}.",
                attributes={"silent_since": since},
                fingerprint=heartbeat_fingerprint(integration_id),
                action=Action.RESOLVE,
            )
        ],
        state_updates={MISSING_SINCE: None},
        note=f"heartbeat silence since {since} ended: {reason}",
    )

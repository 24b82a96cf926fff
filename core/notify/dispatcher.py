"""The dispatcher: claims due notifications, sends them through channel plugins, retries.

Every server worker runs one (a thread). A claim is one ``UPDATE ... RETURNING`` that marks
due rows ``sending`` under a random lease token and sets ``next_attempt_at`` to the lease's
expiry; on PostgreSQL its subquery takes the rows ``FOR UPDATE SKIP LOCKED``, so concurrent
dispatchers (workers, servers) claim disjoint rows; on SQLite the UPDATE holds the
database's write lock, which serializes claims the same way. A dispatcher killed
mid-send leaves its rows ``sending``; once the lease expires they are due again and
another dispatcher sends them, with the same idempotency key.

A failed attempt is retried after ``base * 2**(attempt-1)`` seconds (capped), scaled by
a random factor in [0.5, 1] so receivers coming back are not hit by every retry at once.
After the last attempt (or a failure the plugin says cannot be retried) the notification
is ``failed``: shown on the incident's timeline, in the API and in /metrics.

The dispatcher shares its worker's CPU and interpreter lock with the ingest. While the
ingest is saturated (its commits carry several deliveries each), it holds back for at
most ``notify_defer_max_seconds`` after the first notification waiting, then sends the
backlog: during a burst ingest keeps its rate and notifications arrive later.
"""

from __future__ import annotations

import json
import logging
import math
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter as MetricCounter
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine

from alertgate.engine.sql import RawSql
from alertgate.engine.writeturn import WriteTurn
from alertgate.notify import acklink, escalation, storm
from alertgate.notify.outbound import OutboundHttp
from alertgate.notify.outbox import Outbox
from alertgate.notify.routing import RoutingCache
from alertgate.notify.secrets import SecretKeyError, decrypt, fernet_from
from alertgate.notify.sqlexec import ConnExec
from alertgate.notify.types import Notification, NotificationError, NotifyEvent
from alertgate.registry import Plugins, UnknownIntegrationType
from alertgate.settings import Settings

log = logging.getLogger(__name__)

NOTIFICATIONS = MetricCounter(
    "alertgate_notifications_total",
    "Notification attempts by channel type and result: delivered, retried, failed, folded "
    "(over the channel's rate limit, sent later in a digest).",
    ["channel_type", "result"],
)

CLAIM_BATCH = 50
"""Notifications per round: a round's claim, channel and incident reads and its outcome
transaction are paid once for all of them."""
SETTINGS_CACHE_SIZE = 256
GATHER_SECONDS = 0.05
"""How long a dispatcher lets notifications gather before a round that is not full."""
SATURATION_WINDOW_SECONDS = 0.25
"""How often a deferring dispatcher looks at the ingest again."""
SATURATED_DELIVERIES_PER_BATCH = 4.0
"""Ingest is saturated when its commits carried at least this many deliveries each on
average over the last window: deliveries were queueing behind each other's commits
(under light load each delivery commits alone)."""
ESCALATION_CHECK_SECONDS = 15.0
"""How often each dispatcher looks for incidents due for re-notification."""
MAX_ERROR = 500

CLAIM = (
    "UPDATE notifications SET status = 'sending', lease_token = ?, attempts = attempts + 1, "
    "next_attempt_at = ? WHERE id IN (SELECT id FROM notifications "
    "WHERE status IN ('pending', 'sending') AND next_attempt_at <= ? "
    "ORDER BY next_attempt_at, id LIMIT ?{lock}) "
    "RETURNING id, incident_id, channel_id, event, idempotency_key, payload, attempts"
)
MARK_DELIVERED = (
    "UPDATE notifications SET status = 'delivered', delivered_at = ?, lease_token = NULL, "
    "last_error = NULL WHERE lease_token = ? AND id IN ({ids})"
)
MARK_RETRY = (
    "UPDATE notifications SET status = 'pending', next_attempt_at = ?, last_error = ?, "
    "lease_token = NULL WHERE id = ? AND lease_token = ?"
)
RELEASE_UNSENT = (
    "UPDATE notifications SET status = 'pending', next_attempt_at = ?, lease_token = NULL, "
    "attempts = attempts - 1 WHERE lease_token = ? AND id IN ({ids})"
)
"""Give back claimed rows a round did not get to: due at once, their claim not counted."""
MARK_FAILED = (
    "UPDATE notifications SET status = 'failed', last_error = ?, lease_token = NULL "
    "WHERE id = ? AND lease_token = ?"
)
SELECT_CHANNEL = (
    "SELECT id, name, type, settings, secrets, enabled, rate_limit_per_minute "
    "FROM notification_channels WHERE id = ?"
)
SELECT_OPEN_INCIDENTS = (
    "SELECT id FROM incidents WHERE id IN ({ids}) AND status IN ('triggered', 'acknowledged')"
)


@dataclass(frozen=True, slots=True)
class Channel:
    """A channel row, ready to send through."""

    id: int
    name: str
    type: str
    settings: dict[str, Any]
    secrets: str | None
    enabled: bool
    rate_limit: int = 0


def test_notification(channel_name: str, public_url: str, now: datetime) -> Notification:
    """What ``channels test`` sends: a made-up incident, marked ``test``."""
    payload = {
        "event": NotifyEvent.TEST.value,
        "incident": {
            "id": 0,
            "status": "triggered",
            "title": "Test notification from alertgate",
            "severity": "info",
            "service": "alertgate",
            "url": public_url.rstrip("/") + "/",
        },
        "occurred_at": now.isoformat(),
    }
    key = f"ag-test-{secrets.token_hex(12)}"
    return Notification(key, NotifyEvent.TEST, payload, channel_name)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    incident_id: int
    channel_id: int
    event: str
    idempotency_key: str
    payload: dict[str, Any]
    attempts: int
    lease: str


def _now() -> datetime:
    return datetime.now(UTC)


def retry_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds before attempt ``attempt + 1``: exponential, capped, with jitter."""
    delay: float = min(cap, base * 2.0 ** (attempt - 1))
    return delay * rng.uniform(0.5, 1.0)


class Dispatcher:
    """Delivers the outbox. :meth:`run_once` is one claim-and-send round (tests call it);
    :meth:`start` runs rounds on a thread until :meth:`stop`."""

    def __init__(
        self,
        db: Engine,
        plugins: Plugins,
        settings: Settings,
        outbox: Outbox | None = None,
        ingest_stats: Callable[[], Mapping[str, int]] | None = None,
    ) -> None:
        """:param outbox: The process's outbox (its routing cache), for escalations.
        :param ingest_stats: The process's ingest counters (``batches``, ``deliveries``:
            :attr:`alertgate.engine.IngestEngine.stats`), to hold dispatch back while
            ingest is saturated (``notify_defer_max_seconds``)."""
        self.db = db
        self.outbox = outbox or Outbox(RoutingCache(settings.notify_cache_seconds))
        self._escalated_at = -math.inf
        self.plugins = plugins
        self.settings = settings
        self.sql = RawSql(db.dialect.name)
        self._claim = self.sql.adapt(
            CLAIM.format(lock=" FOR UPDATE SKIP LOCKED" if self.sql.postgresql else "")
        )
        database = None if self.sql.postgresql else db.url.database
        # SQLite: writes take the writers' turn, so the ingest writer never finds the
        # database locked by a dispatcher (see alertgate.engine.writeturn).
        self._turn = WriteTurn(database)
        self._http = OutboundHttp(
            timeout=settings.notify_timeout_seconds,
            allow_private=settings.notify_allow_private_addresses,
        )
        self._rng = random.Random()  # noqa: S311 - jitter, not security
        self._settings_cache: dict[tuple[int, str | None, str], BaseModel] = {}
        self._last_settings: tuple[Channel, BaseModel] | None = None
        self._wake = threading.Event()
        self._ingest_stats = ingest_stats
        self._waiting_since: float | None = None
        """When this process first queued a notification not yet claimed (monotonic)."""
        self._ingest_seen: tuple[int, int] | None = None
        """The ingest's (batches, deliveries) at the previous look."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the thread ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="alertgate-dispatcher", daemon=True
            )
            self._thread.start()

    def wake(self) -> None:
        """New notifications were committed: look now rather than at the next poll."""
        if self._waiting_since is None:
            self._waiting_since = time.monotonic()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._http.close()
        self._turn.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if time.monotonic() - self._escalated_at >= ESCALATION_CHECK_SECONDS:
                    self._escalated_at = time.monotonic()
                    self.escalate()
                self._defer_while_saturated()
                waiting_since = self._waiting_since
                claimed = self.run_once()
                if not claimed and self._waiting_since == waiting_since:
                    self._waiting_since = None  # drained (a newer wake keeps its time)
            except Exception:
                log.exception("notification dispatch round failed")
                claimed = 0
            if claimed >= CLAIM_BATCH:
                continue  # a backlog: next round at once
            if not claimed:
                self._wake.wait(self.settings.notify_poll_seconds)
                self._wake.clear()
            # Let the notifications of the next few commits gather into one round: a
            # round's claim and outcome transactions (each taking SQLite's write turn
            # from the ingest) cost about as much as several sends.
            self._stop.wait(GATHER_SECONDS)

    def _defer_while_saturated(self) -> None:
        """Wait while this worker's ingest is saturated, for at most
        ``notify_defer_max_seconds`` after the first notification it queued that is still
        waiting. A dispatcher thread shares the worker's CPU and interpreter lock with the
        ingest; during a burst, ingest first, then the backlog (docs/notifications.md)."""
        limit = self.settings.notify_defer_max_seconds
        if limit <= 0 or self._ingest_stats is None:
            return
        while not self._stop.is_set() and self._ingest_saturated():
            since = self._waiting_since
            if since is None or time.monotonic() - since >= limit:
                return
            self._stop.wait(SATURATION_WINDOW_SECONDS)

    def _ingest_saturated(self) -> bool:
        """Whether the ingest's commits since the previous look carried
        ``SATURATED_DELIVERIES_PER_BATCH`` deliveries each or more on average."""
        assert self._ingest_stats is not None
        stats = self._ingest_stats()
        batches, deliveries = stats.get("batches", 0), stats.get("deliveries", 0)
        before, self._ingest_seen = self._ingest_seen, (batches, deliveries)
        if before is None or batches <= before[0]:
            return False
        per_batch = (deliveries - before[1]) / (batches - before[0])
        return per_batch >= SATURATED_DELIVERIES_PER_BATCH

    # -- one round -----------------------------------------------------------------------------

    def run_once(self, now: datetime | None = None) -> int:
        """Claim due notifications and send each; returns how many were claimed.

        A round reads the claimed notifications' channels and incidents once and records
        every outcome in one transaction at its end: on SQLite each write transaction
        takes the writers' turn from the ingest path, so one per round, not one per
        message. A crash before that commit leaves the round's rows leased; they are sent
        again after the lease, with the same idempotency keys.
        """
        claimed = self._claim_due(now or datetime.now(UTC))
        # Outcomes are recorded at the round's end, so the round must end well inside its
        # lease: past it, another dispatcher would claim and send these rows again.
        round_ends = time.monotonic() + self.settings.notify_lease_seconds / 2
        channels = {cid: self._channel(cid) for cid in {item.channel_id for item in claimed}}
        open_ids = self._open_incidents({item.incident_id for item in claimed})
        outcomes: list[tuple[Claimed, str, BaseException | None]] = []
        unsent: Sequence[Claimed] = ()
        sent: Counter[int] = Counter()  # per channel, this round: not yet recorded
        try:
            for index, item in enumerate(claimed):
                if self._stop.is_set() or time.monotonic() > round_ends:
                    unsent = claimed[index:]
                    break
                outcome = self._deliver(item, channels[item.channel_id], open_ids, sent)
                if outcome is not None:
                    outcomes.append(outcome)
                    if outcome[2] is None:
                        sent[item.channel_id] += 1
        finally:
            self._finish_all(outcomes, unsent)
        return len(claimed) + self._flush_digests(datetime.now(UTC))

    def _claim_due(self, now: datetime) -> list[Claimed]:
        token = secrets.token_hex(16)
        lease_end = now + timedelta(seconds=self.settings.notify_lease_seconds)
        params = (token, self.sql.dt(lease_end), self.sql.dt(now), CLAIM_BATCH)
        with self._turn, self.db.begin() as conn:
            rows = conn.exec_driver_sql(self._claim, params).all()
        return [
            Claimed(
                int(r[0]),
                int(r[1]),
                int(r[2]),
                str(r[3]),
                str(r[4]),
                dict(self.sql.read_json(r[5]) or {}),
                int(r[6]),
                token,
            )
            # RETURNING follows the table's physical order, not the subquery's: oldest first.
            for r in sorted(rows, key=lambda r: int(r[0]))
        ]

    def _deliver(
        self, item: Claimed, channel: Channel | None, open_ids: set[int], sent: Counter[int]
    ) -> tuple[Claimed, str, BaseException | None] | None:
        """Send one claimed notification; its outcome to record (``None``: folded into a
        digest, already recorded)."""
        if channel is None:
            return item, "-", NotificationError("the channel was deleted", retryable=False)
        if item.event != NotifyEvent.DIGEST and self._fold_if_over_limit(
            channel, item, sent[channel.id]
        ):
            return None
        payload = self.render(item.payload, incident_open=item.incident_id in open_ids)
        notification = Notification(
            item.idempotency_key, NotifyEvent(item.event), payload, channel.name, item.attempts
        )
        try:
            self.send(channel, notification)
        except Exception as exc:
            return item, channel.type, exc
        return item, channel.type, None

    def escalate(self, now: datetime | None = None) -> int:
        """Queue the re-notifications due now (alertgate.notify.escalation)."""
        with self._turn, self.db.begin() as conn:
            offered = escalation.escalate(ConnExec(conn), self.outbox, now or datetime.now(UTC))
        return offered

    # -- storm control (alertgate.notify.storm) -------------------------------------------------

    @property
    def _window(self) -> timedelta:
        return timedelta(seconds=self.settings.notify_rate_window_seconds)

    def _fold_if_over_limit(self, channel: Channel, item: Claimed, unrecorded: int) -> bool:
        if channel.rate_limit <= 0:
            return False
        with self._turn, self.db.begin() as conn:
            ex = ConnExec(conn)
            window, limit = self._window, channel.rate_limit
            if not storm.over_limit(ex, channel.id, limit, window, _now(), unrecorded):
                return False
            storm.fold(ex, item.id, item.lease)
        NOTIFICATIONS.labels(channel.type, "folded").inc()
        return True

    def _flush_digests(self, now: datetime) -> int:
        """Queue a digest for each channel with folded notifications and room again."""
        with self.db.connect() as conn:
            channels = storm.folded_channels(ConnExec(conn))
        made = 0
        for channel_id in channels:
            channel = self._channel(channel_id)
            if channel is None:
                continue
            with self._turn, self.db.begin() as conn:
                ex = ConnExec(conn)
                if storm.over_limit(ex, channel_id, channel.rate_limit, self._window, now):
                    continue
                made += storm.make_digest(ex, channel_id, self._window, now) is not None
        return made

    def send(self, channel: Channel, notification: Notification) -> None:
        """Send one notification through ``channel`` now (also ``channels test``).

        :raises NotificationError: It did not get through.
        """
        if not channel.enabled:
            raise NotificationError("the channel is disabled", retryable=False)
        try:
            ctype = self.plugins.get_channel_type(channel.type)
        except UnknownIntegrationType as exc:
            raise NotificationError(str(exc.args[0]), retryable=False) from None
        settings = self._channel_settings(channel, ctype.settings_model)
        self.plugins.send_notification(channel.type, notification, settings, self._http)

    def _channel_settings(self, channel: Channel, model: type[BaseModel]) -> BaseModel:
        """The channel's validated settings, secrets decrypted; kept per channel while its
        stored row is the same (decrypting and validating cost more than a small send).

        :raises NotificationError: The key or the settings are wrong (not retryable).
        """
        last = self._last_settings
        if last is not None and last[0] is channel:
            return last[1]  # the same row object as the previous send (one round's channel)
        cache_key = (channel.id, channel.secrets, json.dumps(channel.settings, sort_keys=True))
        cached = self._settings_cache.get(cache_key)
        if cached is not None:
            self._last_settings = channel, cached
            return cached
        try:
            fernet = fernet_from(self.settings.secret_key) if channel.secrets else None
            values = {**channel.settings, **decrypt(fernet, channel.secrets)}
            settings = model.model_validate(values)
        except SecretKeyError as exc:
            raise NotificationError(str(exc), retryable=False) from None
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors()[:5])
            raise NotificationError(
                f"invalid channel settings: {fields}", retryable=False
            ) from None
        if len(self._settings_cache) >= SETTINGS_CACHE_SIZE:
            self._settings_cache.clear()
        self._settings_cache[cache_key] = settings
        self._last_settings = channel, settings
        return settings

    def render(self, stored: dict[str, Any], *, incident_open: bool) -> dict[str, Any]:
        """The documented body: the stored payload plus the incident's URL and, while the
        incident is open, a signed acknowledge link."""
        payload = dict(stored)
        incident = dict(payload.get("incident") or {})
        public = self.settings.public_url.rstrip("/")
        path = incident.pop("path", None)
        if path and incident.get("id") is not None:
            incident["url"] = f"{public}{path}"
        payload["incident"] = incident
        key = self.settings.secret_key
        if incident_open and key is not None and isinstance(incident.get("id"), int):
            payload["ack_url"] = acklink.ack_url(public, key, incident["id"], datetime.now(UTC))
        return payload

    def _channel(self, channel_id: int) -> Channel | None:
        with self.db.connect() as conn:
            rows = ConnExec(conn).rows(SELECT_CHANNEL, (channel_id,))
        if not rows:
            return None
        cid, name, ctype, settings, token, enabled, limit = rows[0]
        return Channel(
            int(cid), str(name), str(ctype), dict(self.sql.read_json(settings) or {}), token,
            bool(enabled), int(limit or 0),
        )  # fmt: skip

    def _open_incidents(self, incident_ids: set[int]) -> set[int]:
        """Which of these incidents are open (their messages carry an acknowledge link)."""
        if not incident_ids:
            return set()
        marks = ", ".join("?" for _ in incident_ids)
        with self.db.connect() as conn:
            rows = ConnExec(conn).rows(
                SELECT_OPEN_INCIDENTS.format(ids=marks), tuple(sorted(incident_ids))
            )
        return {int(r[0]) for r in rows}

    def _finish_all(
        self,
        outcomes: list[tuple[Claimed, str, BaseException | None]],
        unsent: Sequence[Claimed] = (),
    ) -> None:
        """Record a round's outcomes in one transaction; the delivered ones (all of one
        lease) in one statement, and give back the rows it did not get to."""
        if not outcomes and not unsent:
            return
        now = datetime.now(UTC)
        delivered: dict[str, list[int]] = {}
        writes = []
        for item, ctype, error in outcomes:
            if error is None:
                delivered.setdefault(item.lease, []).append(item.id)
            else:
                writes.append(self._outcome(item, ctype, error, now))
        at = self.sql.dt(now)
        with self._turn, self.db.begin() as conn:
            ex = ConnExec(conn)
            for lease, ids in delivered.items():
                marks = ", ".join(str(i) for i in ids)  # integers from the database
                ex.rows(MARK_DELIVERED.format(ids=marks), (at, lease))
            for statement, params, _ in writes:
                ex.rows(statement, params)
            if unsent:
                given_back = ", ".join(str(item.id) for item in unsent)  # database integers
                ex.rows(RELEASE_UNSENT.format(ids=given_back), (at, unsent[0].lease))
        results = iter(result for _, _, result in writes)
        for _, ctype, error in outcomes:
            NOTIFICATIONS.labels(ctype, "delivered" if error is None else next(results)).inc()

    def _outcome(
        self, item: Claimed, channel_type: str, error: BaseException, now: datetime
    ) -> tuple[str, tuple[Any, ...], str]:
        """The statement recording one failed attempt, its parameters and the result's name."""
        params: tuple[Any, ...]
        message = (str(error) if isinstance(error, NotificationError) else type(error).__name__)[
            :MAX_ERROR
        ]
        retryable = getattr(error, "retryable", True)
        if retryable and item.attempts < self.settings.notify_max_attempts:
            delay = retry_delay(
                item.attempts,
                self.settings.notify_retry_base_seconds,
                self.settings.notify_retry_max_seconds,
                self._rng,
            )
            at = self.sql.dt(now + timedelta(seconds=delay))
            statement, params = MARK_RETRY, (at, message, item.id, item.lease)
            result = "retried"
        else:
            statement, params = MARK_FAILED, (message, item.id, item.lease)
            result = "failed"
        log.warning(
            "notification %s (incident %s, %s) attempt %d: %s (%s)",
            item.id, item.incident_id, channel_type, item.attempts, message, result,
        )  # fmt: skip
        return statement, params, result

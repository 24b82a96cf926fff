"""The outbox and dispatcher on SQLite and PostgreSQL: notifications are written with the
incident change, delivered once per claim with a stable idempotency key, retried, failed,
suppressed by silences."""

from __future__ import annotations

import functools
import hashlib
import hmac
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from alertgate.engine import Delivery, IngestEngine
from alertgate.models import Action, Alert, Severity
from alertgate.notify.dispatcher import NOTIFICATIONS, Dispatcher
from alertgate.notify.outbox import Outbox
from alertgate.notify.routing import RoutingCache
from alertgate.registry import load_plugins
from alertgate.server import notify_admin
from alertgate.settings import Settings
from alertgate.storage.schema import Notification
from tests.db_fixtures import SeedFn
from tests.notify_support import SECRET_KEY, http_receiver, route_to_channel, wait_until

PLUGINS = load_plugins()


def _settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "public_url": "http://alertgate.test",
        "secret_key": SECRET_KEY,
        "notify_retry_base_seconds": 0.01,
        "notify_retry_max_seconds": 0.02,
    }
    return Settings(**{**values, **overrides})


def _alert(action: Action, fingerprint: str = "cpu", **attributes: Any) -> Alert:
    return Alert(
        title=f"CPU {fingerprint}",
        source_time=datetime.now(UTC),
        severity=Severity.ERROR,
        fingerprint=fingerprint,
        action=action,
        attributes=attributes,
    )


def _engine(db_engine: Engine) -> IngestEngine:
    # TTL 0: every batch sees the rules created just before it.
    return IngestEngine(db_engine, PLUGINS, outbox=Outbox(RoutingCache(0)))


def _rows(db_engine: Engine) -> list[Notification]:
    with Session(db_engine) as session:
        return list(session.scalars(select(Notification).order_by(Notification.id)))


def _drain(dispatcher: Dispatcher) -> None:
    while dispatcher.run_once():
        pass


def test_notifications_are_written_with_the_change_and_delivered_signed(
    db_engine: Engine, seed: SeedFn
) -> None:
    ids = seed()
    engine = _engine(db_engine)
    dispatcher = Dispatcher(db_engine, PLUGINS, _settings())
    try:
        with http_receiver() as receiver:
            route_to_channel(
                db_engine, PLUGINS, ids.service_id, "webhook",
                {"url": f"{receiver.url}/hook", "secret": "s3cret"},
            )  # fmt: skip
            opened = engine.ingest(
                Delivery(ids.integration_id, ids.service_id, [_alert(Action.TRIGGER)])
            )
            incident_id = opened.outcomes[0].incident_id
            assert incident_id is not None
            # A repeat is no routable event: nothing more is queued.
            engine.ingest(Delivery(ids.integration_id, ids.service_id, [_alert(Action.TRIGGER)]))
            assert [(r.event, r.status) for r in _rows(db_engine)] == [("opened", "pending")]
            _drain(dispatcher)
            engine.acknowledge(incident_id, "alice")
            engine.ingest(Delivery(ids.integration_id, ids.service_id, [_alert(Action.RESOLVE)]))
            _drain(dispatcher)
            got = receiver.wait_for(3)
    finally:
        dispatcher.stop()
        engine.close()
    assert [r.json()["event"] for r in got] == ["opened", "acknowledged", "resolved"]
    first = got[0]
    expected = hmac.new(b"s3cret", first.body, hashlib.sha256).hexdigest()
    assert first.headers["x-alertgate-signature"] == f"sha256={expected}"
    body = first.json()
    assert body["incident"] == {
        "id": incident_id,
        "status": "triggered",
        "title": "CPU cpu",
        "severity": "error",
        "service": "payments",
        "fingerprint": "cpu",
        "url": f"http://alertgate.test/incidents/{incident_id}",
    }
    assert body["ack_url"].startswith(f"http://alertgate.test/ack/{incident_id}?expires=")
    assert "ack_url" not in got[2].json()  # resolved: nothing left to acknowledge
    assert got[1].json()["actor"] == "alice"
    keys = [r.headers["x-alertgate-idempotency-key"] for r in got]
    assert len(set(keys)) == 3
    rows = _rows(db_engine)
    assert [r.status for r in rows] == ["delivered"] * 3
    assert keys == [r.idempotency_key for r in rows]


def test_no_rules_no_rows(db_engine: Engine, seed: SeedFn) -> None:
    ids = seed()
    engine = _engine(db_engine)
    try:
        engine.ingest(Delivery(ids.integration_id, ids.service_id, [_alert(Action.TRIGGER)]))
        engine.ingest(Delivery(ids.integration_id, ids.service_id, [_alert(Action.RESOLVE)]))
    finally:
        engine.close()
    assert _rows(db_engine) == []


def test_rule_filters_events_and_severity(db_engine: Engine, seed: SeedFn) -> None:
    ids = seed()
    engine = _engine(db_engine)
    route_to_channel(
        db_engine, PLUGINS, ids.service_id, "webhook", {"url": "http://127.0.0.1:9/"},
        events=["resolved"], min_severity="critical",
    )  # fmt: skip
    try:
        engine.ingest(Delivery(ids.integration_id, ids.service_id, [_alert(Action.TRIGGER)]))
        engine.ingest(Delivery(ids.integration_id, ids.service_id, [_alert(Action.RESOLVE)]))
    finally:
        engine.close()
    assert _rows(db_engine) == []  # error < critical


def test_retries_with_the_same_key_then_fails(db_engine: Engine, seed: SeedFn) -> None:
    ids = seed()
    engine = _engine(db_engine)
    dispatcher = Dispatcher(db_engine, PLUGINS, _settings(notify_max_attempts=3))
    failed_before = NOTIFICATIONS.labels("webhook", "failed")._value.get()
    try:
        with http_receiver(statuses=[503, 500, 502]) as receiver:
            route_to_channel(db_engine, PLUGINS, ids.service_id, "webhook", {"url": receiver.url})
            engine.ingest(Delivery(ids.integration_id, ids.service_id, [_alert(Action.TRIGGER)]))
            deadline = datetime.now(UTC) + timedelta(seconds=20)
            while _rows(db_engine)[0].status != "failed" and datetime.now(UTC) < deadline:
                dispatcher.run_once()
            got = receiver.received
    finally:
        dispatcher.stop()
        engine.close()
    row = _rows(db_engine)[0]
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.last_error == "the receiver answered HTTP 502"
    assert len({r.headers["x-alertgate-idempotency-key"] for r in got}) == 1
    assert len(got) == 3
    assert NOTIFICATIONS.labels("webhook", "failed")._value.get() == failed_before + 1


def test_a_4xx_is_not_retried(db_engine: Engine, seed: SeedFn) -> None:
    ids = seed()
    engine = _engine(db_engine)
    dispatcher = Dispatcher(db_engine, PLUGINS, _settings())
    try:
        with http_receiver(statuses=[404]) as receiver:
            route_to_channel(db_engine, PLUGINS, ids.service_id, "webhook", {"url": receiver.url})
            engine.ingest(Delivery(ids.integration_id, ids.service_id, [_alert(Action.TRIGGER)]))
            _drain(dispatcher)
    finally:
        dispatcher.stop()
        engine.close()
    assert [(r.status, r.attempts) for r in _rows(db_engine)] == [("failed", 1)]


def test_silence_suppresses_and_is_named(db_engine: Engine, seed: SeedFn) -> None:
    ids = seed()
    engine = _engine(db_engine)
    dispatcher = Dispatcher(db_engine, PLUGINS, _settings())
    try:
        with http_receiver() as receiver:
            route_to_channel(db_engine, PLUGINS, ids.service_id, "webhook", {"url": receiver.url})
            with Session(db_engine) as session, session.begin():
                from alertgate.storage.schema import Service

                service = session.get(Service, ids.service_id)
                silence = notify_admin.create_silence(
                    session, ids.organization_id, service,
                    {"title": "CPU maint*", "attributes.region": "eu-*"},
                    datetime.now(UTC) + timedelta(hours=1), actor="test", comment="patching",
                )  # fmt: skip
                silence_id = silence.id
            alerts = [
                _alert(Action.TRIGGER, "maint-1", region="eu-west-1"),  # silenced
                _alert(Action.TRIGGER, "maint-2", region="us-east-1"),  # attribute differs
                _alert(Action.TRIGGER, "other", region="eu-west-1"),  # title differs
            ]
            for alert in alerts:
                engine.ingest(Delivery(ids.integration_id, ids.service_id, [alert]))
            _drain(dispatcher)
            got = receiver.received
    finally:
        dispatcher.stop()
        engine.close()
    rows = _rows(db_engine)
    assert [(r.status, r.silence_id) for r in rows] == [
        ("suppressed", silence_id),
        ("delivered", None),
        ("delivered", None),
    ]
    assert sorted(r.json()["incident"]["title"] for r in got) == ["CPU maint-2", "CPU other"]


def test_concurrent_dispatchers_claim_each_notification_once(
    db_engine: Engine, seed: SeedFn
) -> None:
    ids = seed()
    engine = _engine(db_engine)
    dispatchers = [Dispatcher(db_engine, PLUGINS, _settings()) for _ in range(3)]
    try:
        with http_receiver() as receiver:
            route_to_channel(
                db_engine, PLUGINS, ids.service_id, "webhook", {"url": receiver.url},
                rate_limit_per_minute=0,
            )  # fmt: skip
            for n in range(30):
                alert = _alert(Action.TRIGGER, f"fp-{n}")
                engine.ingest(Delivery(ids.integration_id, ids.service_id, [alert]))
            threads = [threading.Thread(target=_drain, args=(d,)) for d in dispatchers]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            got = receiver.received
    finally:
        for d in dispatchers:
            d.stop()
        engine.close()
    keys = [r.headers["x-alertgate-idempotency-key"] for r in got]
    assert len(keys) == 30 and len(set(keys)) == 30
    assert {r.status for r in _rows(db_engine)} == {"delivered"}


class FakeIngest:
    """Ingest counters as the dispatcher reads them: while ``saturated``, every read shows
    one more commit of ten deliveries (a backlog); otherwise nothing moves."""

    def __init__(self) -> None:
        self.saturated = False
        self.reads = 0
        self.batches = self.deliveries = 0

    def __call__(self) -> dict[str, int]:
        self.reads += 1
        if self.saturated:
            self.batches += 1
            self.deliveries += 10
        return {"batches": self.batches, "deliveries": self.deliveries}


def test_dispatch_waits_for_a_saturated_ingest_but_not_past_the_limit(
    db_engine: Engine, seed: SeedFn
) -> None:
    ids = seed()
    outbox = Outbox(RoutingCache(0))
    engine = IngestEngine(db_engine, PLUGINS, outbox=outbox)
    ingest = FakeIngest()
    settings = _settings(notify_defer_max_seconds=3)
    dispatcher = Dispatcher(db_engine, PLUGINS, settings, outbox, ingest_stats=ingest)
    outbox.on_written = dispatcher.wake
    try:
        with http_receiver() as receiver:
            route_to_channel(db_engine, PLUGINS, ids.service_id, "webhook", {"url": receiver.url})
            dispatcher.start()
            wait_until(lambda: ingest.reads > 0)  # its first look: ingest was idle
            ingest.saturated = True
            alert = _alert(Action.TRIGGER, "burst")
            engine.ingest(Delivery(ids.integration_id, ids.service_id, [alert]))
            # Held back while ingest is saturated...
            wait_until(lambda: ingest.reads > 3)
            assert receiver.received == []
            assert [r.status for r in _rows(db_engine)] == ["pending"]
            # ...but not longer than the limit, though ingest stays saturated.
            got = receiver.wait_for(1)
            assert ingest.saturated
            # Once ingest is idle again, new notifications go at once.
            ingest.saturated = False
            alert = _alert(Action.TRIGGER, "calm")
            engine.ingest(Delivery(ids.integration_id, ids.service_id, [alert]))
            got = receiver.wait_for(2)
    finally:
        dispatcher.stop()
        engine.close()
    assert [r.json()["incident"]["fingerprint"] for r in got] == ["burst", "calm"]
    assert {r.status for r in _rows(db_engine)} == {"delivered"}


def test_channel_secret_needs_a_key_and_is_stored_encrypted(
    db_engine: Engine, seed: SeedFn
) -> None:
    ids = seed()
    with Session(db_engine) as session, session.begin():
        from alertgate.server.admin import InvalidInput
        from alertgate.storage.schema import Organization

        org = session.get(Organization, ids.organization_id)
        assert org is not None
        try:
            notify_admin.create_channel(
                session, PLUGINS, None, org, "webhook", "x",
                {"url": "http://127.0.0.1:9/", "secret": "s3cret"}, actor="test",
            )  # fmt: skip
        except InvalidInput as exc:
            assert exc.code == "secret_key_missing"
            assert "ALERTGATE_SECRET_KEY" in exc.message
        else:
            raise AssertionError("a secret was stored without a key")
        row = notify_admin.create_channel(
            session, PLUGINS, SecretStr(SECRET_KEY), org, "webhook", "y",
            {"url": "http://127.0.0.1:9/", "secret": "s3cret"}, actor="test",
        )  # fmt: skip
        assert row.settings == {"url": "http://127.0.0.1:9/"}
        assert row.secrets and "s3cret" not in row.secrets
        assert notify_admin.channel_out(PLUGINS, row).secrets == {"secret": "********"}


def test_a_burst_over_the_rate_limit_is_folded_into_one_digest(
    db_engine: Engine, seed: SeedFn
) -> None:
    import time

    ids = seed()
    engine = _engine(db_engine)
    dispatcher = Dispatcher(db_engine, PLUGINS, _settings(notify_rate_window_seconds=1))
    try:
        with http_receiver() as receiver:
            route_to_channel(
                db_engine, PLUGINS, ids.service_id, "webhook", {"url": receiver.url},
                rate_limit_per_minute=2,
            )  # fmt: skip
            for n in range(6):
                alert = _alert(Action.TRIGGER, f"burst-{n}")
                engine.ingest(Delivery(ids.integration_id, ids.service_id, [alert]))
            engine.ingest(
                Delivery(ids.integration_id, ids.service_id, [_alert(Action.TRIGGER, "burst-5")])
            )
            _drain(dispatcher)
            assert len(receiver.received) == 2
            statuses = [r.status for r in _rows(db_engine)]
            assert statuses.count("folded") == 4
            time.sleep(1.2)  # the rate window passes
            _drain(dispatcher)
            got = receiver.wait_for(3)
    finally:
        dispatcher.stop()
        engine.close()
    digest = got[2].json()
    assert digest["event"] == "digest"
    # Four folded incidents: their opening alerts and burst-5's repeat.
    assert digest["digest"]["summary"] == "5 more alerts on 4 incidents"
    assert len(digest["digest"]["incidents"]) == 4
    rows = _rows(db_engine)
    digest_row = next(r for r in rows if r.event == "digest")
    assert digest_row.status == "delivered"
    folded = [r for r in rows if r.status == "digested"]
    assert len(folded) == 4 and {r.digest_id for r in folded} == {digest_row.id}


def test_escalation_renotifies_triggered_incidents_at_most_k_times(
    db_engine: Engine, seed: SeedFn
) -> None:
    from alertgate.server.notify_schemas import EscalationIn
    from alertgate.storage.schema import Organization, Service

    ids = seed()
    engine = _engine(db_engine)
    dispatcher = Dispatcher(db_engine, PLUGINS, _settings())
    with Session(db_engine) as session, session.begin():
        org = session.get(Organization, ids.organization_id)
        service = session.get(Service, ids.service_id)
        assert org is not None and service is not None
        url = {"url": "http://127.0.0.1:9/"}
        make = functools.partial(notify_admin.create_channel, actor="test")
        first = make(session, PLUGINS, None, org, "webhook", "a", url)
        pager = make(session, PLUGINS, None, org, "webhook", "b", url)
        timing = EscalationIn(channel_id=pager.id, after_minutes=5, every_minutes=10, times=2)
        notify_admin.create_rule(
            session, org.id, service, first, ["opened"], "info", None, (pager, timing), actor="t"
        )
        pager_id = pager.id
    try:
        report = engine.ingest(
            Delivery(ids.integration_id, ids.service_id, [_alert(Action.TRIGGER, "a")])
        )
        acked = (
            engine.ingest(
                Delivery(ids.integration_id, ids.service_id, [_alert(Action.TRIGGER, "b")])
            )
            .outcomes[0]
            .incident_id
        )
        assert acked is not None
        engine.acknowledge(acked, "alice")
        start = datetime.now(UTC)

        def renotified() -> list[tuple[int, str]]:
            return [
                (r.incident_id, r.payload["escalation"]["round"])
                for r in _rows(db_engine)
                if r.event == "renotified"
            ]

        dispatcher.escalate(start + timedelta(minutes=4))
        assert renotified() == []
        dispatcher.escalate(start + timedelta(minutes=6))
        dispatcher.escalate(start + timedelta(minutes=7))  # the same round: queued once
        incident_id = report.outcomes[0].incident_id
        assert renotified() == [(incident_id, 1)]
        dispatcher.escalate(start + timedelta(minutes=16))
        dispatcher.escalate(start + timedelta(hours=5))  # at most twice
        assert renotified() == [(incident_id, 1), (incident_id, 2)]
        assert {r.channel_id for r in _rows(db_engine) if r.event == "renotified"} == {pager_id}
    finally:
        dispatcher.stop()
        engine.close()


def test_renotified_event_also_sends_the_escalation_to_the_rules_channel(
    db_engine: Engine, seed: SeedFn
) -> None:
    """``renotified`` in a rule's events: each re-notification goes to the escalation
    channel and to the rule's own channel, once each; without an escalation it is refused."""
    from alertgate.server.admin import InvalidInput
    from alertgate.server.notify_schemas import EscalationIn
    from alertgate.storage.schema import Organization, Service

    ids = seed()
    other = seed("billing")
    engine = _engine(db_engine)
    dispatcher = Dispatcher(db_engine, PLUGINS, _settings())
    url = {"url": "http://127.0.0.1:9/"}
    with Session(db_engine) as session, session.begin():
        org = session.get(Organization, ids.organization_id)
        service = session.get(Service, ids.service_id)
        billing = session.get(Service, other.service_id)
        assert org is not None and service is not None and billing is not None
        make = functools.partial(notify_admin.create_channel, actor="test")
        chat = make(session, PLUGINS, None, org, "webhook", "chat", url)
        pager = make(session, PLUGINS, None, org, "webhook", "pager", url)
        quiet = make(session, PLUGINS, None, org, "webhook", "quiet", url)
        timing = EscalationIn(channel_id=pager.id, after_minutes=5, every_minutes=10, times=2)
        notify_admin.create_rule(
            session, org.id, service, chat, ["opened", "renotified"], "info", None,
            (pager, timing), actor="test",
        )  # fmt: skip
        # Without renotified in its events the rule's own channel is not re-notified.
        notify_admin.create_rule(
            session, org.id, billing, quiet, ["opened"], "info", None, (pager, timing), actor="t"
        )
        channel_ids = {"chat": chat.id, "pager": pager.id, "quiet": quiet.id}
        try:
            notify_admin.create_rule(
                session, org.id, service, chat, ["renotified"], "info", actor="test"
            )
        except InvalidInput as exc:
            assert exc.code == "invalid_events" and "escalation" in exc.message
        else:
            raise AssertionError("renotified without an escalation was accepted")
    try:
        for seeded in (ids, other):
            alert = _alert(Action.TRIGGER, f"fp-{seeded.service_id}")
            engine.ingest(Delivery(seeded.integration_id, seeded.service_id, [alert]))
        start = datetime.now(UTC)
        dispatcher.escalate(start + timedelta(minutes=6))
        dispatcher.escalate(start + timedelta(minutes=7))  # the same round: queued once
        dispatcher.escalate(start + timedelta(minutes=16))
    finally:
        dispatcher.stop()
        engine.close()
    names = {v: k for k, v in channel_ids.items()}
    renotified = sorted(
        (names[r.channel_id], r.payload["escalation"]["round"], r.payload["incident"]["service"])
        for r in _rows(db_engine)
        if r.event == "renotified"
    )
    assert renotified == [
        ("chat", 1, "payments"), ("chat", 2, "payments"),
        ("pager", 1, "billing"), ("pager", 1, "payments"),
        ("pager", 2, "billing"), ("pager", 2, "payments"),
    ]  # fmt: skip


def test_an_alarm_that_fired_and_cleared_out_of_order_is_one_message(
    db_engine: Engine, seed: SeedFn
) -> None:
    """OK delivered before its ALARM: the incident is made already resolved (issue 25), and
    a rule that wants only "opened" still hears of it, once, as fired and cleared."""
    ids = seed()
    engine = _engine(db_engine)
    dispatcher = Dispatcher(db_engine, PLUGINS, _settings())
    fired = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    cleared = fired + timedelta(minutes=5)
    try:
        with http_receiver() as receiver:
            route_to_channel(
                db_engine, PLUGINS, ids.service_id, "webhook", {"url": f"{receiver.url}/h"},
                events=["opened"],
            )  # fmt: skip
            ok = _alert(Action.RESOLVE)
            ok.source_time = cleared
            alarm = _alert(Action.TRIGGER)
            alarm.source_time = fired
            engine.ingest(Delivery(ids.integration_id, ids.service_id, [ok]))
            late = engine.ingest(Delivery(ids.integration_id, ids.service_id, [alarm]))
            assert late.outcomes[0].outcome == "late_opened"
            assert [(r.event, r.status) for r in _rows(db_engine)] == [("resolved", "pending")]
            _drain(dispatcher)
            [got] = receiver.wait_for(1)
    finally:
        dispatcher.stop()
        engine.close()
    body = got.json()
    assert body["event"] == "resolved"
    assert body["incident"]["status"] == "resolved"
    assert body["incident"]["out_of_order"] is True
    assert datetime.fromisoformat(body["incident"]["opened_at"]) == fired
    assert datetime.fromisoformat(body["incident"]["resolved_at"]) == cleared
    assert "ack_url" not in body


def test_fired_and_cleared_reads_as_such_for_people() -> None:
    from alertgate.notify.types import Notification as Message
    from alertgate.notify.types import NotifyEvent

    incident = {
        "severity": "error",
        "service": "api",
        "title": "CPU",
        "out_of_order": True,
        "opened_at": "2026-12-01T10:00:00+00:00",
        "resolved_at": "2026-12-01T10:05:00+00:00",
    }
    message = Message("k", NotifyEvent.RESOLVED, {"incident": incident}, "chat")
    assert message.headline == "[FIRED AND CLEARED] error api: CPU"
    assert "2026-12-01T10:00:00+00:00" in message.what_changed
    assert "2026-12-01T10:05:00+00:00" in message.what_changed


def test_a_slow_round_ends_inside_its_lease_and_gives_back_the_rest(
    db_engine: Engine, seed: SeedFn
) -> None:
    """Outcomes are recorded when a round ends; a round that ran past its lease would let
    another dispatcher send its rows again. With a 1 s lease and a receiver taking 0.3 s,
    a round stops after half the lease and its unsent rows are due again at once, their
    claim not counted as an attempt."""
    ids = seed()
    engine = _engine(db_engine)
    dispatcher = Dispatcher(db_engine, PLUGINS, _settings(notify_lease_seconds=1))
    try:
        with http_receiver(delay=0.3) as receiver:
            route_to_channel(db_engine, PLUGINS, ids.service_id, "webhook", {"url": receiver.url})
            for n in range(6):
                engine.ingest(
                    Delivery(ids.integration_id, ids.service_id, [_alert(Action.TRIGGER, f"f{n}")])
                )
            assert dispatcher.run_once() == 6
            after_one_round = [(r.status, r.attempts) for r in _rows(db_engine)]
            _drain(dispatcher)
            got = receiver.received
    finally:
        dispatcher.stop()
        engine.close()
    delivered = [row for row in after_one_round if row[0] == "delivered"]
    assert 1 <= len(delivered) < 6
    assert set(after_one_round) - set(delivered) == {("pending", 0)}
    assert [(r.status, r.attempts) for r in _rows(db_engine)] == [("delivered", 1)] * 6
    keys = [r.headers["x-alertgate-idempotency-key"] for r in got]
    assert len(keys) == len(set(keys)) == 6

"""The notification part of the admin API: channels, routing rules, silences, and an
incident's notifications."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from alertgate.notify.dispatcher import Channel, Dispatcher, test_notification
from alertgate.notify.types import NotificationError
from alertgate.server import admin, audit, notify_admin
from alertgate.server.notify_schemas import (
    ChannelCreate,
    ChannelList,
    ChannelOut,
    ChannelUpdate,
    EscalationIn,
    NotificationList,
    RuleCreate,
    RuleList,
    RuleOut,
    RuleUpdate,
    SilenceCreate,
    SilenceList,
    SilenceOut,
    SilenceQuery,
    TestResult,
)
from alertgate.server.routing import ApiRoute, Call
from alertgate.storage.schema import NotificationChannel, Organization

PREFIX = "/api/v1"


def list_channels(call: Call) -> ChannelList:
    with call.state.sessions() as s:
        rows = notify_admin.list_channels(s, call.org_id)
        return ChannelList(items=[notify_admin.channel_out(call.state.plugins, r) for r in rows])


def create_channel(call: Call) -> ChannelOut:
    body: ChannelCreate = call.body
    with call.state.sessions.begin() as s:
        org = s.get(Organization, call.org_id)
        assert org is not None
        row = notify_admin.create_channel(
            s, call.state.plugins, call.state.settings.secret_key, org, body.type, body.name,
            body.settings, call.state.outbox.cache, body.rate_limit_per_minute, actor=call.actor,
        )  # fmt: skip
        return notify_admin.channel_out(call.state.plugins, row)


def show_channel(call: Call) -> ChannelOut:
    with call.state.sessions() as s:
        row = notify_admin.get_channel(s, call.path["channel_id"], call.org_id)
        return notify_admin.channel_out(call.state.plugins, row)


def update_channel(call: Call) -> ChannelOut:
    body: ChannelUpdate = call.body
    with call.state.sessions.begin() as s:
        row = notify_admin.get_channel(s, call.path["channel_id"], call.org_id)
        notify_admin.update_channel(
            s, call.state.plugins, call.state.settings.secret_key, row, call.state.outbox.cache,
            name=body.name, settings=body.settings, enabled=body.enabled,
            rate_limit_per_minute=body.rate_limit_per_minute, actor=call.actor,
        )  # fmt: skip
        return notify_admin.channel_out(call.state.plugins, row)


def delete_channel(call: Call) -> None:
    with call.state.sessions.begin() as s:
        row = notify_admin.get_channel(s, call.path["channel_id"], call.org_id)
        notify_admin.delete_channel(s, row, call.state.outbox.cache, actor=call.actor)


def send_test(
    dispatcher: Dispatcher, row: NotificationChannel, sessions: sessionmaker[Session], actor: str
) -> TestResult:
    """Send a test notification through a channel now, and record that in the audit log
    (whether it worked, not the error: it may quote the receiver); shared with the CLI
    and UI."""
    channel = Channel(row.id, row.name, row.type, dict(row.settings or {}), row.secrets, True)
    note = test_notification(row.name, dispatcher.settings.public_url, datetime.now(UTC))
    try:
        dispatcher.send(channel, note)
    except NotificationError as exc:
        result = TestResult(ok=False, error=str(exc), idempotency_key=note.idempotency_key)
    else:
        result = TestResult(ok=True, idempotency_key=note.idempotency_key)
    detail = {"name": row.name, "ok": result.ok, "idempotency_key": result.idempotency_key}
    audit.record_in_new_transaction(
        sessions, row.organization_id, actor, "channel.test", row.id, detail
    )
    return result


def test_channel(call: Call) -> TestResult:
    with call.state.sessions() as s:
        row = notify_admin.get_channel(s, call.path["channel_id"], call.org_id)
        s.expunge(row)
    return send_test(call.state.dispatcher, row, call.state.sessions, call.actor)


def list_rules(call: Call) -> RuleList:
    with call.state.sessions() as s:
        return RuleList(items=notify_admin.list_rules(s, call.org_id))


def _escalation(
    s: Session, escalation: EscalationIn | None, org_id: int
) -> tuple[NotificationChannel, EscalationIn] | None:
    """The escalation channel and timing of a request body, if it has one."""
    if escalation is None:
        return None
    return notify_admin.get_channel(s, escalation.channel_id, org_id), escalation


def _rule_out(call: Call, rule_id: int) -> RuleOut:
    with call.state.sessions() as s:
        return next(r for r in notify_admin.list_rules(s, call.org_id) if r.id == rule_id)


def create_rule(call: Call) -> RuleOut:
    body: RuleCreate = call.body
    with call.state.sessions.begin() as s:
        service = admin.get_service(s, body.service_id, call.org_id) if body.service_id else None
        channel = notify_admin.get_channel(s, body.channel_id, call.org_id)
        escalation = _escalation(s, body.escalation, call.org_id)
        rule = notify_admin.create_rule(
            s, call.org_id, service, channel, body.events, body.min_severity,
            call.state.outbox.cache, escalation, actor=call.actor,
        )  # fmt: skip
        rule_id = rule.id
    return _rule_out(call, rule_id)


def update_rule(call: Call) -> RuleOut:
    body: RuleUpdate = call.body
    rule_id = call.path["rule_id"]
    with call.state.sessions.begin() as s:
        rule = notify_admin.get_rule(s, rule_id, call.org_id)
        channel = (
            notify_admin.get_channel(s, body.channel_id, call.org_id) if body.channel_id else None
        )
        escalation = (
            _escalation(s, body.escalation, call.org_id)
            if "escalation" in body.model_fields_set
            else notify_admin.UNCHANGED
        )
        notify_admin.update_rule(
            s, rule, call.state.outbox.cache, channel=channel, events=body.events,
            min_severity=body.min_severity, escalation=escalation, actor=call.actor,
        )  # fmt: skip
    return _rule_out(call, rule_id)


def delete_rule(call: Call) -> None:
    with call.state.sessions.begin() as s:
        rule = notify_admin.get_rule(s, call.path["rule_id"], call.org_id)
        notify_admin.delete_rule(s, rule, call.state.outbox.cache, actor=call.actor)


def list_silences(call: Call) -> SilenceList:
    q: SilenceQuery = call.query
    with call.state.sessions() as s:
        items = notify_admin.list_silences(s, call.org_id, include_expired=q.include_expired)
        return SilenceList(items=items)


def create_silence(call: Call) -> SilenceOut:
    body: SilenceCreate = call.body
    with call.state.sessions.begin() as s:
        service = admin.get_service(s, body.service_id, call.org_id) if body.service_id else None
        row = notify_admin.create_silence(
            s, call.org_id, service, body.matchers, body.ends_at, starts_at=body.starts_at,
            weekly=body.weekly.model_dump() if body.weekly else None, comment=body.comment,
            actor=call.actor, cache=call.state.outbox.cache,
        )  # fmt: skip
        return notify_admin.silence_out(row, service.name if service else None, datetime.now(UTC))


def expire_silence(call: Call) -> SilenceOut:
    with call.state.sessions.begin() as s:
        row = notify_admin.get_silence(s, call.path["silence_id"], call.org_id)
        notify_admin.expire_silence(s, row, call.state.outbox.cache, actor=call.actor)
        return notify_admin.silence_out(row, None, datetime.now(UTC))


def incident_notifications(call: Call) -> NotificationList:
    incident_id = call.path["incident_id"]
    with call.state.sessions() as s:
        admin.get_incident(s, incident_id, call.org_id)
        return NotificationList(items=notify_admin.incident_notifications(s, incident_id))


NOT_FOUND = (404,)
CHANNEL = f"{PREFIX}/channels/{{channel_id:int}}"

ROUTES: list[ApiRoute] = [
    ApiRoute("GET", f"{PREFIX}/channels", list_channels, "List notification channels",
             "listChannels", "notifications", ChannelList),
    ApiRoute("POST", f"{PREFIX}/channels", create_channel,
             "Create a notification channel (secret settings are write-only)",
             "createChannel", "notifications", ChannelOut, status=201, body=ChannelCreate,
             errors=(400, 409, 413, 422)),
    ApiRoute("GET", CHANNEL, show_channel, "Show a channel", "getChannel", "notifications",
             ChannelOut, errors=NOT_FOUND),
    ApiRoute("PATCH", CHANNEL, update_channel,
             "Change a channel: name, enabled, rate limit, settings (merged: omitted secret "
             "fields keep their stored value)", "updateChannel", "notifications", ChannelOut,
             body=ChannelUpdate, errors=(400, 404, 409, 413, 422)),
    ApiRoute("POST", f"{CHANNEL}/test", test_channel, "Send a test notification now",
             "testChannel", "notifications", TestResult, errors=NOT_FOUND),
    ApiRoute("GET", f"{PREFIX}/rules", list_rules, "List routing rules", "listRules",
             "notifications", RuleList),
    ApiRoute("POST", f"{PREFIX}/rules", create_rule,
             "Create a routing rule (no service: the organization default)", "createRule",
             "notifications", RuleOut, status=201, body=RuleCreate,
             errors=(400, 404, 413, 422)),
    ApiRoute("PATCH", f"{PREFIX}/rules/{{rule_id:int}}", update_rule,
             "Change a routing rule: channel, events, minimum severity, escalation (null "
             "removes it)", "updateRule", "notifications", RuleOut, body=RuleUpdate,
             errors=(400, 404, 413, 422)),
    ApiRoute("GET", f"{PREFIX}/silences", list_silences, "List silences (unexpired by default)",
             "listSilences", "notifications", SilenceList, query=SilenceQuery, errors=(422,)),
    ApiRoute("POST", f"{PREFIX}/silences", create_silence, "Create a silence", "createSilence",
             "notifications", SilenceOut, status=201, body=SilenceCreate,
             errors=(400, 404, 413, 422)),
    ApiRoute("POST", f"{PREFIX}/silences/{{silence_id:int}}/expire", expire_silence,
             "End a silence now", "expireSilence", "notifications", SilenceOut,
             errors=NOT_FOUND),
    ApiRoute("GET", f"{PREFIX}/incidents/{{incident_id:int}}/notifications",
             incident_notifications,
             "An incident's notifications: delivered, pending, failed or suppressed (and by "
             "which silence)", "listIncidentNotifications", "notifications", NotificationList,
             errors=NOT_FOUND),
    ApiRoute("DELETE", f"{PREFIX}/rules/{{rule_id:int}}", delete_rule, "Delete a routing rule",
             "deleteRule", "notifications", None, status=204, errors=NOT_FOUND),
    ApiRoute("DELETE", CHANNEL, delete_channel, "Delete a channel (and its rules)",
             "deleteChannel", "notifications", None, status=204, errors=NOT_FOUND),
]  # fmt: skip

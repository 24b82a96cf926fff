"""Managing channels, routing rules and silences: one copy of the rules for the API, CLI
and web UI. Every change bumps ``notify_config.version`` in its transaction, so ingest
workers reload their cached routing table (see :mod:`alertgate.notify.routing`), and is
recorded in the audit log in that same transaction, by ``actor``: here rather than in each
caller, so no path can forget it. Audit details name settings, never their values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import SecretStr, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from alertgate.notify.routing import RoutingCache, bump_version
from alertgate.notify.secrets import (
    SecretKeyError,
    decrypt,
    encrypt,
    fernet_from,
    masked,
    split_settings,
)
from alertgate.notify.silences import SilenceRule, Weekly, check_matchers
from alertgate.notify.sqlexec import ConnExec
from alertgate.notify.types import NotifyEvent
from alertgate.registry import Plugins, UnknownIntegrationType
from alertgate.server import admin, audit
from alertgate.server.admin import Conflict, InvalidInput, NotFound, _check_name
from alertgate.server.notify_schemas import (
    DEFAULT_EVENTS,
    RULE_EVENTS,
    ChannelOut,
    EscalationIn,
    EscalationOut,
    NotificationOut,
    RuleOut,
    SilenceOut,
)
from alertgate.server.routing import validation_message
from alertgate.storage.schema import (
    Notification,
    NotificationChannel,
    NotificationRule,
    Organization,
    Service,
    Silence,
    to_utc,
)

RowT = TypeVar("RowT")

MAX_SILENCE = timedelta(days=366)
DEFAULT_RATE_LIMIT = 20
MAX_RATE_LIMIT = 10_000
EXPIRING_SOON = timedelta(hours=1)


def _changed(session: Session, cache: RoutingCache | None) -> None:
    bump_version(ConnExec(session.connection()))
    if cache is not None:
        cache.invalidate()


def _saved(session: Session, row: RowT, cache: RoutingCache | None) -> RowT:
    """Insert ``row`` and tell the routing caches."""
    session.add(row)
    session.flush()
    _changed(session, cache)
    return row


def _of_org(query: Any, model: Any, org_id: int | None) -> Any:
    """``query`` ordered by id, limited to one organization unless ``org_id`` is None."""
    query = query.order_by(model.id)
    return query if org_id is None else query.where(model.organization_id == org_id)


# -- channels ---------------------------------------------------------------------------------


def create_channel(
    session: Session,
    plugins: Plugins,
    secret_key: SecretStr | None,
    org: Organization,
    type_slug: str,
    name: str,
    raw_settings: Mapping[str, Any],
    cache: RoutingCache | None = None,
    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT,
    *,
    actor: str,
) -> NotificationChannel:
    """:raises AdminError: Unknown type, invalid settings, a secret without a secret key,
    or the name is taken."""
    name = _check_name(name, "channel")
    try:
        ctype = plugins.get_channel_type(type_slug)
    except UnknownIntegrationType as exc:
        raise InvalidInput("unknown_channel_type", str(exc.args[0])) from None
    try:
        validated = ctype.settings_model.model_validate(dict(raw_settings))
    except ValidationError as exc:
        raise InvalidInput("invalid_settings", validation_message(exc)) from None
    plain, secrets = split_settings(ctype, validated)
    try:
        token = encrypt(fernet_from(secret_key) if secrets else None, secrets)
    except SecretKeyError as exc:
        raise InvalidInput("secret_key_missing", str(exc)) from None
    _check_name_free(session, org.id, name)
    channel = NotificationChannel(
        organization_id=org.id,
        name=name,
        type=type_slug,
        settings=plain,
        secrets=token,
        enabled=True,
        rate_limit_per_minute=max(0, min(rate_limit_per_minute, MAX_RATE_LIMIT)),
        created_at=datetime.now(UTC),
    )
    _saved(session, channel, cache)
    detail = {
        "name": name,
        "type": type_slug,
        # Which settings were given, never their values (secret or not).
        "settings": sorted(set(plain) | set(secrets)),
        "rate_limit_per_minute": channel.rate_limit_per_minute,
    }
    audit.record(session, org.id, actor, "channel.create", channel.id, detail)
    return channel


def _check_name_free(session: Session, org_id: int, name: str) -> None:
    existing = session.scalar(
        select(NotificationChannel.id).where(
            NotificationChannel.organization_id == org_id, NotificationChannel.name == name
        )
    )
    if existing is not None:
        raise Conflict("channel_exists", f"a channel named {name!r} already exists")


def update_channel(
    session: Session,
    plugins: Plugins,
    secret_key: SecretStr | None,
    channel: NotificationChannel,
    cache: RoutingCache | None,
    *,
    name: str | None = None,
    settings: Mapping[str, Any] | None = None,
    enabled: bool | None = None,
    rate_limit_per_minute: int | None = None,
    actor: str,
) -> list[str]:
    """Change what is given (None: unchanged) and return the names of the fields that
    changed (settings as ``settings.FIELD``), which is also all the audit log says.

    ``settings`` is merged into the stored settings: given fields replace theirs, null
    ones return to the type's default, omitted ones (secrets too: the API never returns
    them, so a caller cannot send them back) keep their stored value.

    :raises AdminError: As :func:`create_channel`."""
    changed: list[str] = []
    if name is not None:
        name = _check_name(name, "channel")
        if name != channel.name:
            _check_name_free(session, channel.organization_id, name)
            channel.name = name
            changed.append("name")
    if settings is not None:
        changed += _update_settings(plugins, secret_key, channel, settings)
    if enabled is not None and enabled != channel.enabled:
        channel.enabled = enabled
        changed.append("enabled")
    if rate_limit_per_minute is not None:
        limit = max(0, min(rate_limit_per_minute, MAX_RATE_LIMIT))
        if limit != channel.rate_limit_per_minute:
            channel.rate_limit_per_minute = limit
            changed.append("rate_limit_per_minute")
    if changed:
        session.flush()
        _changed(session, cache)
        detail = {"name": channel.name, "changed": sorted(changed)}
        audit.record(session, channel.organization_id, actor, "channel.update", channel.id, detail)
    return sorted(changed)


def _update_settings(
    plugins: Plugins,
    secret_key: SecretStr | None,
    channel: NotificationChannel,
    given: Mapping[str, Any],
) -> list[str]:
    """Merge ``given`` into the channel's settings; the changed ones, as ``settings.X``."""
    try:
        ctype = plugins.get_channel_type(channel.type)
    except UnknownIntegrationType as exc:
        raise InvalidInput("unknown_channel_type", str(exc.args[0])) from None
    try:
        secrets_now = decrypt(fernet_from(secret_key), channel.secrets) if channel.secrets else {}
    except SecretKeyError as exc:
        raise InvalidInput("secret_key_missing", str(exc)) from None
    stored = {**(channel.settings or {}), **secrets_now}
    merged = {**stored, **given}
    for key in [k for k, v in given.items() if v is None]:
        del merged[key]
    try:
        validated = ctype.settings_model.model_validate(merged)
    except ValidationError as exc:
        raise InvalidInput("invalid_settings", validation_message(exc)) from None
    plain, secrets = split_settings(ctype, validated)
    changed = audit.changed_fields(stored, {**plain, **secrets})
    if changed:
        try:
            # A new token only when something changed: Fernet tokens differ on every call.
            channel.secrets = encrypt(fernet_from(secret_key) if secrets else None, secrets)
        except SecretKeyError as exc:
            raise InvalidInput("secret_key_missing", str(exc)) from None
        channel.settings = plain
    return [f"settings.{k}" for k in changed]


def list_channels(session: Session, org_id: int | None) -> Sequence[NotificationChannel]:
    return session.scalars(_of_org(select(NotificationChannel), NotificationChannel, org_id)).all()


def get_channel(session: Session, channel_id: int, org_id: int | None) -> NotificationChannel:
    return admin.get_owned(session, NotificationChannel, channel_id, org_id, "channel")


def find_channel(session: Session, name: str, org_id: int | None) -> NotificationChannel:
    query = select(NotificationChannel).where(NotificationChannel.name == name)
    if org_id is not None:
        query = query.where(NotificationChannel.organization_id == org_id)
    found = session.scalars(query).all()
    if len(found) == 1:
        return found[0]
    if found:
        raise Conflict("channel_ambiguous", f"several organizations have a channel {name!r}")
    raise NotFound("channel_not_found", f"no channel named {name!r}")


def delete_channel(
    session: Session, channel: NotificationChannel, cache: RoutingCache | None, *, actor: str
) -> None:
    detail = {"name": channel.name, "type": channel.type}
    audit.record(session, channel.organization_id, actor, "channel.delete", channel.id, detail)
    session.delete(channel)
    session.flush()
    _changed(session, cache)


def channel_out(plugins: Plugins, row: NotificationChannel) -> ChannelOut:
    ctype = plugins.channel_types.get(row.type)
    return ChannelOut(
        id=row.id,
        name=row.name,
        type=row.type,
        settings=dict(row.settings or {}),
        secrets=masked(ctype, row.secrets),
        enabled=row.enabled,
        rate_limit_per_minute=row.rate_limit_per_minute,
        created_at=to_utc(row.created_at),
    )


# -- rules ------------------------------------------------------------------------------------


def create_rule(
    session: Session,
    org_id: int,
    service: Service | None,
    channel: NotificationChannel,
    events: Sequence[str] | None,
    min_severity: str,
    cache: RoutingCache | None = None,
    escalation: tuple[NotificationChannel, EscalationIn] | None = None,
    *,
    actor: str,
) -> NotificationRule:
    """:param escalation: The escalation channel and timing, if any."""
    if channel.organization_id != org_id or (
        service is not None and service.organization_id != org_id
    ):
        raise InvalidInput("cross_organization", "service and channel must share an organization")
    chosen = _checked_events(events)
    _check_renotified(chosen, escalation is not None)
    rule = NotificationRule(
        organization_id=org_id,
        service_id=service.id if service is not None else None,
        channel_id=channel.id,
        events=chosen,
        min_severity=min_severity,
        created_at=datetime.now(UTC),
    )
    _set_escalation(rule, escalation)
    _saved(session, rule, cache)
    audit.record(session, org_id, actor, "rule.create", rule.id, _rule_detail(rule))
    return rule


def _checked_events(events: Sequence[str] | None) -> list[str]:
    """The events a rule sends, in order without repeats (none given: the defaults)."""
    chosen = list(dict.fromkeys(events or DEFAULT_EVENTS))
    unknown = [e for e in chosen if e not in RULE_EVENTS]
    if unknown:
        raise InvalidInput(
            "invalid_events", f"unknown events {unknown}: use {', '.join(RULE_EVENTS)}"
        )
    return chosen


def _check_renotified(events: Sequence[str], escalates: bool) -> None:
    if NotifyEvent.RENOTIFIED in events and not escalates:
        raise InvalidInput(
            "invalid_events",
            "renotified needs an escalation: re-notifications follow its timing",
        )


def _set_escalation(
    rule: NotificationRule, escalation: tuple[NotificationChannel, EscalationIn] | None
) -> None:
    """Set (or, given None, remove) a rule's escalation channel and timing."""
    if escalation is None:
        rule.escalation_channel_id = None
        rule.escalate_after_minutes = None
        rule.escalate_every_minutes = None
        rule.escalate_times = None
        return
    target, timing = escalation
    if target.organization_id != rule.organization_id:
        raise InvalidInput("cross_organization", "the escalation channel is another org's")
    rule.escalation_channel_id = target.id
    rule.escalate_after_minutes = timing.after_minutes
    rule.escalate_every_minutes = timing.every_minutes
    rule.escalate_times = timing.times


UNCHANGED: Any = object()
"""Default of :func:`update_rule`'s ``escalation``, where None means "remove it"."""

RULE_COLUMNS = ("channel_id", "events", "min_severity", "escalation_channel_id",
                "escalate_after_minutes", "escalate_every_minutes", "escalate_times")  # fmt: skip


def update_rule(
    session: Session,
    rule: NotificationRule,
    cache: RoutingCache | None,
    *,
    channel: NotificationChannel | None = None,
    events: Sequence[str] | None = None,
    min_severity: str | None = None,
    escalation: tuple[NotificationChannel, EscalationIn] | None = UNCHANGED,
    actor: str,
) -> list[str]:
    """Change what is given (None: unchanged; ``escalation=None`` removes it), checked as
    :func:`create_rule` checks; returns the names of the columns that changed, which is
    also what the audit log records."""
    before = {c: getattr(rule, c) for c in RULE_COLUMNS}
    if channel is not None:
        if channel.organization_id != rule.organization_id:
            raise InvalidInput("cross_organization", "the channel is another organization's")
        rule.channel_id = channel.id
    if events is not None:
        rule.events = _checked_events(events)
    if min_severity is not None:
        rule.min_severity = min_severity
    if escalation is not UNCHANGED:
        _set_escalation(rule, escalation)
    _check_renotified(rule.events or (), rule.escalation_channel_id is not None)
    changed = [c for c in RULE_COLUMNS if getattr(rule, c) != before[c]]
    if changed:
        session.flush()
        _changed(session, cache)
        audit.record(
            session, rule.organization_id, actor, "rule.update", rule.id, {"changed": changed}
        )
    return changed


def _rule_detail(rule: NotificationRule) -> dict[str, Any]:
    return {
        "service_id": rule.service_id,
        "channel_id": rule.channel_id,
        "events": list(rule.events or ()),
        "min_severity": rule.min_severity,
        "escalation_channel_id": rule.escalation_channel_id,
    }


def get_rule(session: Session, rule_id: int, org_id: int | None) -> NotificationRule:
    return admin.get_owned(session, NotificationRule, rule_id, org_id, "rule")


def delete_rule(
    session: Session, rule: NotificationRule, cache: RoutingCache | None, *, actor: str
) -> None:
    detail = _rule_detail(rule)
    audit.record(session, rule.organization_id, actor, "rule.delete", rule.id, detail)
    session.delete(rule)
    session.flush()
    _changed(session, cache)


def list_rules(session: Session, org_id: int | None) -> list[RuleOut]:
    rules = session.scalars(_of_org(select(NotificationRule), NotificationRule, org_id)).all()
    services = _names(session, Service, {r.service_id for r in rules if r.service_id})
    channels = _names(
        session,
        NotificationChannel,
        {r.channel_id for r in rules} | {r.escalation_channel_id or 0 for r in rules},
    )
    return [
        RuleOut(
            id=r.id,
            service_id=r.service_id,
            service=services.get(r.service_id) if r.service_id else None,
            channel_id=r.channel_id,
            channel=channels.get(r.channel_id, ""),
            events=list(r.events or ()),
            min_severity=r.min_severity,
            escalation=_escalation_out(r, channels),
            created_at=to_utc(r.created_at),
        )
        for r in rules
    ]


def _escalation_out(rule: NotificationRule, channels: Mapping[int, str]) -> EscalationOut | None:
    if rule.escalation_channel_id is None or rule.escalate_after_minutes is None:
        return None
    return EscalationOut(
        channel_id=rule.escalation_channel_id,
        channel=channels.get(rule.escalation_channel_id, ""),
        after_minutes=rule.escalate_after_minutes,
        every_minutes=rule.escalate_every_minutes or rule.escalate_after_minutes,
        times=rule.escalate_times or 1,
    )


def _names(session: Session, model: Any, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {
        int(i): str(n)
        for i, n in session.execute(select(model.id, model.name).where(model.id.in_(ids)))
    }


# -- silences ---------------------------------------------------------------------------------


def create_silence(
    session: Session,
    org_id: int,
    service: Service | None,
    matchers: Mapping[str, str],
    ends_at: datetime,
    *,
    starts_at: datetime | None = None,
    weekly: Mapping[str, Any] | None = None,
    comment: str = "",
    actor: str,
    cache: RoutingCache | None = None,
) -> Silence:
    now = datetime.now(UTC)
    starts = to_utc(starts_at) if starts_at is not None else now
    ends = to_utc(ends_at)
    if ends <= starts or ends <= now:
        raise InvalidInput("invalid_window", "ends_at must be in the future and after starts_at")
    if ends - starts > MAX_SILENCE:
        raise InvalidInput("invalid_window", "a silence lasts at most 366 days")
    try:
        checked = check_matchers(matchers)
        window = Weekly.parse(weekly).as_json() if weekly else None
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput("invalid_silence", str(exc)) from None
    if service is not None and service.organization_id != org_id:
        raise NotFound("service_not_found", f"no service with id {service.id}")
    silence = Silence(
        organization_id=org_id,
        service_id=service.id if service is not None else None,
        matchers=checked,
        starts_at=starts,
        ends_at=ends,
        weekly=window,
        comment=comment[:2000],
        created_by=actor[:200],
        created_at=now,
    )
    _saved(session, silence, cache)
    detail = {
        "service_id": silence.service_id,
        "matchers": checked,
        "starts_at": starts.isoformat(),
        "ends_at": ends.isoformat(),
        "weekly": window,
    }
    audit.record(session, org_id, actor, "silence.create", silence.id, detail)
    return silence


def expire_silence(
    session: Session, silence: Silence, cache: RoutingCache | None, *, actor: str
) -> None:
    ended = to_utc(silence.ends_at).isoformat()
    silence.ends_at = datetime.now(UTC)
    session.flush()
    _changed(session, cache)
    detail = {"was_ending_at": ended}
    audit.record(session, silence.organization_id, actor, "silence.expire", silence.id, detail)


def get_silence(session: Session, silence_id: int, org_id: int | None) -> Silence:
    return admin.get_owned(session, Silence, silence_id, org_id, "silence")


def list_silences(
    session: Session, org_id: int | None, *, include_expired: bool = False
) -> list[SilenceOut]:
    now = datetime.now(UTC)
    query = select(Silence).order_by(Silence.ends_at)
    if org_id is not None:
        query = query.where(Silence.organization_id == org_id)
    if not include_expired:
        query = query.where(Silence.ends_at > now)
    rows = session.scalars(query).all()
    services = _names(session, Service, {r.service_id for r in rows if r.service_id})
    return [silence_out(r, services.get(r.service_id or 0), now) for r in rows]


def silence_out(row: Silence, service: str | None, now: datetime) -> SilenceOut:
    rule = SilenceRule(
        row.id,
        row.organization_id,
        row.service_id,
        (),
        to_utc(row.starts_at),
        to_utc(row.ends_at),
        Weekly.parse(row.weekly) if row.weekly else None,
    )
    return SilenceOut(
        id=row.id,
        service_id=row.service_id,
        service=service,
        matchers=dict(row.matchers or {}),
        starts_at=rule.starts_at,
        ends_at=rule.ends_at,
        weekly=row.weekly,
        comment=row.comment,
        created_by=row.created_by,
        created_at=to_utc(row.created_at),
        active=rule.active(now),
        expired=rule.ends_at <= now,
    )


def expiring_soon(silence: SilenceOut, now: datetime) -> bool:
    return silence.active and silence.ends_at - now <= EXPIRING_SOON


# -- the incident's notifications (its timeline) ----------------------------------------------


def incident_notifications(session: Session, incident_id: int) -> list[NotificationOut]:
    rows = session.scalars(
        select(Notification)
        .where(Notification.incident_id == incident_id)
        .order_by(Notification.id)
    ).all()
    channels = _names(session, NotificationChannel, {r.channel_id for r in rows})
    return [
        NotificationOut(
            id=r.id,
            incident_id=r.incident_id,
            channel_id=r.channel_id,
            channel=channels.get(r.channel_id, ""),
            event=r.event,
            status=r.status,
            attempts=r.attempts,
            idempotency_key=r.idempotency_key,
            last_error=r.last_error,
            silence_id=r.silence_id,
            digest_id=r.digest_id,
            created_at=to_utc(r.created_at),
            next_attempt_at=to_utc(r.next_attempt_at),
            delivered_at=to_utc(r.delivered_at) if r.delivered_at else None,
        )
        for r in rows
    ]

"""The notifications page's channel and rule forms: posted fields to the API's request
models, and every problem by form field name, so each shows next to its input (as the
integration edit form does). The API models decide what is allowed; this only maps."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from alertgate.server.admin import AdminError
from alertgate.server.notify_schemas import (
    RULE_EVENTS,
    ChannelCreate,
    ChannelOut,
    ChannelUpdate,
    RuleCreate,
    RuleOut,
    RuleUpdate,
)

Errors = dict[str, str]

CHANNEL_FIELDS = {"type": "type", "name": "name", "settings": "settings",
                  "rate_limit_per_minute": "rate_limit_per_minute",
                  "enabled": "enabled"}  # fmt: skip
RULE_FIELDS = {
    "service_id": "service_id",
    "channel_id": "channel_id",
    "events": "events",
    "min_severity": "min_severity",
    "escalation": "escalation_channel_id",
    "escalation.channel_id": "escalation_channel_id",
    "escalation.after_minutes": "escalate_after",
    "escalation.every_minutes": "escalate_every",
    "escalation.times": "escalate_times",
}
ESCALATION_INPUTS = ("escalate_after", "escalate_every", "escalate_times")

# Refusals of alertgate.server.notify_admin, by the field they are about.
ADMIN_ERROR_FIELDS = {
    "unknown_channel_type": "type",
    "invalid_name": "name",
    "channel_exists": "name",
    "invalid_settings": "settings",
    "secret_key_missing": "settings",
    "service_not_found": "service_id",
    "channel_not_found": "channel_id",
    "invalid_events": "events",
    "cross_organization": "channel_id",
}


def _by_field(exc: ValidationError, fields: Mapping[str, str]) -> Errors:
    errors: Errors = {}
    for err in exc.errors():
        loc = [str(part) for part in err["loc"] if not isinstance(part, int)]
        name = fields.get(".".join(loc)) or fields.get(loc[0] if loc else "", "form")
        message = str(err["msg"])
        errors[name] = f"{errors[name]}; {message}" if name in errors else message
    return errors


ModelT = TypeVar("ModelT", bound=BaseModel)


def _validated(
    model: type[ModelT], raw: dict[str, Any], fields: Mapping[str, str], errors: Errors
) -> ModelT | None:
    try:
        # Posted fields are strings: convert them, even for the API's strict models.
        checked = model.model_validate(raw, strict=False)
    except ValidationError as exc:
        errors.update({k: v for k, v in _by_field(exc, fields).items() if k not in errors})
        return None
    return checked if not errors else None


def _channel_raw(form: Mapping[str, str], errors: Errors) -> dict[str, Any]:
    """The name, settings and rate limit of a channel form (new or edit)."""
    raw: dict[str, Any] = {"name": form.get("name", "")}
    try:
        settings = json.loads(form.get("settings") or "{}")
    except ValueError as exc:
        errors["settings"] = f"Not valid JSON ({exc.args[0]})."
    else:
        if isinstance(settings, dict):
            raw["settings"] = settings
        else:
            errors["settings"] = 'Give a JSON object, e.g. {"url": "https://…"}.'
    if form.get("rate_limit_per_minute", "").strip():
        raw["rate_limit_per_minute"] = form["rate_limit_per_minute"].strip()
    return raw


def channel_input(form: Mapping[str, str]) -> tuple[ChannelCreate | None, Errors]:
    errors: Errors = {}
    raw = {"type": form.get("type", ""), **_channel_raw(form, errors)}
    return _validated(ChannelCreate, raw, CHANNEL_FIELDS, errors), errors


def channel_update_input(
    form: Mapping[str, str], secret_fields: Iterable[str]
) -> tuple[ChannelUpdate | None, Errors]:
    """The edit form: a secret field left blank keeps its stored value (secrets are
    write-only, so the form shows them blank)."""
    errors: Errors = {}
    raw = _channel_raw(form, errors)
    settings = raw.get("settings")
    if settings is not None:
        raw["settings"] = {
            k: v for k, v in settings.items() if not (k in set(secret_fields) and v == "")
        }
    raw["enabled"] = bool(form.get("enabled"))
    return _validated(ChannelUpdate, raw, CHANNEL_FIELDS, errors), errors


def channel_values(channel: ChannelOut, secret_fields: Iterable[str]) -> tuple[dict[str, str], str]:
    """An edit form's values for a stored channel, and its settings text (secrets blank)."""
    values = {"name": channel.name, "rate_limit_per_minute": str(channel.rate_limit_per_minute)}
    if channel.enabled:
        values["enabled"] = "1"
    settings = {**channel.settings, **dict.fromkeys(sorted(secret_fields), "")}
    return values, json.dumps(settings, indent=2)


def _rule_raw(form: Mapping[str, str], errors: Errors) -> tuple[dict[str, Any], dict[str, str]]:
    """The events, channel, severity and escalation of a rule form (new or edit), and the
    escalation timing inputs as typed."""
    events = [e for e in RULE_EVENTS if form.get(f"event_{e}")]
    if not events:
        errors["events"] = "Choose at least one event."
    raw: dict[str, Any] = {
        "channel_id": form.get("channel_id", ""),
        "events": events,
        "min_severity": form.get("min_severity", "info"),
    }
    timing = {k: form.get(k, "").strip() for k in ESCALATION_INPUTS}
    if form.get("escalation_channel_id"):
        escalation: dict[str, Any] = {"channel_id": form["escalation_channel_id"]}
        after, every, times = (timing[k] for k in ESCALATION_INPUTS)
        if after:
            escalation["after_minutes"] = after
        if every or after:
            escalation["every_minutes"] = every or after
        if times:
            escalation["times"] = times
        raw["escalation"] = escalation
    elif any(timing[k] for k in ("escalate_after", "escalate_every")):
        errors["escalation_channel_id"] = (
            "Choose the channel to escalate to, or clear the escalation times."
        )
    return raw, timing


def _rule_validated(
    model: type[ModelT], raw: dict[str, Any], timing: Mapping[str, str], errors: Errors
) -> ModelT | None:
    body = _validated(model, raw, RULE_FIELDS, errors)
    if not timing["escalate_every"]:
        # A blank "every" took "after"'s value: its problem is reported at "after" alone.
        errors.pop("escalate_every", None)
    return body


def rule_input(form: Mapping[str, str]) -> tuple[RuleCreate | None, Errors]:
    errors: Errors = {}
    raw, timing = _rule_raw(form, errors)
    raw["service_id"] = form.get("service_id") or None
    return _rule_validated(RuleCreate, raw, timing, errors), errors


def rule_update_input(form: Mapping[str, str]) -> tuple[RuleUpdate | None, Errors]:
    """The edit form: every field is sent; no escalation channel removes the escalation."""
    errors: Errors = {}
    raw, timing = _rule_raw(form, errors)
    raw.setdefault("escalation", None)
    return _rule_validated(RuleUpdate, raw, timing, errors), errors


def rule_values(rule: RuleOut) -> dict[str, str]:
    """An edit form's values for a stored rule."""
    values = {f"event_{e}": "1" for e in rule.events}
    values |= {"channel_id": str(rule.channel_id), "min_severity": rule.min_severity}
    if rule.escalation is not None:
        values |= {
            "escalation_channel_id": str(rule.escalation.channel_id),
            "escalate_after": str(rule.escalation.after_minutes),
            "escalate_every": str(rule.escalation.every_minutes),
            "escalate_times": str(rule.escalation.times),
        }
    return values


def admin_error(exc: AdminError, fields: Mapping[str, str]) -> Errors:
    """A refusal of the admin layer, next to the field it is about (when on this form)."""
    name = ADMIN_ERROR_FIELDS.get(exc.code, "form")
    return {name if name in fields.values() else "form": exc.message}


def settings_shown(raw: str, secret_fields: Iterable[str]) -> str:
    """The settings text to show again in a refused form: secret fields blanked, since
    secrets are write-only (the user types them again)."""
    try:
        settings = json.loads(raw or "{}")
    except ValueError:
        return raw
    if not isinstance(settings, dict):
        return raw
    for key in set(secret_fields) & set(settings):
        settings[key] = ""
    return json.dumps(settings, indent=2)

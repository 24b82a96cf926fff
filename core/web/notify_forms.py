"""The notifications page's channel and rule forms: posted fields to the API's request
models, and every problem by form field name, so each shows next to its input (as the
integration edit form does). The API models decide what is allowed; this only maps."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from alertgate.server.admin import AdminError
from alertgate.server.notify_schemas import RULE_EVENTS, ChannelCreate, RuleCreate

Errors = dict[str, str]

CHANNEL_FIELDS = {"type": "type", "name": "name", "settings": "settings",
                  "rate_limit_per_minute": "rate_limit_per_minute"}  # fmt: skip
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
        checked = model.model_validate(raw)
    except ValidationError as exc:
        errors.update({k: v for k, v in _by_field(exc, fields).items() if k not in errors})
        return None
    return checked if not errors else None


def channel_input(form: Mapping[str, str]) -> tuple[ChannelCreate | None, Errors]:
    errors: Errors = {}
    raw: dict[str, Any] = {"type": form.get("type", ""), "name": form.get("name", "")}
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
    return _validated(ChannelCreate, raw, CHANNEL_FIELDS, errors), errors


def rule_input(form: Mapping[str, str]) -> tuple[RuleCreate | None, Errors]:
    errors: Errors = {}
    events = [e for e in RULE_EVENTS if form.get(f"event_{e}")]
    if not events:
        errors["events"] = "Choose at least one event."
    raw: dict[str, Any] = {
        "service_id": form.get("service_id") or None,
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
    body = _validated(RuleCreate, raw, RULE_FIELDS, errors)
    if not timing["escalate_every"]:
        # A blank "every" took "after"'s value: its problem is reported at "after" alone.
        errors.pop("escalate_every", None)
    return body, errors


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

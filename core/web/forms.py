"""Form fields from an integration type's settings model, and settings from a posted form.

The model's JSON schema drives the inputs: booleans become checkboxes, enums selects,
numbers number inputs, lists of strings a one-per-line text area, and anything richer
(objects, lists of objects) a JSON text area. The type's settings model validates the
result, so nothing here decides what is allowed; it only shapes the input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

MAX_LINES = 1000
MAX_FIELD_CHARS = 100_000


class FormError(ValueError):
    """A field could not be read (e.g. invalid JSON); the message names the field."""


@dataclass(frozen=True, slots=True)
class SettingField:
    """One input of a per-type settings form."""

    key: str
    """The settings model's field name."""
    name: str
    """The form field name: ``s.<type slug>.<key>``."""
    label: str
    help: str
    widget: str
    """checkbox | text | number | select | lines | json"""
    default: str
    """The default rendered as the input's initial value."""
    options: list[str] = field(default_factory=list)
    optional: bool = False
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    docs_url: str = ""
    """More documentation: an absolute URL or a path in alertgate's docs/ folder (the
    field's ``json_schema_extra={"docs_url": ...}``)."""


def _resolve(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved = defs.get(ref.removeprefix("#/$defs/"), {})
        return {**resolved, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _unwrap_optional(
    schema: Mapping[str, Any], defs: Mapping[str, Any]
) -> tuple[Mapping[str, Any], bool]:
    options = schema.get("anyOf")
    if isinstance(options, list):
        rest = [o for o in options if o.get("type") != "null"]
        if len(rest) == 1 and len(rest) < len(options):
            merged = {
                **_resolve(rest[0], defs),
                **{k: v for k, v in schema.items() if k != "anyOf"},
            }
            return merged, True
    return _resolve(schema, defs), False


def _label(key: str, schema: Mapping[str, Any]) -> str:
    title = schema.get("title")
    if isinstance(title, str) and title:
        return title
    return key.replace("_", " ").capitalize()


def setting_fields(slug: str, model: type[BaseModel]) -> list[SettingField]:
    """The inputs for ``model``, in declaration order."""
    schema = model.model_json_schema()
    defs: Mapping[str, Any] = schema.get("$defs", {})
    fields: list[SettingField] = []
    for key, raw in schema.get("properties", {}).items():
        prop, optional = _unwrap_optional(raw, defs)
        kind = prop.get("type")
        default = raw.get("default", prop.get("default"))
        common: dict[str, Any] = {
            "key": key,
            "name": f"s.{slug}.{key}",
            "label": _label(key, raw),
            "help": str(raw.get("description") or prop.get("description") or ""),
            "optional": optional,
            "docs_url": str(raw.get("docs_url") or prop.get("docs_url") or ""),
        }
        if "enum" in prop and all(isinstance(v, str) for v in prop["enum"]):
            options = [str(v) for v in prop["enum"]]
            shown = "" if default is None else str(default)
            fields.append(SettingField(widget="select", default=shown, options=options, **common))
        elif kind == "boolean":
            fields.append(
                SettingField(widget="checkbox", default="true" if default else "", **common)
            )
        elif kind in ("integer", "number"):
            fields.append(
                SettingField(
                    widget="number",
                    default="" if default is None else str(default),
                    minimum=prop.get("minimum", prop.get("exclusiveMinimum")),
                    maximum=prop.get("maximum", prop.get("exclusiveMaximum")),
                    integer=kind == "integer",
                    **common,
                )
            )
        elif kind == "string":
            fields.append(
                SettingField(
                    widget="text", default="" if default is None else str(default), **common
                )
            )
        elif kind == "array" and _resolve(prop.get("items", {}), defs).get("type") == "string":
            lines = "\n".join(str(v) for v in default or [])
            fields.append(SettingField(widget="lines", default=lines, **common))
        else:
            shown = "" if default is None else json.dumps(default, indent=2)
            fields.append(SettingField(widget="json", default=shown, **common))
    return fields


def settings_from_form(fields: list[SettingField], form: Mapping[str, str]) -> dict[str, Any]:
    """The settings dict a posted form describes. Empty inputs keep the model's default."""
    out: dict[str, Any] = {}
    for f in fields:
        if f.widget == "checkbox":
            out[f.key] = f.name in form
            continue
        raw = form.get(f.name, "")
        if len(raw) > MAX_FIELD_CHARS:
            raise FormError(f"{f.label}: too long")
        text = raw.strip()
        if not text:
            continue
        if f.widget == "lines":
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            if len(lines) > MAX_LINES:
                raise FormError(f"{f.label}: more than {MAX_LINES} lines")
            out[f.key] = lines
        elif f.widget == "json":
            try:
                out[f.key] = json.loads(text)
            except ValueError as exc:
                raise FormError(f"{f.label}: not valid JSON ({exc.args[0]})") from None
        else:
            # Numbers and enums are passed as text; the pydantic model converts and checks.
            out[f.key] = text
    return out

"""A small, data-only rule language over CloudTrail record fields, and its evaluator.

A rule is JSON (so detections can live in settings and be listed by the CLI):

- a condition: ``{"field": "eventName", "equals": ["StopLogging", "DeleteTrail"]}``,
  with exactly one operator out of ``equals`` (any of), ``not_equals`` (none of),
  ``like`` (any of, ``*`` wildcards, the metric-filter syntax), ``exists`` (true/false) and
  ``differs_from`` (another field path; both present and different), plus an optional
  ``ignore_case``;
- ``{"all": [rule, ...]}`` (every one matches) or ``{"any": [rule, ...]}`` (one matches).

Fields are dotted paths into the record (``userIdentity.type``,
``additionalEventData.MFAUsed``). A missing field never equals anything, so ``not_equals``
matches it and ``equals``/``like`` do not. Values keep their JSON types: ``true`` matches a
boolean ``readOnly`` but not the string ``"true"``.

Every rule renders to a CloudWatch Logs metric filter pattern (:func:`filter_pattern`), so
the guide's path (metric filter + alarm) and the EventBridge path watch the same thing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

Scalar = str | int | float | bool | None

MAX_VALUES = 500
MAX_CHILDREN = 100
MAX_DEPTH = 6
MAX_TEXT = 256

_FIELD_PATTERN = r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+){0,7}$"
_MISSING = object()


class Condition(BaseModel):
    """One test on one field of a record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(pattern=_FIELD_PATTERN, max_length=MAX_TEXT)
    equals: list[Scalar] | None = Field(None, max_length=MAX_VALUES, min_length=1)
    not_equals: list[Scalar] | None = Field(None, max_length=MAX_VALUES, min_length=1)
    like: list[str] | None = Field(None, max_length=MAX_VALUES, min_length=1)
    exists: bool | None = None
    differs_from: str | None = Field(None, pattern=_FIELD_PATTERN, max_length=MAX_TEXT)
    ignore_case: bool = False

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        used = [
            name
            for name in ("equals", "not_equals", "like", "exists", "differs_from")
            if getattr(self, name) is not None
        ]
        if len(used) != 1:
            raise ValueError(
                f"condition on {self.field!r} needs exactly one of equals, not_equals, like, "
                f"exists, differs_from (got {', '.join(used) or 'none'})"
            )
        for value in [*(self.equals or []), *(self.not_equals or []), *(self.like or [])]:
            if isinstance(value, str) and len(value) > MAX_TEXT:
                raise ValueError(f"value longer than {MAX_TEXT} characters")
        return self

    @model_serializer(mode="wrap")
    def _compact(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Stored settings and --json output show only the operator in use.
        data: dict[str, Any] = handler(self)
        return {
            key: value
            for key, value in data.items()
            if value is not None and not (key == "ignore_case" and value is False)
        }


class AllOf(BaseModel):
    """Every child rule matches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    all: list[Rule] = Field(min_length=1, max_length=MAX_CHILDREN)


class AnyOf(BaseModel):
    """At least one child rule matches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    any: list[Rule] = Field(min_length=1, max_length=MAX_CHILDREN)


Rule = Union[Condition, AllOf, AnyOf]  # noqa: UP007 - a forward-referenced recursive alias

AllOf.model_rebuild()
AnyOf.model_rebuild()


def depth(rule: Rule) -> int:
    """Nesting depth of a rule (a lone condition is 1)."""
    if isinstance(rule, Condition):
        return 1
    children = rule.all if isinstance(rule, AllOf) else rule.any
    return 1 + max(depth(child) for child in children)


def check_depth(rule: Rule) -> Rule:
    """Reject rules nested deeper than :data:`MAX_DEPTH` (bounded evaluation)."""
    if depth(rule) > MAX_DEPTH:
        raise ValueError(f"rule nested deeper than {MAX_DEPTH} levels")
    return rule


# -------------------------------------------------------------------------------------------
# Evaluation
# -------------------------------------------------------------------------------------------


def lookup(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path, or a private sentinel when any step is missing."""
    node: Any = record
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return _MISSING
        node = node[key]
    return node


def _same(actual: Any, expected: Scalar, ignore_case: bool) -> bool:
    # bool is an int subclass: keep true != 1 so JSON types stay distinct.
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual is expected
    if isinstance(actual, str) and isinstance(expected, str):
        if ignore_case:
            return actual.casefold() == expected.casefold()
        return actual == expected
    if actual is None or expected is None:
        return actual is None and expected is None
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return actual == expected
    return False


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _condition_matches(cond: Condition, record: Mapping[str, Any]) -> bool:
    value = lookup(record, cond.field)
    if cond.exists is not None:
        return (value is not _MISSING and value is not None) is cond.exists
    if cond.equals is not None:
        return value is not _MISSING and any(
            _same(value, want, cond.ignore_case) for want in cond.equals
        )
    if cond.not_equals is not None:
        return value is _MISSING or not any(
            _same(value, want, cond.ignore_case) for want in cond.not_equals
        )
    if cond.like is not None:
        return isinstance(value, str) and any(
            _glob(pattern, cond.ignore_case).fullmatch(value) for pattern in cond.like
        )
    assert cond.differs_from is not None
    other = lookup(record, cond.differs_from)
    if value in (_MISSING, None) or other in (_MISSING, None):
        return False
    return not _same(value, other, cond.ignore_case)


def matches(rule: Rule, record: Mapping[str, Any]) -> bool:
    """Whether a CloudTrail record satisfies a rule."""
    if isinstance(rule, Condition):
        return _condition_matches(rule, record)
    if isinstance(rule, AllOf):
        return all(matches(child, record) for child in rule.all)
    return any(matches(child, record) for child in rule.any)


# -------------------------------------------------------------------------------------------
# Rendering as a CloudWatch Logs metric filter pattern
# -------------------------------------------------------------------------------------------


def _case_variants(value: str, ignore_case: bool) -> list[str]:
    # Metric filters compare case-sensitively: spell out the usual spellings instead.
    if not ignore_case:
        return [value]
    return list(dict.fromkeys([value, value.lower(), value.upper(), value.capitalize()]))


def _literal(value: Scalar) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def _compare(path: str, op: str, value: Scalar) -> str:
    if value is None:
        # "!= null" has no metric-filter spelling; callers mark that pattern inexact.
        return f"($.{path} IS NULL)" if op == "=" else f'($.{path} = "*")'
    if isinstance(value, bool):
        truth = value if op == "=" else not value
        return f"($.{path} IS {'TRUE' if truth else 'FALSE'})"
    return f"($.{path} {op} {_literal(value)})"


def _join(parts: list[str], op: str) -> str:
    return parts[0] if len(parts) == 1 else "(" + f" {op} ".join(parts) + ")"


def _render(rule: Rule) -> tuple[str, bool]:
    if isinstance(rule, AllOf | AnyOf):
        children = rule.all if isinstance(rule, AllOf) else rule.any
        rendered = [_render(child) for child in children]
        joined = _join([text for text, _ in rendered], "&&" if isinstance(rule, AllOf) else "||")
        return joined, all(exact for _, exact in rendered)
    path = rule.field
    if rule.equals is not None or rule.like is not None:
        values: list[Scalar] = [*(rule.equals or []), *(rule.like or [])]
        parts = [
            _compare(path, "=", variant)
            for value in values
            for variant in (
                _case_variants(value, rule.ignore_case) if isinstance(value, str) else [value]
            )
        ]
        return _join(parts, "||"), True
    if rule.not_equals is not None:
        parts = [
            _compare(path, "!=", variant)
            for value in rule.not_equals
            for variant in (
                _case_variants(value, rule.ignore_case) if isinstance(value, str) else [value]
            )
        ]
        return _join(parts, "&&"), None not in rule.not_equals
    if rule.exists is not None:
        # A metric filter has NOT EXISTS but no EXISTS; "*" matches any string value.
        return (f"($.{path} NOT EXISTS)", True) if not rule.exists else (f'($.{path} = "*")', True)
    # Comparing two fields is beyond metric filters: count every event with the field set.
    return f'($.{path} = "*")', False


def filter_pattern(rule: Rule) -> tuple[str, bool]:
    """The rule as a CloudWatch Logs metric filter pattern.

    :return: ``(pattern, exact)``; ``exact`` is false when the pattern is broader than the
        rule because metric filters cannot express part of it (``differs_from``).
    """
    text, exact = _render(rule)
    if text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1]
    return "{ " + text + " }", exact


def _balanced(text: str) -> bool:
    level = 0
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "(":
            level += 1
        elif char == ")":
            level -= 1
            if level < 0:
                return False
    return level == 0

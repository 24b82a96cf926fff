"""CloudWatch Logs Insights deep links for CloudTrail-catalog alarms (path 1).

An alarm on a detection's metric filter says *that* something matched in the trail's log
group, not *what*. The link opens Logs Insights on that log group, over the alarm's
evaluation window ending at its state change, with a query that finds the events the
metric filter counted: the detection's rule (the one the filter pattern is rendered from,
:func:`~alertgate.plugins.aws_cloudtrail.rules.filter_pattern`) rendered in the Logs
Insights query language.

The console keeps its state in the URL fragment, in its own encoding (undocumented, stable
for years, and what every "share query" link uses): the query's details are a JSURL-like
object (``~(key~value~...)``, strings ``'``-prefixed with ``%`` escapes written as ``*``),
percent-escaped once more, prefixed with ``?queryDetail=``, percent-encoded again, and
every ``%`` written as ``$``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from alertgate.plugins.aws_cloudtrail.rules import AllOf, AnyOf, Condition, Rule, Scalar
from alertgate.plugins.aws_sns.eventbridge import console_url

DEFAULT_PERIOD_SECONDS = 300
MAX_WINDOW = timedelta(days=1)
"""An alarm evaluates at most a day of data (CloudWatch's limit for period x periods)."""
LOG_GROUP_PATTERN = r"^[\.\-_/#A-Za-z0-9]{1,512}$"
"""CloudWatch Logs log group names."""
QUERY_FIELDS = "@timestamp, eventSource, eventName, userIdentity.arn, sourceIPAddress, errorCode"

_PLAIN_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ESCAPE_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@*_+-./?=&")
_JSURL_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")


# -- the rule as a Logs Insights filter ---------------------------------------------------


def _field(path: str) -> str:
    # Logs Insights flattens JSON into dotted names; a segment with other characters
    # (e.g. a dash) is quoted with backticks.
    return ".".join(s if _PLAIN_SEGMENT.match(s) else f"`{s}`" for s in path.split("."))


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _equals(field: str, value: Scalar, ignore_case: bool) -> str:
    if value is None:
        return f"not ispresent({field})"
    if isinstance(value, bool):
        # Logs Insights reads JSON booleans as 1/0; the string forms cover text fields.
        word = "true" if value else "false"
        return f'({field} = {int(value)} or {field} = "{word}")'
    if isinstance(value, int | float):
        return f"{field} = {value}"
    if ignore_case:
        return f"tolower({field}) = {_string(value.lower())}"
    return f"{field} = {_string(value)}"


def _like(field: str, glob: str, ignore_case: bool) -> str:
    body = ".*".join(re.escape(part) for part in glob.split("*")).replace("/", "\\/")
    return f"{field} like /{'(?i)' if ignore_case else ''}^{body}$/"


def _any(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"


def _all(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else "(" + " and ".join(parts) + ")"


def _condition(cond: Condition) -> str:
    field = _field(cond.field)
    if cond.equals is not None or cond.like is not None:
        parts = [_equals(field, v, cond.ignore_case) for v in cond.equals or []]
        parts += [_like(field, g, cond.ignore_case) for g in cond.like or []]
        return _any(parts)
    if cond.not_equals is not None:
        # A missing field differs from every value (the rule language's semantics).
        parts = [f"not {_equals(field, v, cond.ignore_case)}" for v in cond.not_equals]
        if None in cond.not_equals:
            return _all(parts)
        return f"(not ispresent({field}) or {_all(parts)})"
    if cond.exists is not None:
        return f"ispresent({field})" if cond.exists else f"not ispresent({field})"
    other = _field(str(cond.differs_from))
    return f"(ispresent({field}) and ispresent({other}) and {field} != {other})"


def insights_filter(rule: Rule) -> str:
    """The rule as a Logs Insights boolean expression (``filter`` argument)."""
    if isinstance(rule, Condition):
        return _condition(rule)
    if isinstance(rule, AllOf):
        return _all([insights_filter(child) for child in rule.all])
    assert isinstance(rule, AnyOf)
    return _any([insights_filter(child) for child in rule.any])


def insights_query(rule: Rule) -> str:
    """The Logs Insights query finding the events a detection's metric filter counts."""
    return (
        f"fields {QUERY_FIELDS}\n| filter {insights_filter(rule)}\n"
        "| sort @timestamp desc\n| limit 200"
    )


# -- the console's URL encoding -----------------------------------------------------------


def _jsurl_string(value: str) -> str:
    return "'" + "".join(
        c if c in _JSURL_SAFE else "".join(f"*{b:02x}" for b in c.encode("utf-8")) for c in value
    )


def _jsurl(value: object) -> str:
    if isinstance(value, bool):
        return "~true" if value else "~false"
    if isinstance(value, str):
        return "~" + _jsurl_string(value)
    if isinstance(value, Mapping):
        return "~(" + "~".join(f"{key}{_jsurl(item)}" for key, item in value.items()) + ")"
    if isinstance(value, list | tuple):
        return "~(" + "".join(_jsurl(item) for item in value) + ")"
    raise TypeError(f"no console encoding for {value!r}")


def console_fragment(state: str) -> str:
    """``state`` (e.g. ``?queryDetail=~(...)``) as the console writes it in a fragment:
    percent-encoded (after the JSURL's own escape), with ``$`` for ``%``."""
    # JavaScript's escape() (Python's quote() never escapes "~", which must be here); the
    # query string's own "?", "=" and "&" are left for the second step.
    escaped = "".join(c if c in _ESCAPE_SAFE else f"%{ord(c):02X}" for c in state)
    return quote(escaped, safe="!*'()").replace("%", "$")  # encodeURIComponent()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def alarm_window(
    changed_at: datetime, period: object, evaluation_periods: object
) -> tuple[datetime, datetime]:
    """The data an alarm evaluated: its periods times its evaluation periods, ending at its
    state change (bounded to a day; 5 minutes x 1 when the message does not say)."""
    seconds = period if isinstance(period, int | float) and period > 0 else DEFAULT_PERIOD_SECONDS
    count = evaluation_periods if isinstance(evaluation_periods, int | float) else 1
    window = min(timedelta(seconds=float(seconds) * max(float(count), 1.0)), MAX_WINDOW)
    return changed_at - window, changed_at


def logs_insights_url(
    region: str,
    log_group: str,
    query: str,
    start: datetime,
    end: datetime,
    *,
    tz: str = "UTC",
) -> str:
    """A link opening Logs Insights on ``log_group`` with ``query`` over ``start``-``end``
    (shown in ``tz``: ``UTC`` or the browser's ``Local``), in the order the console writes
    the keys."""
    detail = {
        "end": _iso(end),
        "start": _iso(start),
        "timeType": "ABSOLUTE",
        "tz": tz,
        "editorString": query,
        "isLiveTail": False,
        "source": [log_group],
    }
    state = f"?queryDetail={_jsurl(detail)}&tab=logs"
    fragment = "logsV2:logs-insights" + console_fragment(state)
    return console_url(region, f"cloudwatch/home?region={region}#{fragment}")

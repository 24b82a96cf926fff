"""Silence matching and weekly windows (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from alertgate.notify.silences import SilenceRule, Subject, Weekly, check_matchers


def test_weekly_window_runs_overnight() -> None:
    window = Weekly(frozenset({4}), time(22, 0), time(6, 0))  # Friday night
    assert window.contains(datetime(2026, 12, 4, 23, 0, tzinfo=UTC))  # Friday 23:00
    assert window.contains(datetime(2026, 12, 5, 5, 59, tzinfo=UTC))  # Saturday 05:59
    assert not window.contains(datetime(2026, 12, 5, 6, 0, tzinfo=UTC))
    assert not window.contains(datetime(2026, 12, 4, 21, 59, tzinfo=UTC))


def test_matchers_glob_fields_and_nested_attributes() -> None:
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    rule = SilenceRule(
        1, 1, None,
        (("attributes.aws.region", "eu-*"), ("integration", "aws_*"), ("severity", "warn*")),
        start, end,
    )  # fmt: skip
    subject = Subject(
        "api", ("aws_cloudwatch", "prod"), "warning", "CPU", "fp", {"aws": {"region": "eu-west-1"}}
    )
    assert rule.matches(subject)
    assert not rule.matches(Subject("api", ("aws_cloudwatch",), "warning", "CPU", "fp", {}))
    assert rule.active(datetime(2026, 6, 1, tzinfo=UTC))
    assert not rule.active(end)


def test_unknown_matcher_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown matcher key"):
        check_matchers({"colour": "red"})
    with pytest.raises(ValueError, match="glob"):
        check_matchers({"title": ""})

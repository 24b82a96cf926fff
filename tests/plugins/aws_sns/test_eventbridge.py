"""The EventBridge helpers the GuardDuty, Security Hub and AWS Health types share."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alertgate.errors import MalformedDelivery
from alertgate.plugins.aws_sns.eventbridge import (
    MAX_EVENTS,
    console_url,
    events_from,
    https_link,
    parse_time,
)
from alertgate.registry import load_plugins
from tests.eventbridge_support import envelope, event
from tests.paths import ROOT_DIR


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2017-10-31T23:16:23.824Z", datetime(2017, 10, 31, 23, 16, 23, 824000, tzinfo=UTC)),
        ("Sat, 05 Jun 2016 15:10:09 GMT", datetime(2016, 6, 5, 15, 10, 9, tzinfo=UTC)),
        ("2016-06-05T06:27:57", datetime(2016, 6, 5, 6, 27, 57, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
        ({"a": 1}, None),
    ],
)
def test_parse_time(value: object, expected: datetime | None) -> None:
    assert parse_time(value) == expected


def test_console_urls_follow_the_partition() -> None:
    assert console_url("eu-west-1", "x").startswith("https://eu-west-1.console.aws.amazon.com/")
    assert console_url("cn-north-1", "x").startswith("https://console.amazonaws.cn/")
    assert console_url("us-gov-west-1", "x").startswith("https://console.amazonaws-us-gov.com/")


def test_only_https_links_are_kept() -> None:
    assert https_link("https://docs.aws.amazon.com/x") == "https://docs.aws.amazon.com/x"
    for bad in ("javascript:alert(1)", "http://example.org", "https://a b", 7, None):
        assert https_link(bad) is None


def test_events_from_one_a_list_and_carried_notifications() -> None:
    one = event("aws.health", {"eventArn": "a"}, event_id="1")
    two = event("aws.health", {"eventArn": "b"}, event_id="2")
    assert [e.id for e in events_from(one, "aws.health") or []] == ["1"]
    assert [e.id for e in events_from([one, envelope(two)], "aws.health") or []] == ["1", "2"]
    assert events_from(one, "aws.guardduty") is None
    assert events_from([], "aws.health") is None
    assert events_from({"detail": {}}, "aws.health") is None
    with pytest.raises(MalformedDelivery) as mixed:
        events_from([one, {"x": 1}], "aws.health")
    assert mixed.value.code == "invalid_event"
    with pytest.raises(MalformedDelivery) as many:
        events_from([one] * (MAX_EVENTS + 1), "aws.health")
    assert many.value.code == "too_many_events"


def test_eventbridge_types_are_builtin_entry_points() -> None:
    plugins = load_plugins(disabled=())
    titles = {
        "aws_guardduty": "Amazon GuardDuty",
        "aws_securityhub": "AWS Security Hub",
        "aws_health": "AWS Health",
    }
    for slug, title in titles.items():
        registered = plugins.types[slug]
        assert registered.type.title == title
        assert (registered.plugin.name, registered.plugin.builtin) == (slug, True)
        assert registered.type.parses_inline is True
        docs = registered.type.docs_url
        assert docs == f"docs/integrations/{slug.replace('_', '-')}.md"
        assert (ROOT_DIR / docs).is_file()

"""`alertgate channels`, `rules` and `silences` on a real database, with a test
notification delivered to a local receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from alertgate.cli import main
from alertgate.settings import get_settings
from tests.notify_support import SECRET_KEY, http_receiver


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("ALERTGATE_DATABASE_URL", url)
    monkeypatch.setenv("ALERTGATE_SECRET_KEY", SECRET_KEY)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, (args, result.output)
    return result


def as_json(*args: str) -> Any:
    return json.loads(run(*args, "--json").output)


def test_channels_rules_silences(database: str) -> None:
    run("services", "create", "api")
    with http_receiver() as receiver:
        settings = json.dumps({"url": receiver.url, "secret": "topsecret"})
        channel = as_json(
            "channels", "create", "--type", "webhook", "--name", "hook", "--settings", settings
        )
        assert channel["secrets"] == {"secret": "********"}
        assert "topsecret" not in run("channels", "list", "--json").output
        assert [c["name"] for c in as_json("channels", "list")] == ["hook"]
        assert "Test notification sent" in run("channels", "test", "hook").output
        got = receiver.wait_for(1)[0]
        assert got.json()["event"] == "test"
        assert got.headers["x-alertgate-signature"].startswith("sha256=")

    rule = as_json(
        "rules", "create", "--service", "api", "--channel", "hook",
        "--events", "opened,resolved", "--min-severity", "error",
    )  # fmt: skip
    assert (rule["service"], rule["events"], rule["min_severity"]) == (
        "api",
        ["opened", "resolved"],
        "error",
    )
    assert (
        "unknown events"
        in run(
            "rules", "create", "--service", "api", "--channel", "hook", "--events", "bogus", code=1
        ).output
    )

    renotify = ["--service", "api", "--channel", "hook", "--events", "opened,renotified"]
    assert "renotified needs an escalation" in run("rules", "create", *renotify, code=1).output
    escalating = as_json(
        "rules", "create", *renotify, "--escalate-to", "hook", "--escalate-after", "10"
    )
    assert escalating["events"] == ["opened", "renotified"]
    assert escalating["escalation"]["after_minutes"] == 10

    ends = (datetime.now(UTC) + timedelta(minutes=20)).isoformat()
    silence = as_json(
        "silences", "create", "--service", "api", "--match", "title=Disk*",
        "--match", "attributes.region=eu-*", "--ends", ends, "--comment", "maintenance",
    )  # fmt: skip
    assert silence["matchers"] == {"title": "Disk*", "attributes.region": "eu-*"}
    assert silence["active"] is True
    assert [s["comment"] for s in as_json("silences", "list")] == ["maintenance"]
    assert (
        "unknown matcher key"
        in run(
            "silences",
            "create",
            "--service",
            "api",
            "--match",
            "colour=red",
            "--ends",
            ends,
            code=1,
        ).output
    )


def test_test_notification_failure_exits_1(database: str) -> None:
    run("channels", "create", "--type", "webhook", "--name", "dead", "--settings",
        json.dumps({"url": "http://127.0.0.1:9/"}))  # fmt: skip
    assert "failed" in run("channels", "test", "dead", code=1).output


def test_secret_without_key_is_refused(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALERTGATE_SECRET_KEY")
    get_settings.cache_clear()
    out = run(
        "channels", "create", "--type", "pagerduty", "--name", "pd",
        "--settings", json.dumps({"routing_key": "abc"}), code=1,
    ).output  # fmt: skip
    assert "ALERTGATE_SECRET_KEY is not set" in out


def test_weekly_silence_and_expire(database: str) -> None:
    run("services", "create", "api")
    ends = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    made = as_json(
        "silences", "create", "--service", "api", "--ends", ends, "--weekly", "5,6@22:00-06:00"
    )
    assert made["weekly"] == {"days": [5, 6], "start": "22:00", "end": "06:00"}
    assert (
        "expected e.g."
        in run(
            "silences", "create", "--service", "api", "--ends", ends, "--weekly", "sat", code=2
        ).output
    )
    assert f"Silence {made['id']} ended." in run("silences", "expire", str(made["id"])).output
    assert as_json("silences", "list") == []
    assert [s["expired"] for s in as_json("silences", "list", "--all")] == [True]

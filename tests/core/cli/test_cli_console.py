"""The console's everyday CLI: incidents paged by cursor, ack/resolve many, notes, audit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from alertgate.cli import main
from alertgate.engine import Delivery, IngestEngine
from alertgate.models import Action, Alert, Severity
from alertgate.settings import get_settings
from alertgate.storage.database import make_engine

T0 = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("ALERTGATE_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result


def _incidents(url: str, count: int) -> None:
    run("services", "create", "web")
    created = json.loads(
        run("integrations", "create", "--service", "web", "--type", "aws_sns", "--json").output
    )
    engine = IngestEngine(make_engine(url))
    try:
        for n in range(count):
            alert = Alert(
                title=f"Alarm {n}",
                source_time=T0 + timedelta(seconds=n),
                dedupe_key=f"m{n}",
                kind="test",
                severity=Severity.ERROR,
                fingerprint=f"f{n}",
                action=Action.TRIGGER,
            )
            engine.ingest(Delivery(created["id"], created["service_id"], [alert]))
    finally:
        engine.close()


def test_incidents_list_pages_by_cursor(database: str) -> None:
    _incidents(database, 5)
    seen: list[int] = []
    args = ["incidents", "list", "--limit", "2", "--json"]
    cursor: str | None = None
    for _ in range(5):
        result = run(*args, *(["--cursor", cursor] if cursor else []))
        seen.extend(i["id"] for i in json.loads(result.stdout))
        lines = [line for line in result.stderr.splitlines() if line.startswith("next page:")]
        cursor = lines[0].split("--cursor ", 1)[1] if lines else None
        if cursor is None:
            break
    assert seen == [5, 4, 3, 2, 1]
    assert "cursor is not valid" in run("incidents", "list", "--cursor", "junk", code=1).output


def test_ack_resolve_many_notes_and_audit(database: str) -> None:
    _incidents(database, 3)
    assert "no incident with id 9" in run("incidents", "ack", "1", "9", code=1).output
    out = run("incidents", "ack", "1", "2").output
    assert "Incident 1 acknowledged." in out and "Incident 2 acknowledged." in out
    assert "Incident 2 unchanged: it is acknowledged." in run("incidents", "ack", "2").output
    assert "resolved" in run("incidents", "resolve", "2", "3").output
    assert "Note 1 added to incident 1." in run("incidents", "note", "1", "paged the DBA").output
    run("incidents", "note", "1", "   ", code=1)
    run("tokens", "create", "--name", "ci")
    events = json.loads(run("audit", "list", "--json").output)
    assert [(e["action"], e["object_id"], e["actor"]) for e in events][:6] == [
        ("token.create", 1, "cli"),
        ("incident.note", 1, "cli"),
        ("incident.resolve", 3, "cli"),
        ("incident.resolve", 2, "cli"),
        ("incident.acknowledge", 2, "cli"),
        ("incident.acknowledge", 1, "cli"),
    ]
    assert events[-1]["action"] == "integration.create"
    assert "incident.note" in run("audit", "list").output

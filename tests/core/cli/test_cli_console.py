"""The console's everyday CLI: incidents paged by cursor, ack/resolve many, notes, audit."""

from __future__ import annotations

import json

from alertgate.storage.database import make_engine
from tests.console_support import ingest, trigger
from tests.core.cli.test_server_cli import database, run

__all__ = ["database"]  # the autouse fixture: a fresh database per test


def _incidents(url: str, count: int) -> None:
    run("services", "create", "web")
    created = json.loads(
        run("integrations", "create", "--service", "web", "--type", "aws_sns", "--json").output
    )
    alerts = (trigger(n, f"f{n}", f"Alarm {n}") for n in range(count))
    ingest(make_engine(url), created["id"], created["service_id"], alerts)


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


def test_services_update_and_delete(database: str) -> None:
    _incidents(database, 2)
    run("services", "create", "db")
    assert "already exists" in run("services", "update", "web", "--name", "db", code=1).output
    out = json.loads(
        run(
            "services", "update", "web", "--name", "payments", "--description", "x", "--json"
        ).output
    )
    assert (out["name"], out["description"]) == ("payments", "x")
    refused = run("services", "delete", "payments", code=1)  # no input: not confirmed
    assert "1 integration(s) (their URLs stop working), 2 incident(s) (2 open)" in refused.output
    assert "Aborted" in refused.output
    run("services", "delete", "payments", "--yes")
    names = [s["name"] for s in json.loads(run("services", "list", "--json").output)]
    assert names == ["db"]
    assert json.loads(run("incidents", "list", "--json").output) == []
    events = json.loads(run("audit", "list", "--json").output)
    assert [(e["action"], e["object_id"]) for e in events][:2] == [
        ("service.delete", 1),
        ("service.update", 1),
    ]
    assert events[0]["detail"]["incidents_deleted"] == 2
    assert events[1]["detail"] == {"name": "payments", "description_changed": True}


def test_integrations_delete_keeps_incidents(database: str) -> None:
    _incidents(database, 2)
    refused = run("integrations", "delete", "1", code=1)  # no input: not confirmed
    assert "deletes its 2 alert(s); its 2 incident(s) (2 open) stay" in refused.output
    assert "Aborted" in refused.output
    assert "no integration with id 7" in run("integrations", "delete", "7", "--yes", code=1).output
    assert "Integration" in run("integrations", "delete", "1", "--yes").output
    assert json.loads(run("integrations", "list", "--json").output) == []
    assert len(json.loads(run("incidents", "list", "--json").output)) == 2
    event = json.loads(run("audit", "list", "--json").output)[0]
    assert (event["action"], event["object_id"], event["detail"]["alerts_deleted"]) == (
        "integration.delete",
        1,
        2,
    )

"""CLI groups on the configured database: tables, --json, exit codes, secrets shown once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from alertgate.server.keys import hash_secret
from alertgate.storage.database import make_engine, make_sessionmaker
from alertgate.storage.schema import ApiToken, Integration
from tests.cli_support import cli_database, run


@pytest.fixture(autouse=True)
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    yield from cli_database(tmp_path, monkeypatch)


def as_json(*args: str) -> Any:
    return json.loads(run(*args, "--json").output)


def test_fresh_database_is_migrated_and_default_org_created(database: str) -> None:
    assert (
        "Service 1 'payments' created in organization 'default'"
        in run("services", "create", "payments").output
    )
    listed = as_json("services", "list")
    assert [(s["name"], s["organization"]) for s in listed] == [("payments", "default")]
    table = run("services", "list").output.splitlines()
    assert table[0].split()[:3] == ["ID", "NAME", "ORGANIZATION"]
    assert "payments" in table[1]


def test_integration_url_is_printed_once_and_rotation_retires_it(database: str) -> None:
    run("services", "create", "payments")
    out = run(
        "integrations", "create", "--service", "payments", "--type", "aws_cloudtrail",
        "--name", "prod trail",
    ).output  # fmt: skip
    url = out.strip().splitlines()[-1]
    assert url.startswith("https://alertgate.example.com/integrations/agk_")
    key = url.rsplit("/", 1)[1]
    listing = run("integrations", "list").output
    assert key not in listing and key[:12] in listing
    assert key not in json.dumps(as_json("integrations", "show", "1"))

    rotated = as_json("integrations", "rotate-key", "1")
    assert rotated["key"] != key
    assert rotated["integration_url"].endswith(rotated["key"])
    engine = make_engine(database)
    with make_sessionmaker(engine)() as session:
        row = session.scalars(select(Integration)).one()
        assert row.key_hash == hash_secret(rotated["key"]) != hash_secret(key)
    engine.dispose()


def test_disable_and_enable(database: str) -> None:
    run("services", "create", "s")
    run("integrations", "create", "--service", "s", "--type", "aws_cloudwatch")
    assert "disabled" in run("integrations", "disable", "1").output
    assert as_json("integrations", "show", "1")["enabled"] is False
    run("integrations", "enable", "1")
    assert as_json("integrations", "show", "1")["enabled"] is True


def test_failures_exit_1_with_a_message_and_usage_errors_exit_2(database: str) -> None:
    run("services", "create", "payments")
    assert "already exists" in run("services", "create", "payments", code=1).output
    r = run("integrations", "create", "--service", "nope", "--type", "aws_cloudtrail", code=1)
    assert "no service named 'nope'" in r.output
    r = run("integrations", "create", "--service", "payments", "--type", "nope", code=1)
    assert "unknown integration type 'nope'" in r.output
    r = run(
        "integrations", "create", "--service", "payments", "--type", "aws_cloudtrail",
        "--settings", '{"quiet_period_minutes": -5}', code=1,
    )  # fmt: skip
    assert "invalid settings" in r.output
    assert "no incident with id 42" in run("incidents", "show", "42", code=1).output
    assert "no incident with id 42" in run("incidents", "ack", "42", code=1).output
    assert "no integration with id 9" in run("integrations", "rotate-key", "9", code=1).output
    run("incidents", "list", "--status", "bogus", code=2)
    run("integrations", "create", "--service", "payments", code=2)
    run("services", "create", code=2)


def test_same_service_name_in_two_orgs_needs_org(database: str) -> None:
    run("services", "create", "api", "--org", "alpha")
    run("services", "create", "api", "--org", "beta")
    r = run("integrations", "create", "--service", "api", "--type", "aws_cloudtrail", code=1)
    assert "pass --org" in r.output
    created = as_json(
        "integrations", "create", "--service", "api", "--type", "aws_cloudtrail", "--org", "beta"
    )
    services = {s["id"]: s["organization"] for s in as_json("services", "list")}
    assert services[created["service_id"]] == "beta"


def test_tokens_are_printed_once_and_stored_hashed(database: str) -> None:
    out = run("tokens", "create", "--org", "alpha", "--name", "ci").output
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("agt_") and len(secret) > 40
    listed = as_json("tokens", "list")
    assert [(t["name"], t["organization"]) for t in listed] == [("ci", "alpha")]
    assert secret not in json.dumps(listed)
    engine = make_engine(database)
    with make_sessionmaker(engine)() as session:
        assert session.scalars(select(ApiToken)).one().token_hash == hash_secret(secret)
    engine.dispose()
    run("tokens", "revoke", str(listed[0]["id"]))
    assert as_json("tokens", "list")[0]["revoked_at"] is not None


def test_incidents_list_empty_table(database: str) -> None:
    assert "(none)" in run("incidents", "list").output
    assert as_json("incidents", "list") == []

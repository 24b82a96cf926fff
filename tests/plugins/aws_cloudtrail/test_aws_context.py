"""AWS context on alerts: account names in titles, console links to the CloudTrail record."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from alertgate.engine import IngestEngine
from alertgate.plugins.aws_cloudtrail.events import event_links
from alertgate.registry import load_plugins
from alertgate.server import admin
from alertgate.server.testalert import send_test_alert
from alertgate.settings import Settings
from alertgate.storage.database import make_sessionmaker
from alertgate.storage.schema import Alert as AlertRow
from tests.server_helpers import migrated_database


def test_account_name_is_added_to_title_and_attributes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALERTGATE_SNS_CERT_DIR", raising=False)
    url, engine = migrated_database(tmp_path / "a.db")
    plugins = load_plugins()
    ingest = IngestEngine(engine, plugins)
    sessions = make_sessionmaker(engine)
    try:
        with sessions.begin() as s:
            service = admin.create_service(s, admin.ensure_organization(s), "sec")
            admin.create_integration(
                s, plugins, service, "aws_cloudtrail", None,
                {"account_names": {"123456789012": "prod"}},
            )  # fmt: skip
        with sessions() as s:
            integration = admin.get_integration(s, 1)
            result = send_test_alert(s, ingest, Settings(database_url=url), integration)
        assert result.outcomes[0]["title"].endswith("[prod]")
        with sessions() as s:
            row = s.scalars(select(AlertRow)).one()
            assert row.attributes["account_name"] == "prod"
            assert row.attributes["account"] == "123456789012"
    finally:
        ingest.close()
        engine.dispose()


def test_event_link_points_at_the_record_in_its_region() -> None:
    links = event_links({"region": "eu-west-1", "event_id": "a b/c"})
    assert links == {
        "cloudtrail_event": "https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home"
        "?region=eu-west-1#/events/a%20b%2Fc"
    }
    assert event_links({"region": "evil.example.com/x", "event_id": "1"}) == {}
    assert event_links({"region": "us-east-1", "event_id": None}) == {}

"""aws_cloudwatch end to end below HTTP: signed SNS deliveries → plugins → engine → incidents.

Real alarm messages (the rheoceros fixtures) are re-published in envelopes signed by the
SNS test signer, verified by the real SNS layer, parsed by the plugin and applied by the
engine on SQLite and PostgreSQL: the guide's story of ALARM, repeat, redelivery and OK,
plus the orderings and accounts that must not merge or reopen anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from alertgate.engine import IngestEngine, Outcome
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.storage.schema import Incident
from tests.aws_cases import load
from tests.db_fixtures import Seeded, SeedFn
from tests.sns_story import SnsStory

TOPIC = "arn:aws:sns:us-east-1:427809481713:alertgate-payments"
ALARM = load("cloudwatch/message_metric_ALARM_cloudwatch_2021_metric_alarm_v1_lambda.json")
NAME = ALARM["AlarmName"]


def message(state: str, minute: int, account: str = "427809481713", **extra: Any) -> str:
    doc = dict(ALARM, NewStateValue=state, AWSAccountId=account, **extra)
    doc["AlarmArn"] = f"arn:aws:cloudwatch:us-east-1:{account}:alarm:{NAME}"
    doc["StateChangeTime"] = f"2026-03-01T12:{minute:02d}:00.000+0000"
    return json.dumps(doc)


class Story(SnsStory):
    def __init__(
        self, engine: IngestEngine, seeded: Seeded, signer: SnsSigner, settings: dict[str, Any]
    ) -> None:
        super().__init__(engine, seeded, signer, "aws_cloudwatch", TOPIC, settings)


@pytest.fixture
def story(
    db_engine: Engine, seed: SeedFn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    signer = SnsSigner(tmp_path / "certs", name="cloudwatch-story")
    monkeypatch.setenv("ALERTGATE_SNS_CERT_DIR", str(signer.directory))
    engine = IngestEngine(db_engine)

    def make(settings: dict[str, Any] | None = None) -> Story:
        return Story(engine, seed(), signer, settings or {})

    yield make
    engine.close()


def incidents(db_engine: Engine) -> list[tuple[str, str, str]]:
    with Session(db_engine) as session:
        rows = session.execute(
            select(Incident.fingerprint, Incident.status, Incident.title).order_by(Incident.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_alarm_repeat_redelivery_ok(story: Any, db_engine: Engine) -> None:
    s = story()
    body, first = s.publish(message("ALARM", 0))
    assert first == [Outcome.OPENED]
    assert s.state["sns"]["status"] == "confirmed"  # a verified notification proves it
    assert s.post(body) == [Outcome.DUPLICATE]  # SNS redelivery: same MessageId
    assert s.publish(message("ALARM", 5))[1] == [Outcome.ATTACHED]
    assert s.publish(message("INSUFFICIENT_DATA", 7))[1] == [Outcome.INFO]
    assert s.publish(message("OK", 10))[1] == [Outcome.RESOLVED]
    # SNS does not keep order: an ALARM older than the OK must not reopen anything; it
    # joins the resolved incident whose span contains it (issue 25)
    assert s.publish(message("ALARM", 8))[1] == [Outcome.LATE_ATTACHED]
    assert s.publish("deployment finished")[1] == [Outcome.INFO]
    arn = f"arn:aws:cloudwatch:us-east-1:427809481713:alarm:{NAME}"
    assert incidents(db_engine) == [(arn, "resolved", f'ALARM: "{NAME}" in us-east-1')]
    # a later ALARM opens a new incident; the resolved one stays resolved
    assert s.publish(message("ALARM", 20))[1] == [Outcome.OPENED]
    assert [status for _, status, _ in incidents(db_engine)] == ["resolved", "triggered"]


def test_same_alarm_name_in_two_accounts_is_two_incidents(story: Any, db_engine: Engine) -> None:
    s = story()
    assert s.publish(message("ALARM", 0))[1] == [Outcome.OPENED]
    # no AlarmArn at all in the second account: the fallback still separates the accounts
    other = json.loads(message("ALARM", 1, account="999988887777"))
    del other["AlarmArn"]
    assert s.publish(json.dumps(other))[1] == [Outcome.OPENED]
    assert s.publish(message("OK", 2, account="999988887777"))[1] == [Outcome.RESOLVED]
    assert sorted(status for _, status, _ in incidents(db_engine)) == ["resolved", "triggered"]


def test_insufficient_data_policy_trigger(story: Any, db_engine: Engine) -> None:
    s = story({"insufficient_data": "trigger"})
    assert s.publish(message("INSUFFICIENT_DATA", 0))[1] == [Outcome.OPENED]
    assert s.publish(message("ALARM", 1))[1] == [Outcome.ATTACHED]
    assert s.publish(message("OK", 2))[1] == [Outcome.RESOLVED]
    with Session(db_engine) as session:
        severity = session.execute(select(Incident.severity)).scalar_one()
    assert severity == "error"  # the ALARM raised the warning incident's severity

"""Soak: the SQLite file stays bounded while alerts keep arriving under retention.

A live server with a tiny retention period, applying it every fraction of a second,
receives rounds of signed alarms (each opened and resolved). After the first rounds the
file (with its write-ahead log) stops growing with the alerts: rows are deleted and the
pages go back to the file system. Without retention it would grow by every payload.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alertgate.plugins.aws_cloudtrail.demo import TOPIC_ARN, alarm_message
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.plugins.aws_sns.testing import sns_headers
from alertgate.server import admin
from alertgate.settings import get_settings
from alertgate.storage.database import make_sessionmaker
from alertgate.storage.schema import Alert, Incident
from tests.server_helpers import Live, live_server

ROUNDS = 8
ALARMS_PER_ROUND = 120
RETENTION_DAYS = 1 / 86400  # one second


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    monkeypatch.setenv("ALERTGATE_SNS_CERT_DIR", str(tmp_path / "certs"))
    get_settings.cache_clear()
    with live_server(
        tmp_path, retention_days=RETENTION_DAYS, retention_interval_seconds=0.3
    ) as server:
        yield server
    get_settings.cache_clear()


def _file_bytes(db: Path) -> int:
    wal = db.with_name(db.name + "-wal")
    return db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _alerts_left(live: Live) -> int:
    with Session(live.engine) as s:
        return s.scalar(select(func.count()).select_from(Alert)) or 0


@pytest.mark.slow
def test_sqlite_file_stays_bounded_under_retention(live: Live, tmp_path: Path) -> None:
    with make_sessionmaker(live.engine).begin() as s:
        service = admin.create_service(s, admin.ensure_organization(s), "soak")
        keyed = admin.create_integration(
            s, live.app.state.alertgate.plugins, service, "aws_cloudwatch"
        )
        url = f"{live.base_url}/integrations/{keyed.key}"
    signer = SnsSigner(tmp_path / "certs", name=f"soak-{uuid.uuid4().hex}")
    sizes: list[int] = []
    sent_bytes: list[int] = []
    with httpx.Client(timeout=60) as client:
        for round_ in range(ROUNDS):
            sent = 0
            for i in range(ALARMS_PER_ROUND):
                name = f"soak-{round_}-{i}"
                for state, previous in (("ALARM", "OK"), ("OK", "ALARM")):
                    alarm = json.loads(alarm_message(state, previous, datetime.now(UTC)))
                    alarm["AlarmName"] = name
                    alarm["AlarmArn"] = alarm["AlarmArn"].rsplit(":", 1)[0] + ":" + name
                    alarm["AlarmDescription"] = "padding " * 400  # ~3 KB a message
                    doc = signer.notification(json.dumps(alarm), topic_arn=TOPIC_ARN)
                    body = json.dumps(doc)
                    sent += len(body)
                    answer = client.post(url, content=body, headers=sns_headers(doc))
                    assert answer.status_code == 200, answer.text
            sent_bytes.append(sent)
            # Retention runs every 0.3 s on alerts older than a second: wait (bounded)
            # until this round's alerts are gone, then measure.
            deadline = time.monotonic() + 60
            while _alerts_left(live) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _alerts_left(live) == 0, "retention did not delete the resolved alerts"
            time.sleep(0.7)  # one more run: its incremental vacuum and checkpoint
            sizes.append(_file_bytes(tmp_path / "alertgate.db"))
    with Session(live.engine) as s:
        incidents = s.scalars(select(Incident.alert_count)).all()
    # Every incident stays, with its count, though its alert rows are gone.
    assert len(incidents) == ROUNDS * ALARMS_PER_ROUND and set(incidents) == {1}
    later = sum(sent_bytes[2:])
    growth = sizes[-1] - sizes[1]
    print(f"file sizes per round: {sizes}; bytes sent after round 2: {later}")
    # Without retention the file grows by at least the payloads stored (~2x what was sent
    # after round 2, payload and parsed fields); with it, only incidents grow.
    assert growth < later * 0.25, (sizes, later)

"""Send a test alert to an integration: the plugin's sample delivery (``alertgate_test_delivery``)
through the same parse, fingerprint and classify hooks as a real one, marked as a test.

Shared by ``alertgate integrations test`` and ``POST /api/v1/integrations/{id}/test``. The
sample is parsed in a plugin context of its own (the process's environment plus what the
sample says to trust), so trusting a test signer never reaches real deliveries.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from alertgate.engine import IngestEngine
from alertgate.engine.types import Delivery
from alertgate.models import InboundRequest, ParseContext
from alertgate.registry import Plugins, load_plugins
from alertgate.server.admin import InvalidInput
from alertgate.settings import Settings
from alertgate.storage.schema import Incident, Integration

TEST_PREFIX = "[test] "


@dataclass(frozen=True)
class TestAlertResult:
    """What the test alert did: one row per alert, and the incidents it touched."""

    __test__ = False  # not a pytest class

    integration_id: int
    outcomes: list[dict[str, Any]]
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"integration_id": self.integration_id, "note": self.note, "alerts": self.outcomes}


def _mark(alerts: list[Any]) -> None:
    for alert in alerts:
        alert.attributes["test"] = True
        if not alert.title.startswith(TEST_PREFIX):
            alert.title = TEST_PREFIX + alert.title
        alert.fingerprint = f"test:{alert.fingerprint}"
        alert.dedupe_key = None


def send_test_alert(
    session: Session,
    engine: IngestEngine,
    settings: Settings,
    integration: Integration,
    now: datetime | None = None,
) -> TestAlertResult:
    """Parse the integration type's sample delivery and ingest it, marked as a test.

    :raises InvalidInput: no installed plugin provides a test alert for the type, or the
        plugin's own parser refused it.
    """
    now = now or datetime.now(UTC)
    registry = engine.plugins or load_plugins()
    type_settings = registry.validate_settings(integration.type, integration.settings)
    with tempfile.TemporaryDirectory(prefix="alertgate-test-") as workdir:
        state = dict(integration.state or {})
        sample = registry.test_delivery(integration.type, type_settings, state, Path(workdir), now)
        if sample is None:
            raise InvalidInput(
                "no_test_alert", f"no plugin provides a test alert for {integration.type!r}"
            )
        # A context of its own: the sample's trust (e.g. its signer) stays out of the
        # process's plugin context, and the registry's configured context is left alone.
        plugins = Plugins(registry.pm, registry.infos)
        context = plugins.configure(settings, {**os.environ, **sample.environ})
        request = InboundRequest(
            body=sample.body,
            headers={k.lower(): v for k, v in sample.headers.items()},
            content_type=sample.headers.get("content-type", ""),
        )
        parse_context = ParseContext(
            integration_id=integration.id,
            integration_type=integration.type,
            settings=type_settings,
            state=state,
            plugin_context=context,
        )
        try:
            result = plugins.parse(parse_context, request)
        except Exception as exc:
            code = getattr(exc, "code", type(exc).__name__)
            raise InvalidInput("test_alert_refused", f"the test alert was refused: {code}") from exc
    alerts = list(result.alerts)
    _mark(alerts)
    # A test changes no integration state (subscription status, pinned topic).
    report = engine.ingest(
        Delivery(
            integration_id=integration.id,
            service_id=integration.service_id,
            alerts=alerts,
            received_at=now,
        )
    )
    rows = []
    for alert, outcome in zip(alerts, report.outcomes, strict=True):
        row: dict[str, Any] = {
            "title": alert.title,
            "outcome": str(outcome.outcome),
            "alert_id": outcome.alert_id,
            "incident": None,
        }
        if outcome.incident_id is not None:
            session.expire_all()
            incident = session.get(Incident, outcome.incident_id)
            if incident is not None:
                row["incident"] = {
                    "id": incident.id,
                    "title": incident.title,
                    "status": str(incident.status),
                    "severity": str(incident.severity),
                    "fingerprint": incident.fingerprint,
                }
        rows.append(row)
    return TestAlertResult(integration.id, rows, result.note)


__all__ = ["TEST_PREFIX", "TestAlertResult", "send_test_alert"]

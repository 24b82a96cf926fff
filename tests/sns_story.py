"""One integration's delivery story below HTTP: signed SNS body → plugins → engine.

Shared by the per-integration incident tests so each tells only its own story.
"""

from __future__ import annotations

from typing import Any

from alertgate.engine import Delivery, IngestEngine, Outcome
from alertgate.models import InboundRequest, ParseContext
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.registry import load_plugins
from tests.db_fixtures import Seeded


class SnsStory:
    """Publishes signed notifications to one integration and applies them, keeping its
    SNS state between deliveries as the server does."""

    def __init__(
        self,
        engine: IngestEngine,
        seeded: Seeded,
        signer: SnsSigner,
        slug: str,
        topic_arn: str,
        settings: dict[str, Any] | None = None,
    ) -> None:
        self.engine = engine
        self.seeded = seeded
        self.signer = signer
        self.slug = slug
        self.topic_arn = topic_arn
        self.plugins = load_plugins()
        self.settings = self.plugins.validate_settings(slug, settings or {})
        self.state: dict[str, Any] = {}

    def post(self, body: bytes) -> list[Outcome]:
        context = ParseContext(self.seeded.integration_id, self.slug, self.settings, self.state)
        result = self.plugins.parse(context, InboundRequest(body, {}, "text/plain"))
        self.state.update(result.state_updates)
        report = self.engine.ingest(
            Delivery(
                integration_id=self.seeded.integration_id,
                service_id=self.seeded.service_id,
                alerts=result.alerts,
                state_updates=result.state_updates,
            )
        )
        return [o.outcome for o in report.outcomes]

    def publish(self, message: str, message_id: str | None = None) -> tuple[bytes, list[Outcome]]:
        body = self.signer.body(
            self.signer.notification(message, topic_arn=self.topic_arn, message_id=message_id)
        )
        return body, self.post(body)

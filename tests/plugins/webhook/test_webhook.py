"""The webhook channel: signed JSON matching the shipped schema, delivered for real."""

from __future__ import annotations

import hashlib
import hmac
import json

import jsonschema
from sqlalchemy import Engine

from alertgate.plugins.webhook import SCHEMA_PATH
from alertgate.registry import load_plugins
from tests.db_fixtures import SeedFn
from tests.notify_support import http_receiver, run_story


def test_webhook_bodies_are_signed_and_match_the_schema(db_engine: Engine, seed: SeedFn) -> None:
    ids = seed()
    schema = json.loads(SCHEMA_PATH.read_text())
    with http_receiver() as receiver:
        settings = {"url": f"{receiver.url}/in", "secret": "k"}
        run_story(
            db_engine, load_plugins(), ids.service_id, ids.integration_id, "webhook", settings
        )
        got = receiver.received
    assert [r.json()["event"] for r in got] == ["opened", "acknowledged", "resolved"]
    for r in got:
        jsonschema.validate(r.json(), schema)
        digest = hmac.new(b"k", r.body, hashlib.sha256).hexdigest()
        assert r.headers["x-alertgate-signature"] == f"sha256={digest}"
        assert r.headers["x-alertgate-idempotency-key"].startswith("ag-")
        assert r.headers["content-type"] == "application/json"
    assert "ack_url" in got[0].json() and "ack_url" in got[1].json()


def test_webhook_refuses_non_http_urls() -> None:
    plugins = load_plugins()
    model = plugins.get_channel_type("webhook").settings_model
    for bad in ("file:///etc/passwd", "ftp://x/", "http://user:pw@host/", "http:///nohost"):
        try:
            model.model_validate({"url": bad})
        except ValueError:
            continue
        raise AssertionError(f"{bad} was accepted")

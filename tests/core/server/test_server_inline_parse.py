"""Parsing on the event loop (``IntegrationType.parses_inline``) and the way out to a thread."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from alertgate.blocking import WouldBlock, before_blocking_io, running_inline
from alertgate.models import InboundRequest, ParseContext
from alertgate.plugins.aws_cloudtrail.demo import TOPIC_ARN, alarm_message
from alertgate.plugins.aws_sns.models import SnsSettings
from alertgate.plugins.aws_sns.receive import receive
from alertgate.plugins.aws_sns.runtime import SnsRuntime
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.registry import load_plugins
from alertgate.server.ingest import IngestEndpoint
from tests.conftest import InstallPlugin

PROBE_PLUGIN = """
import threading
from datetime import UTC, datetime
from pydantic import BaseModel
from alertgate import hookimpl
from alertgate.blocking import before_blocking_io
from alertgate.models import Alert, IntegrationType, ParseResult

CALLS = []

class Settings(BaseModel):
    pass

@hookimpl
def alertgate_integration_types():
    return [
        IntegrationType(slug="probe_inline", title="t", description="d", docs_url="",
                        settings_model=Settings, parses_inline=True),
        IntegrationType(slug="probe_thread", title="t", description="d", docs_url="",
                        settings_model=Settings),
    ]

@hookimpl
def alertgate_parse_request(integration_type, request, context):
    if not integration_type.startswith("probe_"):
        return None
    thread = threading.current_thread().name
    try:
        if request.body == b"needs-io":
            before_blocking_io("a download")
    except BaseException:
        CALLS.append((thread, "would block"))
        raise
    CALLS.append((thread, "parsed"))
    return ParseResult(alerts=[Alert(title=thread, source_time=datetime.now(UTC), fingerprint="f")])
"""


def test_before_blocking_io_raises_only_while_inline() -> None:
    before_blocking_io("outside")  # a worker thread, the CLI, tests: nothing happens
    with pytest.raises(WouldBlock), running_inline():
        before_blocking_io("inside")
    before_blocking_io("after")  # the mark does not outlive the parse, even on error


@pytest.fixture
def probe(install_plugin: InstallPlugin) -> tuple[IngestEndpoint, list[Any]]:
    install_plugin("inline_probe", PROBE_PLUGIN)
    import inline_probe  # type: ignore[import-not-found]

    endpoint = IngestEndpoint(
        sessions=None,  # type: ignore[arg-type]  # _parse touches neither
        plugins=load_plugins(disabled=()),
        engine=None,  # type: ignore[arg-type]
        cache=None,  # type: ignore[arg-type]
        max_body_bytes=1000,
    )
    endpoint.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parse")
    return endpoint, inline_probe.CALLS


def _parse(endpoint: IngestEndpoint, slug: str, body: bytes) -> str:
    context = ParseContext(integration_id=1, integration_type=slug, settings=None)  # type: ignore[arg-type]
    result = asyncio.run(endpoint._parse(context, InboundRequest(body=body, headers={})))
    return result.alerts[0].title


def test_inline_type_parses_on_the_event_loop(probe: tuple[IngestEndpoint, list[Any]]) -> None:
    endpoint, calls = probe
    loop_thread = threading.current_thread().name
    assert _parse(endpoint, "probe_inline", b"{}") == loop_thread
    assert calls == [(loop_thread, "parsed")]


def test_inline_parse_that_needs_io_runs_again_in_a_thread(
    probe: tuple[IngestEndpoint, list[Any]],
) -> None:
    endpoint, calls = probe
    loop_thread = threading.current_thread().name
    assert _parse(endpoint, "probe_inline", b"needs-io") == "parse_0"
    assert calls == [(loop_thread, "would block"), ("parse_0", "parsed")]


def test_other_types_parse_in_the_pool(probe: tuple[IngestEndpoint, list[Any]]) -> None:
    endpoint, calls = probe
    assert _parse(endpoint, "probe_thread", b"needs-io") == "parse_0"
    assert calls == [("parse_0", "parsed")]


def test_builtin_aws_types_parse_inline() -> None:
    plugins = load_plugins(disabled=())
    for slug in ("aws_cloudwatch", "aws_cloudtrail", "aws_sns"):
        assert plugins.types[slug].type.parses_inline, slug


def test_sns_certificate_miss_would_block_before_any_request(tmp_path: Path) -> None:
    signer = SnsSigner(tmp_path, name="inline")
    doc = signer.notification(alarm_message("ALARM", "OK", datetime.now(UTC)), topic_arn=TOPIC_ARN)
    request = InboundRequest(body=SnsSigner.body(doc), headers={})
    context = ParseContext(integration_id=1, integration_type="aws_sns", settings=SnsSettings())
    runtime = SnsRuntime.create(cert_dir=tmp_path)
    with pytest.raises(WouldBlock), running_inline():
        receive(request, context, SnsSettings(), runtime=runtime)
    assert len(runtime.certs) == 0 and runtime.certs.fetches == 0
    receive(request, context, SnsSettings(), runtime=runtime)  # in a thread: loads it
    assert len(runtime.certs) == 1
    with running_inline():  # now cached: verified right on the event loop
        notification = receive(request, context, SnsSettings(), runtime=runtime)
    assert notification.message_id == doc["MessageId"]  # type: ignore[union-attr]

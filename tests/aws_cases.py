"""Shared harness for the AWS alarm parsing tests: build a delivery, run the real plugins.

A :class:`Case` names a payload under ``tests/fixtures/aws`` and how it is delivered:

* ``"sns"``: the file is an SNS HTTP envelope, posted as is;
* ``"lambda"``: the file is a Lambda SNS event; its ``Records[0].Sns`` is the envelope;
* ``"wrap"``: the file is a bare message (alarm JSON, EventBridge event), wrapped in an
  unsigned SNS envelope, as SNS delivers it;
* ``"raw"``: the file is posted as is, to an integration with raw message delivery
  (an EventBridge API destination, or an SNS subscription with raw delivery on).

``patch`` sets (or, with ``None``, deletes) top-level keys of the alarm message before
delivery, so one real payload yields the variants AWS produces.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.models import InboundRequest, ParseContext, ParseResult
from core.plugins import Plugins, load_plugins

AWS_FIXTURES = Path(__file__).parent / "fixtures" / "aws"

DEFAULT_TOPIC = "arn:aws:sns:us-east-1:123456789012:alertgate-alarms"

_plugins: Plugins | None = None


def plugins() -> Plugins:
    global _plugins
    if _plugins is None:
        _plugins = load_plugins()
    return _plugins


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    action: str
    fingerprint: str
    title: str
    delivery: str = "sns"
    patch: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    severity: str | None = None
    slug: str = "aws_cloudwatch"


def load(source: str) -> Any:
    return json.loads((AWS_FIXTURES / source).read_text())


def envelope(
    message: Any, *, message_id: str = "0f0e0d0c-aaaa-5bbb-8ccc-000000000001", **extra: Any
) -> dict[str, Any]:
    """An SNS HTTP Notification around ``message`` (unsigned: verification is off)."""
    doc = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": DEFAULT_TOPIC,
        "Subject": None,
        "Message": message if isinstance(message, str) else json.dumps(message),
        "Timestamp": "2024-03-04T10:10:12.500Z",
        "SignatureVersion": "1",
        "Signature": "",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    }
    doc.update(extra)
    return doc


def _patched(message: Any, patch: dict[str, Any]) -> Any:
    if not patch:
        return message
    doc = copy.deepcopy(message)
    for key, value in patch.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def body_of(case: Case) -> tuple[bytes, dict[str, Any]]:
    """The HTTP body of a case and the settings overrides its delivery needs."""
    doc = load(case.source)
    settings: dict[str, Any] = {"verify_signatures": False}
    if case.delivery == "lambda":
        doc = doc["Records"][0]["Sns"]
    if case.delivery in ("sns", "lambda"):
        if case.patch:
            doc = dict(doc, Message=json.dumps(_patched(json.loads(doc["Message"]), case.patch)))
        return json.dumps(doc).encode(), settings
    doc = _patched(doc, case.patch)
    if case.delivery == "wrap":
        return json.dumps(envelope(doc)).encode(), settings
    if case.delivery == "raw":
        settings["raw_message_delivery"] = True
        return json.dumps(doc).encode(), settings
    raise ValueError(f"unknown delivery {case.delivery!r}")


def deliver(
    body: bytes | str,
    *,
    slug: str = "aws_cloudwatch",
    settings: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> ParseResult:
    """Run one delivery through ``Plugins.parse`` (parse, fingerprint, classify)."""
    p = plugins()
    merged = {"verify_signatures": False, **(settings or {})}
    context = ParseContext(
        integration_id=1,
        integration_type=slug,
        settings=p.validate_settings(slug, merged),
    )
    raw = body.encode() if isinstance(body, str) else body
    request = InboundRequest(body=raw, headers=headers or {}, content_type="text/plain")
    return p.parse(context, request)


def run_case(case: Case) -> ParseResult:
    body, settings = body_of(case)
    return deliver(body, slug=case.slug, settings={**settings, **case.settings})

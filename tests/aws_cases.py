"""Shared harness for the AWS alarm parsing tests: build a delivery, run the real plugins.

A :class:`Case` names a payload under ``tests/fixtures/aws`` and how it is delivered:

* ``"sns"``: the file is an SNS HTTP envelope, posted as is;
* ``"lambda"``: the file is a Lambda SNS event; its ``Records[0].Sns`` is the envelope;
* ``"wrap"``: the file is a bare message (alarm JSON, EventBridge event), wrapped in an
  unsigned SNS envelope, as SNS delivers it;
* ``"direct"``: the file is posted as is by an EventBridge API destination, to an
  integration that accepts direct posts (with its shared secret);
* ``"raw"``: the file is posted as is by SNS with raw message delivery on (headers only).

``patch`` sets (or, with ``None``, deletes) top-level keys of the alarm message before
delivery, so one real payload yields the variants AWS produces.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alertgate.models import InboundRequest, ParseContext, ParseResult
from alertgate.registry import Plugins, load_plugins

AWS_FIXTURES = Path(__file__).parent / "fixtures" / "aws"

DEFAULT_TOPIC = "arn:aws:sns:us-east-1:123456789012:alertgate-alarms"
SECRET = "s3cret-for-tests"
SECRET_SHA256 = hashlib.sha256(SECRET.encode()).hexdigest()
# The fixtures are years old: the replay window (a separate SNS check) is off in tests.
OFFLINE = {"verify_signatures": False, "max_message_age_seconds": 0}

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


def body_of(case: Case) -> tuple[bytes, dict[str, Any], dict[str, str]]:
    """The HTTP body of a case, the settings overrides and headers its delivery needs."""
    doc = load(case.source)
    settings: dict[str, Any] = dict(OFFLINE)
    if case.delivery == "lambda":
        doc = dict(doc["Records"][0]["Sns"])
        if doc.get("TopicArn") == "arn:aws:sns:EXAMPLE":
            # AWS's template uses a placeholder the SNS layer rightly rejects.
            doc["TopicArn"] = DEFAULT_TOPIC
    if case.delivery in ("sns", "lambda"):
        if case.patch:
            doc = dict(doc, Message=json.dumps(_patched(json.loads(doc["Message"]), case.patch)))
        return json.dumps(doc).encode(), settings, {}
    doc = _patched(doc, case.patch)
    if case.delivery == "wrap":
        return json.dumps(envelope(doc)).encode(), settings, {}
    settings["shared_secret_sha256"] = SECRET_SHA256
    if case.delivery == "direct":
        settings["accept_direct_posts"] = True
        return json.dumps(doc).encode(), settings, {"x-alertgate-key": SECRET}
    if case.delivery == "raw":
        settings["raw_message_delivery"] = True
        headers = {
            "x-alertgate-key": SECRET,
            "x-amz-sns-message-type": "Notification",
            "x-amz-sns-message-id": "2b5a7c3e-1111-5222-8333-444455556666",
            "x-amz-sns-topic-arn": DEFAULT_TOPIC,
        }
        return json.dumps(doc).encode(), settings, headers
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
    merged = {**OFFLINE, **(settings or {})}
    context = ParseContext(
        integration_id=1,
        integration_type=slug,
        settings=p.validate_settings(slug, merged),
    )
    raw = body.encode() if isinstance(body, str) else body
    request = InboundRequest(body=raw, headers=headers or {}, content_type="text/plain")
    return p.parse(context, request)


def run_case(case: Case) -> ParseResult:
    body, settings, headers = body_of(case)
    return deliver(body, slug=case.slug, settings={**settings, **case.settings}, headers=headers)

"""Amazon SNS delivery, shared by every AWS integration: envelope, signature, confirmation.

The public interface other plugins use is :func:`receive`, :class:`SnsSettings` (their
settings models inherit it) and :class:`SnsNotification`. The pieces live in small modules:

- :mod:`.envelope` — JSON envelope parsing (HTTP and Lambda casing, ``"Subject": null``)
- :mod:`.urls` — SigningCertURL / SubscribeURL allow-list, ``AWS_ENDPOINT_URL_SNS`` mapping
- :mod:`.certs` — certificate folder, fetch and bounded TTL cache
- :mod:`.signature` — string to sign, SignatureVersion 1 and 2, certificate validity
- :mod:`.verify` — the verification pipeline and the freshness (replay) window
- :mod:`.confirm` — the confirmation GET
- :mod:`.topics` — topic allow-list and pinning
- :mod:`.unsigned` — shared-secret auth for raw message delivery and direct posts
- :mod:`.hooks` — the parse-hook shape every SNS-fed type shares (`parse_sns_delivery`)
- :mod:`.signer` — a signer for tests, the demo and the benchmark
- :mod:`.integration` — the generic ``aws_sns`` integration type (hook implementations
  re-exported here, since this package is the ``aws_sns`` entry point)

See docs/sns.md.
"""

from __future__ import annotations

from alertgate.plugins.aws_sns.integration import (
    alertgate_classify,
    alertgate_fingerprint,
    alertgate_integration_types,
    alertgate_parse_request,
)
from alertgate.plugins.aws_sns.models import SnsNotification, SnsSettings
from alertgate.plugins.aws_sns.receive import STATE_KEY, receive
from alertgate.plugins.aws_sns.runtime import SnsRuntime, get_runtime, set_runtime

__all__ = [
    "STATE_KEY",
    "SnsNotification",
    "SnsRuntime",
    "SnsSettings",
    "alertgate_classify",
    "alertgate_fingerprint",
    "alertgate_integration_types",
    "alertgate_parse_request",
    "get_runtime",
    "receive",
    "set_runtime",
]

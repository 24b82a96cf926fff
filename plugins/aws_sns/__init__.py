"""Amazon SNS delivery, shared by every AWS integration: envelope, signature, confirmation.

The public interface other plugins use is :class:`SnsFedType` (the hooks of an SNS-fed
integration type, written once), :func:`receive`, :class:`SnsSettings` (their settings
models inherit it) and :class:`SnsNotification`. The pieces live in small modules:

- :mod:`.envelope` — JSON envelope parsing (HTTP and Lambda casing, ``"Subject": null``)
- :mod:`.urls` — SigningCertURL / SubscribeURL allow-list, ``AWS_ENDPOINT_URL_SNS`` mapping
- :mod:`.certs` — certificate folder, fetch and bounded TTL cache
- :mod:`.signature` — string to sign, SignatureVersion 1 and 2, certificate validity
- :mod:`.verify` — the verification pipeline and the freshness (replay) window
- :mod:`.confirm` — the confirmation GET
- :mod:`.topics` — topic allow-list and pinning
- :mod:`.unsigned` — shared-secret auth for raw message delivery and direct posts
- :mod:`.settings` — the process settings (``ALERTGATE_SNS_*``)
- :mod:`.runtime` — the process's certificate store and HTTP client, in the plugin context
- :mod:`.state` — the recorded subscription state, described for the UI and the API
- :mod:`.eventbridge` — EventBridge events delivered through SNS (GuardDuty, Security Hub, Health)
- :mod:`.recorded` — a message a type does not recognise, recorded as one `info` alert
- :mod:`.hooks` — :class:`SnsFedType`, the hooks every SNS-fed type shares
- :mod:`.signer` — a signer for tests, the demo and the benchmark
- :mod:`.cli` — ``alertgate sns verify``
- :mod:`.integration` — the generic ``aws_sns`` integration type

This package is the ``aws_sns`` entry point: its hook implementations are below.
See docs/sns.md.
"""

from __future__ import annotations

import click
from pydantic import BaseModel

from alertgate import hookimpl
from alertgate.context import PluginContext
from alertgate.plugins.aws_sns import runtime
from alertgate.plugins.aws_sns.cli import sns
from alertgate.plugins.aws_sns.hooks import SnsFedType
from alertgate.plugins.aws_sns.integration import SNS_MESSAGE
from alertgate.plugins.aws_sns.models import SnsNotification, SnsSettings
from alertgate.plugins.aws_sns.receive import receive
from alertgate.plugins.aws_sns.runtime import SnsRuntime
from alertgate.plugins.aws_sns.settings import SnsProcessSettings
from alertgate.plugins.aws_sns.state import STATE_KEY

alertgate_integration_types = SNS_MESSAGE.integration_types
alertgate_parse_request = SNS_MESSAGE.parse_request
alertgate_fingerprint = SNS_MESSAGE.fingerprint
alertgate_classify = SNS_MESSAGE.classify
alertgate_describe_state = SNS_MESSAGE.describe_state
alertgate_integration_actions = SNS_MESSAGE.integration_actions
alertgate_run_integration_action = SNS_MESSAGE.run_integration_action
alertgate_periodic_check = SNS_MESSAGE.periodic_check


@hookimpl(trylast=True)
def alertgate_settings_model() -> type[BaseModel]:
    return SnsProcessSettings


@hookimpl(trylast=True)
def alertgate_configure(context: PluginContext) -> None:
    runtime.configure(context)


@hookimpl(trylast=True)
def alertgate_register_commands(cli: click.Group) -> None:
    cli.add_command(sns)


__all__ = [
    "STATE_KEY",
    "SnsFedType",
    "SnsNotification",
    "SnsProcessSettings",
    "SnsRuntime",
    "SnsSettings",
    "receive",
]

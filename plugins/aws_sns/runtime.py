"""The SNS machinery of one process: the certificate store and HTTP client.

Built once, in ``alertgate_configure``, from the plugin context (``ALERTGATE_SNS_*``
through :class:`~alertgate.plugins.aws_sns.settings.SnsProcessSettings`, plus the AWS SDK's
``AWS_ENDPOINT_URL_SNS`` from the context's environment) and kept in the context's stash;
every delivery finds it through ``ParseContext.plugin_context``. Nothing here reads
``os.environ``: a test or the demo that wants another configuration builds another context.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from alertgate.context import PluginContext, StashKey
from alertgate.models import ParseContext
from alertgate.plugins.aws_sns.certs import CertificateStore, make_client
from alertgate.plugins.aws_sns.settings import ENDPOINT_ENV, SnsProcessSettings
from alertgate.plugins.aws_sns.urls import check_endpoint_url


@dataclass(slots=True)
class SnsRuntime:
    """What :func:`alertgate.plugins.aws_sns.receive` needs besides the request and the settings."""

    certs: CertificateStore
    client: httpx.Client
    endpoint_url: str | None = None

    @classmethod
    def create(
        cls,
        *,
        cert_dir: Path | str | None = None,
        endpoint_url: str | None = None,
        timeout: float = 5.0,
        cache_size: int = 64,
        cache_ttl_seconds: float = 3600.0,
    ) -> SnsRuntime:
        """Build a runtime explicitly (tests, ``alertgate sns verify``)."""
        endpoint = check_endpoint_url(endpoint_url) if endpoint_url else None
        client = make_client(timeout)
        certs = CertificateStore(
            cert_dir=Path(cert_dir) if cert_dir is not None else None,
            endpoint_url=endpoint,
            client=client,
            max_entries=cache_size,
            ttl_seconds=cache_ttl_seconds,
        )
        return cls(certs=certs, client=client, endpoint_url=endpoint)

    @classmethod
    def from_context(cls, context: PluginContext) -> SnsRuntime:
        """Build a runtime from the plugin context's settings and environment."""
        return cls.from_settings(context.settings_of(SnsProcessSettings), context.environ)

    @classmethod
    def from_settings(cls, settings: SnsProcessSettings, environ: Mapping[str, str]) -> SnsRuntime:
        """Build a runtime from settings and ``AWS_ENDPOINT_URL_SNS`` in ``environ``."""
        return cls.create(
            cert_dir=settings.cert_dir,
            endpoint_url=environ.get(ENDPOINT_ENV) or None,
            timeout=settings.http_timeout_seconds,
            cache_size=settings.cert_cache_size,
            cache_ttl_seconds=settings.cert_cache_ttl_seconds,
        )


RUNTIME: StashKey[SnsRuntime] = StashKey("aws_sns.runtime")
"""Where ``alertgate_configure`` keeps this process's :class:`SnsRuntime`."""


def configure(context: PluginContext) -> None:
    """Build the process's runtime into the context (the ``aws_sns`` configure hook)."""
    context.stash[RUNTIME] = SnsRuntime.from_context(context)


def runtime_of(context: ParseContext) -> SnsRuntime:
    """The runtime of the process a delivery is parsed in.

    :raises RuntimeError: The parse context carries no plugin context (a caller building
        ParseContext by hand must pass one, or call ``receive(..., runtime=...)``).
    """
    plugins = context.plugin_context
    if plugins is None:
        raise RuntimeError(
            "no plugin context: parse through alertgate.registry.Plugins.parse, or pass "
            "receive(..., runtime=SnsRuntime.create(...))"
        )
    return runtime_in(plugins)


def runtime_in(context: PluginContext) -> SnsRuntime:
    """The runtime kept in a plugin context, built there on first use if ``configure`` did
    not run (aws_sns disabled while a type built on it, aws_cloudwatch..., is not)."""
    runtime = context.stash.get(RUNTIME)
    if runtime is None:
        runtime = context.stash[RUNTIME] = SnsRuntime.from_context(context)
    return runtime

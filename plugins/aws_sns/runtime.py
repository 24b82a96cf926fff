"""Process-wide SNS machinery: the certificate store and HTTP client, built from settings.

Settings come from ``alertgate.settings.Settings`` (``ALERTGATE_SNS_*``) plus the AWS SDK's
``AWS_ENDPOINT_URL_SNS``. The runtime is rebuilt when one of those environment variables
changes, so a test that sets them gets a matching runtime; :func:`set_runtime` installs an
explicit one (e.g. a signer's certificate folder in the demo).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from alertgate.plugins.aws_sns.certs import CertificateStore, make_client
from alertgate.plugins.aws_sns.urls import check_endpoint_url
from alertgate.settings import Settings

ENDPOINT_ENV = "AWS_ENDPOINT_URL_SNS"
_ENV_KEYS = (
    ENDPOINT_ENV,
    "ALERTGATE_SNS_CERT_DIR",
    "ALERTGATE_SNS_HTTP_TIMEOUT_SECONDS",
    "ALERTGATE_SNS_CERT_CACHE_SIZE",
    "ALERTGATE_SNS_CERT_CACHE_TTL_SECONDS",
)


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
        """Build a runtime explicitly (tests, demo, ``alertgate sns verify``)."""
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
    def from_settings(
        cls, settings: Settings | None = None, environ: Mapping[str, str] | None = None
    ) -> SnsRuntime:
        """Build a runtime from ``ALERTGATE_SNS_*`` settings and ``AWS_ENDPOINT_URL_SNS``."""
        settings = settings or Settings()
        env = os.environ if environ is None else environ
        return cls.create(
            cert_dir=settings.sns_cert_dir,
            endpoint_url=env.get(ENDPOINT_ENV) or None,
            timeout=settings.sns_http_timeout_seconds,
            cache_size=settings.sns_cert_cache_size,
            cache_ttl_seconds=settings.sns_cert_cache_ttl_seconds,
        )


def _environment_key() -> tuple[object, ...]:
    """The values of ``_ENV_KEYS`` now, compared on every delivery.

    ``os.environ.get`` decodes keys and values in Python (~1 us each, 1 % of a delivery's
    CPU for five names). On POSIX, ``os.environ`` keeps every change in its ``_data`` dict
    of raw bytes, which is read here directly; elsewhere the public API is used.
    """
    if _RAW_ENVIRON is not None:
        return tuple(map(_RAW_ENVIRON.get, _RAW_ENV_KEYS))
    return tuple(os.environ.get(name) for name in _ENV_KEYS)


_RAW_ENVIRON: dict[bytes, bytes] | None = (
    os.environ._data  # type: ignore[attr-defined]
    if os.name == "posix" and isinstance(getattr(os.environ, "_data", None), dict)
    else None
)
_RAW_ENV_KEYS = tuple(os.fsencode(name) for name in _ENV_KEYS)
_lock = threading.Lock()
_override: SnsRuntime | None = None
_current: tuple[tuple[object, ...], SnsRuntime] | None = None


def get_runtime() -> SnsRuntime:
    """The runtime for this process (explicit one if set, else from the environment)."""
    global _current
    if _override is not None:
        return _override
    key = _environment_key()
    current = _current
    if current is not None and current[0] == key:
        return current[1]
    with _lock:
        if _current is None or _current[0] != key:
            _current = (key, SnsRuntime.from_settings())
        return _current[1]


def set_runtime(runtime: SnsRuntime | None) -> None:
    """Install an explicit runtime for this process (``None`` returns to the environment)."""
    global _override
    _override = runtime

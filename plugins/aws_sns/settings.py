"""Process settings of the SNS layer (``ALERTGATE_SNS_*``), declared to the core through
``alertgate_settings_model`` and listed in docs/configuration.md."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

CERT_DIR_ENV = "ALERTGATE_SNS_CERT_DIR"
"""Where a folder of trusted certificates is named (``SnsProcessSettings.cert_dir``)."""

ENDPOINT_ENV = "AWS_ENDPOINT_URL_SNS"
"""The AWS SDK's variable (no ``ALERTGATE_`` prefix), read from the plugin context's
environment."""


class SnsProcessSettings(BaseSettings):
    """How this process fetches and trusts SNS signing certificates."""

    model_config = SettingsConfigDict(env_prefix="ALERTGATE_SNS_", extra="ignore")

    cert_dir: Path | None = Field(
        None,
        description="Folder of SimpleNotificationService-*.pem certificates trusted for SNS "
        "signatures, looked up by the SigningCertURL's file name before any download "
        "(demo, tests, air-gapped setups).",
    )
    http_timeout_seconds: float = Field(
        5.0,
        gt=0,
        le=60,
        description="Timeout of SNS certificate downloads and subscription confirmations.",
    )
    cert_cache_size: int = Field(
        64, ge=1, le=10_000, description="SNS signing certificates kept in memory."
    )
    cert_cache_ttl_seconds: float = Field(
        3600.0, gt=0, description="How long a downloaded SNS certificate is reused."
    )

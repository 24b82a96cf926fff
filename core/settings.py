"""Process settings from ``ALERTGATE_*`` environment variables (pydantic-settings).

Every field is documented in docs/configuration.md; a test keeps the two in step. Plugins
declare their own settings (``alertgate_settings_model``, e.g. ``ALERTGATE_SNS_*``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MAX_BODY_BYTES = 512 * 1024
"""Twice the largest message Amazon SNS sends (256 KiB), so its JSON envelope (escaping,
signature, URLs) fits."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALERTGATE_", extra="ignore")

    database_url: str = Field(
        "sqlite:///./alertgate.db",
        description="SQLAlchemy URL of the database. SQLite file by default; "
        "PostgreSQL as postgresql+psycopg://user@host/db.",
    )
    retention_days: int | None = Field(
        None,
        ge=0,
        description="Days to keep alerts' raw payloads; `alertgate db prune` (run it daily, "
        "e.g. from cron) blanks older ones. Unset keeps them forever.",
    )
    public_url: str = Field(
        "http://127.0.0.1:8080",
        description="Base URL users and AWS reach this server at; Integration URLs are "
        "printed under it.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Key that signs the web UI's session cookies. Unset: a random key is "
        "generated once and kept in `secret_key_file`. Set it (the same on every host) "
        "when several hosts serve one database.",
    )
    secret_key_file: str = Field(
        "",
        description="Where the generated session key is kept (created with mode 0600). "
        "Empty: `<database file>.secret` beside a SQLite database, else "
        "`./alertgate.secret`.",
    )
    session_max_age_seconds: int = Field(
        12 * 3600,
        ge=60,
        le=30 * 24 * 3600,
        description="How long a web UI sign-in lasts.",
    )
    host: str = Field("127.0.0.1", description="Interface `alertgate serve` binds to.")
    port: int = Field(8080, ge=0, le=65535, description="TCP port `alertgate serve` listens on.")
    workers: int = Field(
        1, ge=1, le=64, description="Worker processes `alertgate serve` starts (uvicorn)."
    )
    max_body_bytes: int = Field(
        DEFAULT_MAX_BODY_BYTES,
        ge=1024,
        description="Largest request body accepted at an Integration URL, in bytes; larger "
        "deliveries get 413. Counted while reading, whatever Content-Length says.",
    )
    key_cache_seconds: float = Field(
        5.0,
        ge=0,
        description="How long a worker caches an Integration URL lookup. Rotating or "
        "disabling a key clears the cache of the worker that did it at once; other worker "
        "processes (and the CLI) may accept the old key for at most this long.",
    )
    auto_migrate: bool = Field(
        True,
        description="Apply database migrations when `alertgate serve` starts.",
    )
    sweep_interval_seconds: float = Field(
        60.0,
        ge=0,
        description="How often each server worker resolves incidents whose integration's "
        "quiet period has passed (0: never).",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log level of the server (one JSON line per delivery at info)."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()

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
    retention_days: float = Field(
        90,
        ge=0,
        description="Days to keep alerts: the server (and `alertgate db prune`) deletes older "
        "alerts of resolved incidents and older info/unattached alerts, and blanks older "
        "payloads; incidents and their counts stay. Fractions allowed; 0 keeps everything "
        "forever.",
    )
    retention_interval_seconds: float = Field(
        3600.0,
        ge=0,
        description="How often the server applies retention (one worker at a time across "
        "all processes on the database; 0: never, e.g. when cron runs `alertgate db prune`).",
    )
    rate_limit_per_minute: int = Field(
        60_000,
        ge=0,
        description="Deliveries a minute each Integration URL accepts per worker process "
        "before answering 429 (integrations may set their own); 0: unlimited.",
    )
    header_timeout_seconds: float = Field(
        10.0,
        gt=0,
        le=300,
        description="Time a client has to send a request's headers before the connection "
        "is closed.",
    )
    body_timeout_seconds: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="Time a client has to send a request's body once its headers arrived "
        "before the connection is closed.",
    )
    public_url: str = Field(
        "http://127.0.0.1:8080",
        description="Base URL users and AWS reach this server at; Integration URLs are "
        "printed under it.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Key that signs the web UI's session cookies and acknowledge links and "
        "encrypts notification channel secrets (Fernet: url-safe base64 of 32 random "
        "bytes, as `Fernet.generate_key()` makes; `alertgate demo` generates one). Unset: "
        "a random session key is generated once and kept in `secret_key_file`, and "
        "channels with secrets cannot be created. Set it (the same on every host) when "
        "several hosts serve one database.",
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
    periodic_check_interval_seconds: float = Field(
        60.0,
        ge=0,
        description="How often the server shows every enabled integration to its plugins' "
        "periodic checks, e.g. the AWS heartbeat check (one worker at a time across all "
        "processes on the database; 0: never).",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log level of the server (one JSON line per delivery at info)."
    )
    notify_dispatcher: bool = Field(
        True,
        description="Whether each server worker runs a notification dispatcher (the outbox "
        "is shared: every worker and server on one database may run one).",
    )
    notify_poll_seconds: float = Field(
        1.0,
        gt=0,
        le=60,
        description="How often an idle dispatcher looks for due notifications (a commit "
        "that queues some wakes its own process's dispatcher at once).",
    )
    notify_max_attempts: int = Field(
        8, ge=1, le=50, description="Attempts per notification before it is marked failed."
    )
    notify_retry_base_seconds: float = Field(
        5.0,
        gt=0,
        le=3600,
        description="First retry delay; each further retry doubles it (with random jitter "
        "of up to half), capped by `notify_retry_max_seconds`.",
    )
    notify_retry_max_seconds: float = Field(
        600.0, gt=0, le=86400, description="Longest delay between two attempts."
    )
    notify_lease_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="How long a claimed notification stays with its dispatcher; a "
        "dispatcher killed mid-send leaves it to another one after this long (same "
        "idempotency key).",
    )
    notify_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="Timeout of one outbound notification request."
    )
    notify_defer_max_seconds: float = Field(
        10.0,
        ge=0,
        le=300,
        description="While the worker's ingest is saturated (deliveries queue up for the "
        "group commit), its dispatcher holds notifications back so ingest keeps the CPU, "
        "for at most this long after the first one waiting; then it sends the backlog "
        "anyway. 0: never hold back (lowest notification latency, lower ingest rate "
        "during bursts).",
    )
    notify_allow_private_addresses: bool = Field(
        True,
        description="Allow notification URLs that resolve to private, loopback or "
        "link-local addresses (on by default: self-hosted chat and pager gateways are "
        "often internal). Only http(s) URLs are ever allowed.",
    )
    notify_rate_window_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="The window of each channel's rate limit (`rate_limit_per_minute` "
        "messages per window); beyond it notifications are folded into one digest.",
    )
    notify_cache_seconds: float = Field(
        1.0,
        ge=0,
        le=300,
        description="How long a worker trusts its cached routing rules and silences before "
        "checking for changes (changes made through the same worker apply at once).",
    )
    strict_plugins: bool = Field(
        False,
        description="Refuse to start `alertgate serve` (exit status 1, before any worker "
        "starts) when a plugin fails to load, instead of setting it aside.",
    )
    disable_plugins: str = Field(
        "",
        description="Comma-separated entry-point names of installed plugins not to load.",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()

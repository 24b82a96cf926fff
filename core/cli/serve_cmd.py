"""``alertgate serve``: run the server under uvicorn."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import click

from alertgate.server.lifeline import MASTER_PID_ENV
from alertgate.settings import Settings, get_settings

GRACEFUL_SHUTDOWN_SECONDS = 10


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, plus alertgate's loggers; delivery lines are already JSON."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(message)s"},
            "default": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        },
        "handlers": {
            # One line per delivery: written in batches (see core/server/logbuffer.py).
            "json": {
                "()": "alertgate.server.logbuffer.BatchingStreamHandler",
                "formatter": "plain",
            },
            "default": {"class": "logging.StreamHandler", "formatter": "default"},
        },
        "loggers": {
            "alertgate.delivery": {
                "handlers": ["json"],
                "level": level.upper(),
                "propagate": False,
            },
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
        },
        "root": {"handlers": ["default"], "level": level.upper()},
    }


def check_plugins(settings: Settings) -> None:
    """Strict mode: refuse to start when a plugin is broken. Checked here, in the process
    that supervises the workers, before any starts: a worker that refused instead would
    exit, be restarted and exit again while the master stayed up."""
    if not settings.strict_plugins:
        return  # each worker sets broken plugins aside and logs them
    from alertgate.errors import PluginError
    from alertgate.loading import plugin_names
    from alertgate.registry import load_plugins

    try:
        plugins = load_plugins(plugin_names(settings.disable_plugins), strict=True)
        plugins.configure(settings, strict=True)
    except PluginError as exc:
        raise click.ClickException(str(exc)) from exc


def prepare(settings: Settings, workers: int) -> None:
    """Migrate once, before any worker starts; set up multi-process metrics."""
    from alertgate.cli.db_cmd import announce_setup_code
    from alertgate.storage import migrate

    if settings.auto_migrate:
        migrate.upgrade(settings.database_url)
    if migrate.current_is_head(settings.database_url):
        announce_setup_code(settings.database_url, settings.public_url)
    if workers > 1:
        # Workers exit when this process is gone, even by SIGKILL (server/lifeline.py).
        os.environ[MASTER_PID_ENV] = str(os.getpid())
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers are separate processes: prometheus_client aggregates their values
        # through files in this folder (set before the workers import it).
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="alertgate-metrics-")


@click.command()
@click.option("--host", help="Interface to bind (default: ALERTGATE_HOST or 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Port (default: ALERTGATE_PORT or 8080)."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Worker processes (default: ALERTGATE_WORKERS or 1).",
)
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Run the server: Integration URLs, admin API, health and metrics."""
    import uvicorn

    from alertgate.server.protocol import HTTP_PROTOCOL

    settings = get_settings()
    workers = workers or settings.workers
    check_plugins(settings)
    try:
        prepare(settings, workers)
    except Exception as exc:
        raise click.ClickException(f"cannot prepare the database: {exc}") from exc
    click.echo(
        f"alertgate serving on http://{host or settings.host}:{port or settings.port} "
        f"(public URL {settings.public_url}, {workers} worker(s))",
        err=True,
    )
    uvicorn.run(
        "alertgate.server.app:serve_app",
        factory=True,
        host=host or settings.host,
        port=settings.port if port is None else port,
        workers=workers,
        log_config=log_config(settings.log_level),
        access_log=False,
        http=HTTP_PROTOCOL,
        proxy_headers=True,
        server_header=False,
        # Bounded shutdown (SIGTERM, or the master gone): requests in flight get this long.
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )

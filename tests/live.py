"""Run an ASGI app under a real uvicorn server on a free port, in a thread."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from alertgate.server.runner import ThreadedServer, free_port

__all__ = ["free_port", "serve_app"]


@contextlib.contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Yield the base URL of ``app`` served by uvicorn until the block exits."""
    server = ThreadedServer(app).start()
    try:
        yield server.url
    finally:
        server.stop()

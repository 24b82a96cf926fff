"""Parsing on the event loop, with a way out for the rare delivery that needs I/O.

A parse hook that only computes (decode, verify a signature with a cached certificate,
build alerts) is cheapest run right on the server's event loop: handing it to a thread and
back costs more CPU than a typical parse, and threads contend for the GIL. An integration
type opts in with ``IntegrationType(parses_inline=True)``; its parse code then calls
:func:`before_blocking_io` before anything that may block (a network request, a file
read). On the event loop that raises :class:`WouldBlock`, and the server runs the whole
parse again in a worker thread, where the call does nothing. So a parse hook of such a type
must have no side effects before it calls :func:`before_blocking_io`, and a plugin that
overrides the parse of such a type must honour the same contract.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_state = threading.local()


class WouldBlock(Exception):
    """Raised by :func:`before_blocking_io` while parsing on the event loop."""


def before_blocking_io(what: str) -> None:
    """Declare that the caller is about to block on I/O (``what``: for the log).

    :raises WouldBlock: When called from a parse running on the event loop.
    """
    if getattr(_state, "inline", False):
        raise WouldBlock(what)


@contextmanager
def running_inline() -> Iterator[None]:
    """Mark the current thread as the event loop for the duration of one parse."""
    _state.inline = True
    try:
        yield
    finally:
        _state.inline = False

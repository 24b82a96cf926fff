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

_state = threading.local()


class WouldBlock(Exception):
    """Raised by :func:`before_blocking_io` while parsing on the event loop."""


def before_blocking_io(what: str) -> None:
    """Declare that the caller is about to block on I/O (``what``: for the log).

    :raises WouldBlock: When called from a parse running on the event loop.
    """
    if getattr(_state, "inline", False):
        raise WouldBlock(what)


class _InlineMark:
    """Marks the current thread as the event loop while a parse runs on it. A plain
    context object, not ``@contextmanager``: this runs once per delivery, and a generator
    per delivery is measurable there."""

    def __enter__(self) -> None:
        _state.inline = True

    def __exit__(self, *_exc: object) -> None:
        _state.inline = False


_INLINE = _InlineMark()


def running_inline() -> _InlineMark:
    """``with running_inline():`` marks the current thread as the event loop for the
    duration of one parse."""
    return _INLINE

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

The server uses one call, :func:`attempt_inline`; plugins one, :func:`before_blocking_io`.
:class:`WouldBlock` is a :class:`BaseException`, like :class:`KeyboardInterrupt`: a plugin's
own ``except Exception`` around its I/O cannot swallow it and so cannot decide, by
accident, that a download runs on the event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final, TypeVar

_state = threading.local()

T = TypeVar("T")


class WouldBlock(BaseException):
    """Raised by :func:`before_blocking_io` while parsing on the event loop. Not an
    :class:`Exception`, so ``except Exception`` in plugin code lets it through."""


class _Deferred:
    """The type of :data:`DEFERRED`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "DEFERRED"


DEFERRED: Final = _Deferred()
"""What :func:`attempt_inline` returns when the call needs a thread."""


def before_blocking_io(what: str) -> None:
    """Declare that the caller is about to block on I/O (``what``: for the log).

    :raises WouldBlock: When called from a parse running on the event loop.
    """
    if getattr(_state, "inline", False):
        raise WouldBlock(what)


def attempt_inline(call: Callable[..., T], *args: object) -> T | _Deferred:
    """``call(*args)`` on the current thread, marked as the event loop; :data:`DEFERRED`
    when it declared blocking I/O (then run it again in a thread). A plain try/finally,
    not a context manager: this runs once per delivery."""
    _state.inline = True
    try:
        return call(*args)
    except WouldBlock:
        return DEFERRED
    finally:
        _state.inline = False


class _InlineMark:
    """Marks the current thread as the event loop (tests, and callers that cannot pass a
    callable to :func:`attempt_inline`)."""

    def __enter__(self) -> None:
        _state.inline = True

    def __exit__(self, *_exc: object) -> None:
        _state.inline = False


_INLINE = _InlineMark()


def running_inline() -> _InlineMark:
    """``with running_inline():`` marks the current thread as the event loop for the
    duration of one parse."""
    return _INLINE

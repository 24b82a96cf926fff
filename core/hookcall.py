"""Calling a ``firstresult`` hook so that a failure is pinned on the plugin that failed.

pluggy runs every implementation of a hook in one call and returns the first non-``None``
result, without saying whose it was or whose implementation raised. The ingest hooks are
called through :class:`FirstResult` instead: the same implementations, in pluggy's order,
one by one, so an exception or a result of the wrong type becomes a
:class:`~alertgate.errors.PluginHookError` naming the plugin and the hook. That costs no
more than pluggy's own loop. A hook with wrapper implementations (rare, and their
semantics are pluggy's) is called through pluggy, and a failure is traced back to a plugin
through the traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any

import pluggy

from alertgate import jsonfast
from alertgate.errors import DeliveryRejected, PluginHookError

log = logging.getLogger("alertgate.plugins")


class FirstResult:
    """One ``firstresult`` hook, its implementations resolved once (plugins do not change
    after loading)."""

    def __init__(self, caller: pluggy.HookCaller) -> None:
        self.name = caller.name
        self._caller = caller
        impls = caller.get_hookimpls()
        self._through_pluggy = any(impl.wrapper or impl.hookwrapper for impl in impls)
        # pluggy calls the list from its end: later-registered and tryfirst first.
        self._impls: list[tuple[str, Callable[..., Any], tuple[str, ...]]] = [
            (impl.plugin_name, impl.function, tuple(impl.argnames)) for impl in reversed(impls)
        ]
        self._codes = {getattr(impl.function, "__code__", None): impl.plugin_name for impl in impls}

    def __call__(self, **kwargs: Any) -> tuple[str | None, Any]:
        """``(plugin, result)`` of the first implementation that returned non-``None``,
        ``(None, None)`` when none did.

        :raises DeliveryRejected: Raised by an implementation: its deliberate refusal.
        :raises PluginHookError: An implementation raised anything else.
        """
        if self._through_pluggy:
            return self._call_pluggy(kwargs)
        for plugin, function, argnames in self._impls:
            try:
                result = function(*[kwargs[name] for name in argnames])
            except DeliveryRejected:
                raise
            except Exception as exc:
                raise PluginHookError(
                    self.name, plugin, f"failed ({type(exc).__name__})", repr(exc)
                ) from exc
            if result is not None:
                return plugin, result
        return None, None

    def _call_pluggy(self, kwargs: dict[str, Any]) -> tuple[str | None, Any]:
        try:
            return None, self._caller(**kwargs)
        except DeliveryRejected:
            raise
        except Exception as exc:
            plugin = self._plugin_in(exc.__traceback__)
            raise PluginHookError(
                self.name, plugin, f"failed ({type(exc).__name__})", repr(exc)
            ) from exc

    def _plugin_in(self, tb: TracebackType | None) -> str | None:
        """The plugin whose implementation the exception came from: the innermost frame
        of an implementation (a wrapper it passed through appears further out)."""
        found = None
        while tb is not None:
            found = self._codes.get(tb.tb_frame.f_code, found)
            tb = tb.tb_next
        return found

    def wrong_result(self, plugin: str | None, value: object, expected: str) -> PluginHookError:
        """The error for a result of the wrong type; the body names only its type."""
        return PluginHookError(
            self.name,
            plugin,
            f"returned {type(value).__name__}; expected {expected}",
            repr(value)[:200],
        )


def log_plugin_error(exc: PluginHookError, **fields: Any) -> None:
    """One structured (JSON) error line for a failed hook, traceback included in the log
    only: ``plugin``, ``hook`` and the caller's ``fields`` (integration or incident)."""
    line = {
        "event": "plugin_error",
        "plugin": exc.plugin,
        "hook": exc.hook,
        **fields,
        "error": exc.detail or exc.public_message,
    }
    log.error("%s", jsonfast.dumps(line), exc_info=exc.__cause__ or exc)

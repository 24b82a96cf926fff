"""Plugin manager factory and the typed facade over ``pm.hook``.

Nothing happens at import time: call :func:`get_plugin_manager` (or :func:`load_plugins`)
to discover the ``alertgate.plugins`` entry points. A plugin that fails to load is set
aside as broken (see :mod:`alertgate.loading`) and every other plugin serves, unless strict
mode asks for a :class:`~alertgate.errors.PluginError` instead.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import pluggy
from pydantic import BaseModel, ValidationError

from alertgate import hookspecs
from alertgate.errors import MalformedDelivery, PluginError, PluginHookError
from alertgate.hookcall import FirstResult, log_plugin_error
from alertgate.loading import (
    BUILTIN_DISTRIBUTION,
    DISABLE_ENV,
    ENTRY_POINT_GROUP,
    BrokenPlugin,
    PluginInfo,
    PluginSet,
    RegisteredType,
    disabled_from_env,
    strict_error,
)
from alertgate.models import (
    Action,
    Alert,
    InboundRequest,
    IncidentEvent,
    IntegrationType,
    ParseContext,
    ParseResult,
    Severity,
)

log = logging.getLogger(__name__)

_E = TypeVar("_E", Action, Severity)


class UnknownIntegrationType(KeyError):
    """No installed plugin provides this slug."""


def get_plugin_manager(disabled: Iterable[str] | None = None) -> pluggy.PluginManager:
    """Build a plugin manager with every ``alertgate.plugins`` entry point registered.

    :param disabled: Entry-point names to skip; defaults to ``ALERTGATE_DISABLE_PLUGINS``.
    :raises PluginError: A plugin failed to load or validate; the message names it.
    """
    return load_plugins(disabled, strict=True).pm


def load_plugins(disabled: Iterable[str] | None = None, *, strict: bool = False) -> Plugins:
    """Discover, register and validate plugins; return the typed facade.

    :param disabled: Entry-point names to skip; defaults to ``ALERTGATE_DISABLE_PLUGINS``.
    :param strict: Raise instead of setting broken plugins aside.
    :raises PluginError: ``strict`` and a plugin is broken; the message names each one.
    """
    blocked = disabled_from_env() if disabled is None else frozenset(disabled)
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    found = PluginSet(pm)
    found.discover(blocked)
    found.check_pending()
    plugins = Plugins(pm, found.infos, found.broken)
    if strict and plugins.broken:
        raise PluginError(strict_error(plugins.broken))
    return plugins


class Plugins:
    """Typed access to the hooks. The rest of alertgate never calls ``pm.hook`` itself."""

    def __init__(
        self,
        pm: pluggy.PluginManager,
        infos: Mapping[str, PluginInfo],
        broken: Iterable[BrokenPlugin] = (),
    ) -> None:
        self.pm = pm
        loaded = PluginSet(pm, infos, broken)
        self._types = loaded.collect_types()
        self.infos = loaded.infos
        self.broken: list[BrokenPlugin] = loaded.broken
        """Plugins set aside at load (see :mod:`alertgate.loading`), in the order found."""
        self._parse_hook = FirstResult(pm.hook.alertgate_parse_request)
        self._fingerprint_hook = FirstResult(pm.hook.alertgate_fingerprint)
        self._classify_hook = FirstResult(pm.hook.alertgate_classify)

    # -- registration ----------------------------------------------------------------------

    @property
    def types(self) -> Mapping[str, RegisteredType]:
        """Installed integration types by slug, sorted."""
        return self._types

    def get_type(self, slug: str) -> IntegrationType:
        try:
            return self._types[slug].type
        except KeyError:
            known = ", ".join(self._types) or "none"
            broken = ", ".join(b.name for b in self.broken)
            also = f"; failed to load: {broken} (see `alertgate plugins`)" if broken else ""
            raise UnknownIntegrationType(
                f"unknown integration type {slug!r} (installed: {known}{also})"
            ) from None

    def validate_settings(
        self, slug: str, raw: Mapping[str, Any] | None, *, known_keys_only: bool = True
    ) -> BaseModel:
        """Validate per-integration settings against the type's settings model.

        :param known_keys_only: Refuse keys the model does not declare (what a user types:
            a misspelled key must not be dropped silently), unless the model itself allows
            extra keys. ``False`` for settings already stored, which may carry a key a
            newer plugin version no longer has.
        :raises UnknownIntegrationType: No loaded plugin provides ``slug``.
        :raises pydantic.ValidationError: The settings do not fit the model.
        """
        model = self.get_type(slug).settings_model
        values = dict(raw or {})
        if known_keys_only and model.model_config.get("extra") != "allow":
            unknown = [key for key in values if key not in _field_names(model)]
            if unknown:
                raise ValidationError.from_exception_data(
                    model.__name__,
                    [{"type": "extra_forbidden", "loc": (k,), "input": values[k]} for k in unknown],
                )
        return model.model_validate(values)

    def unavailable_message(self, slug: str) -> str:
        """Why no loaded plugin provides ``slug``: a broken plugin, or one installed or
        removed while this process runs (what the Integration URL answers with 503)."""
        owners = [b.name for b in self.broken if slug in b.slugs]
        if owners:
            return (
                f"integration type {slug!r} is unavailable: its plugin {owners[0]!r} failed "
                "to load (see /readyz and the server log); retry later"
            )
        hint = "if its plugin was installed or removed after the server started, restart the server"
        if self.broken:
            names = ", ".join(repr(b.name) for b in self.broken)
            hint = f"plugin(s) {names} failed to load (see /readyz), or {hint}"
        return f"integration type {slug!r} is unavailable: no loaded plugin provides it; {hint}"

    def hooks_of(self, plugin_name: str) -> list[str]:
        plugin = self.pm.get_plugin(plugin_name)
        callers = self.pm.get_hookcallers(plugin) if plugin is not None else None
        return sorted(caller.name for caller in callers or [])

    # -- ingest ----------------------------------------------------------------------------

    def parse(self, context: ParseContext, request: InboundRequest) -> ParseResult:
        """Parse a delivery, then fingerprint and classify every alert it yields.

        :raises alertgate.errors.DeliveryRejected: The plugin refused the delivery.
        :raises alertgate.errors.PluginHookError: A plugin's hook raised or returned a
            value of the wrong type; the error names the plugin and the hook.
        """
        hook = self._parse_hook
        plugin, result = hook(
            integration_type=context.integration_type, request=request, context=context
        )
        if result is None:
            raise MalformedDelivery(
                "unsupported_type",
                f"no installed plugin parses deliveries for type {context.integration_type!r}",
            )
        if type(result) is not ParseResult:
            raise hook.wrong_result(plugin, result, "alertgate.ParseResult or None")
        for alert in result.alerts:
            if type(alert) is not Alert:
                raise hook.wrong_result(plugin, alert, "a list of alertgate.Alert")
            if type(alert.severity) is not Severity:
                alert.severity = _as(Severity, alert.severity, hook, plugin, "a Severity")
            if alert.action is not None and type(alert.action) is not Action:
                alert.action = _as(Action, alert.action, hook, plugin, "an Action or None")
            if type(alert.fingerprint) is not str:
                raise hook.wrong_result(plugin, alert.fingerprint, "a str fingerprint")
            self.complete_alert(context.integration_type, alert, context.settings)
        return result

    def complete_alert(self, slug: str, alert: Alert, settings: BaseModel) -> Alert:
        """Fill in ``alert.fingerprint`` and ``alert.action`` through the hooks.

        :raises alertgate.errors.PluginHookError: A hook raised or returned a wrong type.
        """
        if not alert.fingerprint:
            hook = self._fingerprint_hook
            plugin, fingerprint = hook(integration_type=slug, alert=alert, settings=settings)
            if fingerprint is None:
                alert.fingerprint = f"{slug}:{alert.title}"
            elif type(fingerprint) is str and fingerprint:
                alert.fingerprint = fingerprint
            else:
                raise hook.wrong_result(plugin, fingerprint, "a non-empty str or None")
        if alert.action is None:
            hook = self._classify_hook
            plugin, action = hook(integration_type=slug, alert=alert, settings=settings)
            alert.action = (
                Action.TRIGGER
                if action is None
                else _as(Action, action, hook, plugin, "an alertgate.Action or None")
            )
        return alert

    # -- lifecycle -------------------------------------------------------------------------

    def notify(self, hook_name: str, event: IncidentEvent) -> None:
        """Call a lifecycle hook on every plugin, isolating each plugin's failures."""
        hook = getattr(self.pm.hook, hook_name)
        for impl in hook.get_hookimpls():
            caller = self._single_plugin_caller(hook_name, impl.plugin_name)
            try:
                caller(event=event)
            except Exception as exc:
                failure = PluginHookError(
                    hook_name, impl.plugin_name, f"failed ({type(exc).__name__})", repr(exc)
                )
                failure.__cause__ = exc
                log_plugin_error(failure, incident_id=event.incident_id)

    @functools.lru_cache(maxsize=256)  # noqa: B019 - one facade per process, bounded cache
    def _single_plugin_caller(self, hook_name: str, plugin_name: str) -> Any:
        others = [plugin for name, plugin in self.pm.list_name_plugin() if name != plugin_name]
        return self.pm.subset_hook_caller(hook_name, remove_plugins=others)

    def incident_opened(self, event: IncidentEvent) -> None:
        self.notify("alertgate_incident_opened", event)

    def alert_attached(self, event: IncidentEvent) -> None:
        self.notify("alertgate_alert_attached", event)

    def incident_acknowledged(self, event: IncidentEvent) -> None:
        self.notify("alertgate_incident_acknowledged", event)

    def incident_resolved(self, event: IncidentEvent) -> None:
        self.notify("alertgate_incident_resolved", event)


def _field_names(model: type[BaseModel]) -> frozenset[str]:
    """Every key ``model`` accepts: field names and their aliases."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(name)
        for alias in (info.alias, info.validation_alias):
            if isinstance(alias, str):
                names.add(alias)
            elif alias is not None and hasattr(alias, "choices"):
                names.update(c for c in alias.choices if isinstance(c, str))
    return frozenset(names)


def _as(kind: type[_E], value: Any, hook: FirstResult, plugin: str | None, expected: str) -> _E:
    """``value`` as the enum ``kind``, or that plugin's error."""
    try:
        return kind(value)
    except (ValueError, TypeError):
        raise hook.wrong_result(plugin, value, expected) from None


__all__ = [
    "BUILTIN_DISTRIBUTION",
    "DISABLE_ENV",
    "ENTRY_POINT_GROUP",
    "BrokenPlugin",
    "PluginInfo",
    "Plugins",
    "RegisteredType",
    "UnknownIntegrationType",
    "ValidationError",
    "get_plugin_manager",
    "load_plugins",
]

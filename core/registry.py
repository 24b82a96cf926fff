"""Plugin manager factory and the typed facade over ``pm.hook``.

Nothing happens at import time: call :func:`get_plugin_manager` (or :func:`load_plugins`)
to discover the ``alertgate.plugins`` entry points. A plugin that fails to import, has a
hook implementation without a spec, a bad hook signature, or claims a slug another plugin
already claimed stops the load with a :class:`~alertgate.errors.PluginError` naming the plugin
and its distribution.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any, cast

import pluggy
from pydantic import BaseModel, ValidationError

from alertgate import compat, hookspecs
from alertgate.errors import MalformedDelivery, PluginError
from alertgate.models import (
    Action,
    Alert,
    InboundRequest,
    IncidentEvent,
    IntegrationType,
    ParseContext,
    ParseResult,
)

ENTRY_POINT_GROUP = "alertgate.plugins"
BUILTIN_DISTRIBUTION = "alertgate"
DISABLE_ENV = "ALERTGATE_DISABLE_PLUGINS"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """One loaded plugin: its entry-point name and where it came from."""

    name: str
    distribution: str
    version: str
    builtin: bool


@dataclass(frozen=True, slots=True)
class RegisteredType:
    """An integration type together with the plugin that declared it."""

    type: IntegrationType
    plugin: PluginInfo


class UnknownIntegrationType(KeyError):
    """No installed plugin provides this slug."""


def disabled_from_env(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """Plugin names listed (comma-separated) in ``ALERTGATE_DISABLE_PLUGINS``."""
    raw = (os.environ if environ is None else environ).get(DISABLE_ENV, "")
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


def _dist_of(ep: metadata.EntryPoint) -> tuple[str, str]:
    dist = ep.dist
    if dist is None:
        return ("unknown", "unknown")
    return (dist.metadata["Name"] or dist.name, dist.version)


def get_plugin_manager(disabled: Iterable[str] | None = None) -> pluggy.PluginManager:
    """Build a plugin manager with every ``alertgate.plugins`` entry point registered.

    :param disabled: Entry-point names to skip; defaults to ``ALERTGATE_DISABLE_PLUGINS``.
    :raises PluginError: A plugin failed to load or validate; the message names it.
    """
    return load_plugins(disabled).pm


def load_plugins(disabled: Iterable[str] | None = None) -> Plugins:
    """Discover, register and validate plugins; return the typed facade."""
    blocked = disabled_from_env() if disabled is None else frozenset(disabled)
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    infos: dict[str, PluginInfo] = {}
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name in blocked or ep.name in infos:
            continue
        dist_name, version = _dist_of(ep)
        info = PluginInfo(ep.name, dist_name, version, dist_name == BUILTIN_DISTRIBUTION)
        where = f"plugin {ep.name!r} (distribution {dist_name!r} {version})"
        try:
            plugin = ep.load()
        except Exception as exc:
            raise PluginError(f"{where} failed to import {ep.value!r}: {exc!r}") from exc
        compat.check_plugin(plugin, where)
        try:
            pm.register(plugin, name=ep.name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            raise PluginError(f"{where} is invalid: {exc}") from exc
        infos[ep.name] = info
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or repr(exc.plugin)
        failed = infos.get(name)
        dist = f" (distribution {failed.distribution!r})" if failed else ""
        raise PluginError(f"plugin {name!r}{dist} is invalid: {exc}") from exc
    return Plugins(pm, infos)


class Plugins:
    """Typed access to the hooks. The rest of alertgate never calls ``pm.hook`` itself."""

    def __init__(self, pm: pluggy.PluginManager, infos: Mapping[str, PluginInfo]) -> None:
        self.pm = pm
        self.infos = dict(infos)
        self._types = self._collect_types()

    # -- registration ----------------------------------------------------------------------

    def _collect_types(self) -> dict[str, RegisteredType]:
        found: dict[str, RegisteredType] = {}
        for impl in self.pm.hook.alertgate_integration_types.get_hookimpls():
            info = self.infos.get(impl.plugin_name) or PluginInfo(
                impl.plugin_name, "unknown", "unknown", builtin=False
            )
            try:
                declared = cast(list[IntegrationType], impl.function())
            except Exception as exc:
                raise PluginError(
                    f"plugin {info.name!r} (distribution {info.distribution!r}) failed to "
                    f"declare its integration types: {exc!r}"
                ) from exc
            for itype in declared:
                if not isinstance(itype, IntegrationType):
                    raise PluginError(
                        f"plugin {info.name!r} returned {itype!r} from "
                        "alertgate_integration_types; expected alertgate.models.IntegrationType"
                    )
                if itype.slug in found:
                    other = found[itype.slug].plugin
                    raise PluginError(
                        f"integration type {itype.slug!r} is claimed by plugin {info.name!r} "
                        f"(distribution {info.distribution!r}) and by plugin {other.name!r} "
                        f"(distribution {other.distribution!r})"
                    )
                found[itype.slug] = RegisteredType(itype, info)
        return dict(sorted(found.items()))

    @property
    def types(self) -> Mapping[str, RegisteredType]:
        """Installed integration types by slug, sorted."""
        return self._types

    def get_type(self, slug: str) -> IntegrationType:
        try:
            return self._types[slug].type
        except KeyError:
            known = ", ".join(self._types) or "none"
            raise UnknownIntegrationType(
                f"unknown integration type {slug!r} (installed: {known})"
            ) from None

    def validate_settings(self, slug: str, raw: Mapping[str, Any] | None) -> BaseModel:
        """Validate per-integration settings against the type's settings model.

        :raises pydantic.ValidationError: The settings do not fit the model.
        """
        return self.get_type(slug).settings_model.model_validate(dict(raw or {}))

    def hooks_of(self, plugin_name: str) -> list[str]:
        plugin = self.pm.get_plugin(plugin_name)
        callers = self.pm.get_hookcallers(plugin) if plugin is not None else None
        return sorted(caller.name for caller in callers or [])

    # -- ingest ----------------------------------------------------------------------------

    def parse(self, context: ParseContext, request: InboundRequest) -> ParseResult:
        """Parse a delivery, then fingerprint and classify every alert it yields.

        :raises alertgate.errors.DeliveryRejected: The plugin refused the delivery.
        """
        result: ParseResult | None = self.pm.hook.alertgate_parse_request(
            integration_type=context.integration_type, request=request, context=context
        )
        if result is None:
            raise MalformedDelivery(
                "unsupported_type",
                f"no installed plugin parses deliveries for type {context.integration_type!r}",
            )
        for alert in result.alerts:
            self.complete_alert(context.integration_type, alert, context.settings)
        return result

    def complete_alert(self, slug: str, alert: Alert, settings: BaseModel) -> Alert:
        """Fill in ``alert.fingerprint`` and ``alert.action`` through the hooks."""
        if not alert.fingerprint:
            fingerprint = self.pm.hook.alertgate_fingerprint(
                integration_type=slug, alert=alert, settings=settings
            )
            alert.fingerprint = str(fingerprint) if fingerprint else f"{slug}:{alert.title}"
        if alert.action is None:
            action = self.pm.hook.alertgate_classify(
                integration_type=slug, alert=alert, settings=settings
            )
            alert.action = Action(action) if action is not None else Action.TRIGGER
        return alert

    # -- lifecycle -------------------------------------------------------------------------

    def notify(self, hook_name: str, event: IncidentEvent) -> None:
        """Call a lifecycle hook on every plugin, isolating each plugin's failures."""
        hook = getattr(self.pm.hook, hook_name)
        for impl in hook.get_hookimpls():
            caller = self._single_plugin_caller(hook_name, impl.plugin_name)
            try:
                caller(event=event)
            except Exception:
                log.exception(
                    "plugin %r failed in %s for incident %s",
                    impl.plugin_name,
                    hook_name,
                    event.incident_id,
                )

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


__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "Plugins",
    "RegisteredType",
    "UnknownIntegrationType",
    "ValidationError",
    "get_plugin_manager",
    "load_plugins",
]

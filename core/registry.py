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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pluggy
from pydantic import BaseModel, ValidationError

from alertgate import compat, hookspecs
from alertgate.context import PluginContext, settings_from_environ
from alertgate.errors import MalformedDelivery, PluginError
from alertgate.models import (
    Action,
    Alert,
    DemoStory,
    InboundRequest,
    IncidentEvent,
    IntegrationType,
    ParseContext,
    ParseResult,
    SampleDelivery,
    StateItem,
)
from alertgate.settings import Settings

if TYPE_CHECKING:
    import click

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
        self._context: PluginContext | None = None

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
        if context.plugin_context is None:
            context = replace(context, plugin_context=self.context)
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

    # -- plugin context, settings, commands, presentation ----------------------------------

    def _each(
        self, hook_name: str, *, skip_failed: bool = False, **kwargs: Any
    ) -> Iterator[tuple[str, Any]]:
        """Call every implementation of a hook in pluggy's order; yield (plugin, result).

        One implementation at a time, so a failure names its plugin and the hook: raised
        as a :class:`PluginError`, or with ``skip_failed`` logged and that plugin skipped.
        """
        hook = getattr(self.pm.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):
            try:
                result = impl.function(*(kwargs[name] for name in impl.argnames))
            except Exception as exc:
                if skip_failed:
                    log.exception("plugin %r failed in %s", impl.plugin_name, hook_name)
                    continue
                raise PluginError(
                    f"plugin {impl.plugin_name!r} failed in {hook_name}: {exc!r}"
                ) from exc
            yield impl.plugin_name, result

    def settings_models(self) -> list[tuple[str, type[BaseModel]]]:
        """(plugin name, model) for every plugin that declares process settings."""
        return [
            (plugin, model)
            for plugin, model in self._each("alertgate_settings_model")
            if model is not None
        ]

    def configure(
        self, settings: Settings | None = None, environ: Mapping[str, str] | None = None
    ) -> PluginContext:
        """Build the plugin context once for this process and let plugins set up.

        :param settings: The core settings (default: ``Settings()``, from ``os.environ``).
        :param environ: The environment plugins read (default: a copy of ``os.environ``).
        :raises PluginError: A plugin's settings are invalid or its configure hook failed.
        """
        env = dict(os.environ if environ is None else environ)
        plugin_settings: dict[type[BaseModel], BaseModel] = {}
        for plugin, model in self.settings_models():
            try:
                plugin_settings[model] = settings_from_environ(model, env)
            except ValidationError as exc:
                raise PluginError(f"plugin {plugin!r} settings are invalid: {exc}") from exc
        context = PluginContext(
            settings=settings or Settings(), environ=env, plugin_settings=plugin_settings
        )
        for _ in self._each("alertgate_configure", context=context):
            pass
        self._context = context
        return context

    @property
    def context(self) -> PluginContext:
        """The plugin context (built from the process environment on first use unless
        :meth:`configure` was called)."""
        if self._context is None:
            return self.configure()
        return self._context

    def register_commands(self, cli: click.Group) -> list[PluginError]:
        """Let each plugin add its command groups to ``cli``.

        A plugin whose hook fails, or that registers a name already taken, is left out
        (the group is put back as it was before it) and the others still register.

        :return: One error per plugin left out, naming it.
        """
        errors: list[PluginError] = []
        hook = self.pm.hook.alertgate_register_commands
        for impl in reversed(hook.get_hookimpls()):
            before = dict(cli.commands)
            try:
                impl.function(*(cli for _ in impl.argnames))
                taken = sorted(n for n, cmd in before.items() if cli.commands.get(n) is not cmd)
                if taken:
                    raise ValueError(f"command name(s) already taken: {', '.join(taken)}")
            except Exception as exc:
                cli.commands.clear()
                cli.commands.update(before)
                errors.append(
                    PluginError(
                        f"plugin {impl.plugin_name!r} failed in alertgate_register_commands: {exc}"
                    )
                )
        return errors

    def describe_state(self, slug: str, state: Mapping[str, Any]) -> list[StateItem]:
        """What plugins say about an integration's recorded state (see the hook).

        Never raises: this runs for every integration a page shows, and a plugin that
        fails to describe one is logged and left out, not allowed to take the page down.
        """
        items: list[StateItem] = []
        described = self._each(
            "alertgate_describe_state", skip_failed=True, integration_type=slug, state=state
        )
        for plugin, found in described:
            for item in found or ():
                if isinstance(item, StateItem):
                    items.append(item)
                else:
                    log.warning("plugin %r described a state with %r", plugin, item)
        return items

    def demo_story(self, workdir: Path, now: datetime) -> DemoStory | None:
        """The story ``alertgate demo`` tells (the first plugin that provides one)."""
        story: DemoStory | None = self.pm.hook.alertgate_demo(workdir=workdir, now=now)
        return story

    def test_delivery(
        self,
        slug: str,
        settings: BaseModel,
        state: Mapping[str, Any],
        workdir: Path,
        now: datetime,
    ) -> SampleDelivery | None:
        """A test alert for an integration of ``slug`` (the first plugin that provides one)."""
        sample: SampleDelivery | None = self.pm.hook.alertgate_test_delivery(
            integration_type=slug, settings=settings, state=state, workdir=workdir, now=now
        )
        return sample

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


def plugin_rows(plugins: Plugins) -> list[dict[str, Any]]:
    """One row per integration type, plus one per plugin that declares no type.

    Shared by ``alertgate plugins`` and ``GET /api/v1/plugins``.
    """
    rows: list[dict[str, Any]] = []
    claimed = set()
    for slug, reg in plugins.types.items():
        claimed.add(reg.plugin.name)
        rows.append(
            {
                "slug": slug,
                "title": reg.type.title,
                "description": reg.type.description,
                "docs_url": reg.type.docs_url,
                "plugin": reg.plugin.name,
                "distribution": reg.plugin.distribution,
                "version": reg.plugin.version,
                "builtin": reg.plugin.builtin,
                "hooks": plugins.hooks_of(reg.plugin.name),
            }
        )
    for name, info in sorted(plugins.infos.items()):
        if name not in claimed:
            rows.append(
                {
                    "slug": None,
                    "title": None,
                    "description": None,
                    "docs_url": None,
                    "plugin": name,
                    "distribution": info.distribution,
                    "version": info.version,
                    "builtin": info.builtin,
                    "hooks": plugins.hooks_of(name),
                }
            )
    return rows


__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "Plugins",
    "RegisteredType",
    "UnknownIntegrationType",
    "ValidationError",
    "get_plugin_manager",
    "load_plugins",
    "plugin_rows",
]

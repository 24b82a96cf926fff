"""Discovering plugins, and setting aside the broken ones.

A plugin is *broken* when it fails to import, declares an ``ALERTGATE_HOOK_API`` range this
alertgate is outside of (:mod:`alertgate.compat`), has a hook implementation without a spec
(a misspelled hook name), a hook signature the spec does not accept, an
``alertgate_integration_types`` that raises or returns something other than
:class:`~alertgate.models.IntegrationType` objects, or claims an integration type slug
another plugin already claimed (or, later, fails to configure:
:meth:`alertgate.registry.Plugins.configure`). A broken plugin is unregistered entirely
(none of its hooks run), logged once as an error naming it, its distribution, the error
and how to disable it, and recorded as a :class:`BrokenPlugin`; every other plugin loads
and serves.

Who wins a slug both claim: built-in plugins before third-party ones, then entry-point
names in alphabetical order. The plugin that comes later is the broken one, so an installed
plugin cannot take over, or take down, a built-in type.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pluggy

from alertgate import compat
from alertgate.errors import PluginError
from alertgate.models import IntegrationType

ENTRY_POINT_GROUP = "alertgate.plugins"
BUILTIN_DISTRIBUTION = "alertgate"
DISABLE_ENV = "ALERTGATE_DISABLE_PLUGINS"
TYPES_HOOK = "alertgate_integration_types"

log = logging.getLogger("alertgate.plugins")


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


@dataclass(frozen=True, slots=True)
class BrokenPlugin:
    """A plugin that was skipped, and why."""

    name: str
    """The entry-point name: what ``ALERTGATE_DISABLE_PLUGINS`` takes."""
    distribution: str
    version: str
    error: str
    slugs: tuple[str, ...] = ()
    """Integration types it declared, when it got that far."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "error": self.error,
            "slugs": list(self.slugs),
        }


def disabled_from_env(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """Plugin names listed (comma-separated) in ``ALERTGATE_DISABLE_PLUGINS``."""
    return plugin_names((os.environ if environ is None else environ).get(DISABLE_ENV, ""))


def plugin_names(raw: str) -> frozenset[str]:
    """The entry-point names of a comma-separated list."""
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class PluginSet:
    """The plugins of one plugin manager while they load: the healthy ones (``infos``) and
    the broken ones (``broken``)."""

    def __init__(
        self,
        pm: pluggy.PluginManager,
        infos: Mapping[str, PluginInfo] | None = None,
        broken: Iterable[BrokenPlugin] = (),
    ) -> None:
        self.pm = pm
        self.infos = dict(infos or {})
        self.broken = list(broken)

    def info(self, name: str) -> PluginInfo:
        return self.infos.get(name) or PluginInfo(name, "unknown", "unknown", builtin=False)

    def fail(self, info: PluginInfo, error: str, slugs: Iterable[str] = ()) -> None:
        """Unregister ``info``'s plugin, record it as broken and say so, loudly, once."""
        plugin = self.pm.get_plugin(info.name)
        if plugin is not None:
            self.pm.unregister(plugin, name=info.name)
        self.infos.pop(info.name, None)
        broken = BrokenPlugin(
            info.name, info.distribution, info.version, _one_line(error), tuple(slugs)
        )
        self.broken.append(broken)
        log.error(
            "plugin %r (distribution %s %s) is broken and was skipped: %s. Integrations of "
            "its types answer 503 plugin_unavailable until it is fixed; to silence this, "
            "uninstall it or set %s=%s",
            broken.name,
            broken.distribution,
            broken.version,
            broken.error,
            DISABLE_ENV,
            broken.name,
        )

    def discover(self, blocked: frozenset[str]) -> None:
        """Load and register every ``alertgate.plugins`` entry point not in ``blocked``."""
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in blocked or ep.name in self.infos:
                continue
            dist = ep.dist
            dist_name, version = (
                (dist.metadata["Name"] or dist.name, dist.version) if dist else ("unknown",) * 2
            )
            info = PluginInfo(ep.name, dist_name, version, dist_name == BUILTIN_DISTRIBUTION)
            try:
                plugin = ep.load()
            except Exception as exc:
                self.fail(info, f"cannot import {ep.value!r}: {exc!r}")
                continue
            try:
                compat.check_plugin(plugin, f"plugin {ep.name!r} ({dist_name!r} {version})")
            except PluginError as exc:
                self.fail(info, str(exc))
                continue
            try:
                self.pm.register(plugin, name=ep.name)
            except (pluggy.PluginValidationError, ValueError) as exc:
                self.fail(info, f"invalid: {exc}")
                continue
            self.infos[ep.name] = info

    def check_pending(self) -> None:
        """Set aside every plugin with a hook implementation no spec knows. pluggy reports
        the first offender only: unregister it and check again."""
        while True:
            try:
                self.pm.check_pending()
            except pluggy.PluginValidationError as exc:
                name = self.pm.get_name(exc.plugin)
                if name is None:  # cannot happen for a registered plugin; do not loop
                    raise
                self.fail(self.info(name), f"invalid: {exc}")
                continue
            return

    def collect_types(self) -> dict[str, RegisteredType]:
        """Every plugin's integration types by slug, sorted; failing plugins set aside."""
        impls = {
            impl.plugin_name: impl
            for impl in self.pm.hook.alertgate_integration_types.get_hookimpls()
            if not (impl.wrapper or impl.hookwrapper)
        }
        found: dict[str, RegisteredType] = {}
        order = sorted(impls, key=lambda n: (not self.info(n).builtin, n))
        for name in order:
            info = self.info(name)
            try:
                declared = impls[name].function()
            except Exception as exc:
                self.fail(info, f"{TYPES_HOOK} raised {exc!r}")
                continue
            problem, types = _check_declared(declared)
            slugs = [itype.slug for itype in types]
            taken = [s for s in slugs if s in found]
            if problem is None and taken:
                owners = ", ".join(f"{s!r} by plugin {found[s].plugin.name!r}" for s in taken)
                problem = f"claims integration types already claimed: {owners}"
            if problem is not None:
                self.fail(info, problem, slugs)
                continue
            for itype in types:
                found[itype.slug] = RegisteredType(itype, info)
        return dict(sorted(found.items()))


def _check_declared(declared: object) -> tuple[str | None, list[IntegrationType]]:
    """``(problem or None, the types)`` for what an ``alertgate_integration_types``
    returned."""
    if not isinstance(declared, list | tuple):
        return (f"{TYPES_HOOK} returned {type(declared).__name__}; expected a list", [])
    types: list[IntegrationType] = []
    for itype in declared:
        if not isinstance(itype, IntegrationType):
            return (
                f"{TYPES_HOOK} returned a {type(itype).__name__} in its list; expected "
                "alertgate.IntegrationType",
                types,
            )
        if any(seen.slug == itype.slug for seen in types):
            return (f"{TYPES_HOOK} declares {itype.slug!r} twice", types)
        types.append(itype)
    return None, types


def strict_error(broken: Iterable[BrokenPlugin]) -> str:
    """The message strict mode refuses to start with."""
    parts = [f"plugin {b.name!r} ({b.distribution} {b.version}): {b.error}" for b in broken]
    return (
        f"{len(parts)} plugin(s) failed to load and ALERTGATE_STRICT_PLUGINS is on: "
        + "; ".join(parts)
        + f". Fix or uninstall them, or skip them with {DISABLE_ENV}=name"
    )

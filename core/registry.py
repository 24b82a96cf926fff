"""Plugin manager factory and the typed facade over ``pm.hook``.

Nothing happens at import time: call :func:`get_plugin_manager` (or :func:`load_plugins`)
to discover the ``alertgate.plugins`` entry points. A plugin that fails to load is set
aside as broken (see :mod:`alertgate.loading`) and every other plugin serves, unless strict
mode asks for a :class:`~alertgate.errors.PluginError` instead.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pluggy
from pydantic import BaseModel, ValidationError

from alertgate import hookspecs
from alertgate.context import PluginContext, settings_from_environ
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
    ActionResult,
    Alert,
    DemoStory,
    InboundRequest,
    IncidentEvent,
    IntegrationAction,
    IntegrationType,
    ParseContext,
    ParseResult,
    SampleDelivery,
    Severity,
    StateItem,
)
from alertgate.notify.outbound import OutboundHttp
from alertgate.notify.types import ChannelType, Notification, NotificationError
from alertgate.settings import Settings

if TYPE_CHECKING:
    import click

log = logging.getLogger(__name__)

_E = TypeVar("_E", Action, Severity)


ACTION_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
"""What an integration action's name may be (it is a segment of an API path)."""


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


def _integral_as_int(value: Any) -> Any:
    """``value`` with every integral float (``3.0``) as an int, in lists and objects too."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_as_int(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_as_int(v) for v in value]
    return value


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
        self._loaded = loaded
        self._context: PluginContext | None = None
        self._bind_hooks()

    def _bind_hooks(self) -> None:
        """Resolve the ingest hooks' implementations (again after :meth:`set_aside`)."""
        self._parse_hook = FirstResult(self.pm.hook.alertgate_parse_request)
        self._fingerprint_hook = FirstResult(self.pm.hook.alertgate_fingerprint)
        self._classify_hook = FirstResult(self.pm.hook.alertgate_classify)

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
        self,
        slug: str,
        raw: Mapping[str, Any] | None,
        *,
        known_keys_only: bool = True,
        strict: bool = False,
    ) -> BaseModel:
        """Validate per-integration settings against the type's settings model.

        :param known_keys_only: Refuse keys the model does not declare (what a user types:
            a misspelled key must not be dropped silently), unless the model itself allows
            extra keys. ``False`` for settings already stored, which may carry a key a
            newer plugin version no longer has.
        :param strict: Validate as JSON in pydantic's strict mode (what the API receives),
            so that what the settings schema forbids (a string for a number, 0 for false)
            is refused rather than coerced.
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
        if strict:
            # JSON Schema counts 3.0 as an integer; pydantic's strict mode does not.
            return model.model_validate_json(json.dumps(_integral_as_int(values)), strict=True)
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
        if context.plugin_context is None:
            context = replace(context, plugin_context=self.context)
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

    # -- plugin context, settings, commands, presentation ----------------------------------

    def _each(
        self,
        hook_name: str,
        *,
        skip_failed: bool = False,
        failed: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> Iterator[tuple[str, Any]]:
        """Call every implementation of a hook in pluggy's order; yield (plugin, result).

        One implementation at a time, so a failure names its plugin and the hook: raised
        as a :class:`PluginError`, with ``skip_failed`` logged and that plugin skipped, or
        with ``failed`` recorded there as ``(plugin, problem)`` and that plugin skipped.
        """
        hook = getattr(self.pm.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):
            try:
                result = impl.function(*(kwargs[name] for name in impl.argnames))
            except Exception as exc:
                if failed is not None:
                    failed.append((impl.plugin_name, f"{hook_name} raised {exc!r}"))
                    continue
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
        self,
        settings: Settings | None = None,
        environ: Mapping[str, str] | None = None,
        *,
        strict: bool = False,
    ) -> PluginContext:
        """Build the plugin context once for this process and let plugins set up.

        A plugin whose settings are invalid, or whose settings or configure hook raises,
        is set aside as broken (:meth:`set_aside`), like a plugin that failed to load.

        :param settings: The core settings (default: ``Settings()``, from ``os.environ``).
        :param environ: The environment plugins read (default: a copy of ``os.environ``).
        :param strict: Raise instead of setting such a plugin aside.
        :raises PluginError: ``strict``, and a plugin's settings are invalid or its hook
            failed.
        """
        env = dict(os.environ if environ is None else environ)
        failed: list[tuple[str, str]] = []
        plugin_settings: dict[type[BaseModel], BaseModel] = {}
        for plugin, model in self._each("alertgate_settings_model", failed=failed):
            if model is None:
                continue
            try:
                plugin_settings[model] = settings_from_environ(model, env)
            except ValidationError as exc:
                failed.append((plugin, f"its settings are invalid: {exc}"))
        self._set_aside_all(failed, strict)
        context = PluginContext(
            settings=settings or Settings(), environ=env, plugin_settings=plugin_settings
        )
        for _ in self._each("alertgate_configure", context=context, failed=failed):
            pass
        self._set_aside_all(failed, strict)
        self._context = context
        return context

    def _set_aside_all(self, failed: list[tuple[str, str]], strict: bool) -> None:
        if strict and failed:
            infos = [(self._loaded.info(name), problem) for name, problem in failed]
            raise PluginError(
                strict_error(BrokenPlugin(i.name, i.distribution, i.version, p) for i, p in infos)
            )
        for name, problem in failed:
            self.set_aside(name, problem)
        failed.clear()

    def set_aside(self, plugin: str, problem: str) -> None:
        """Unregister a plugin that failed after loading and record it as broken: its types
        answer 503 plugin_unavailable, the others serve (see :mod:`alertgate.loading`)."""
        slugs = [slug for slug, reg in self._types.items() if reg.plugin.name == plugin]
        self._loaded.fail(self._loaded.info(plugin), problem, slugs)
        self._types = {slug: reg for slug, reg in self._types.items() if slug not in slugs}
        self._single_plugin_caller.cache_clear()
        self._bind_hooks()

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

    def integration_actions(self, slug: str, state: Mapping[str, Any]) -> list[IntegrationAction]:
        """The actions plugins offer for an integration in ``state`` (see the hook).

        Never raises, like :meth:`describe_state`: a plugin that fails is logged and left
        out. A name offered twice is kept once (the first plugin's).
        """
        actions: dict[str, IntegrationAction] = {}
        offered = self._each(
            "alertgate_integration_actions", skip_failed=True, integration_type=slug, state=state
        )
        for plugin, found in offered:
            for action in found or ():
                if isinstance(action, IntegrationAction) and ACTION_NAME.fullmatch(action.name):
                    actions.setdefault(action.name, action)
                else:
                    log.warning("plugin %r offered the integration action %r", plugin, action)
        return list(actions.values())

    def run_integration_action(
        self, slug: str, action: str, settings: BaseModel, state: Mapping[str, Any]
    ) -> ActionResult:
        """Run an offered action; a plugin's failure is logged and told as a failed result."""
        hook = FirstResult(self.pm.hook.alertgate_run_integration_action)
        try:
            plugin, result = hook(
                integration_type=slug,
                action=action,
                settings=settings,
                state=state,
                context=self.context,
            )
        except PluginHookError as exc:
            log_plugin_error(exc)
            return ActionResult(False, f"The plugin {exc.plugin!r} failed to run it.")
        if not isinstance(result, ActionResult):
            if result is not None:
                log.warning("plugin %r ran %r and returned %r", plugin, action, result)
            return ActionResult(False, "No installed plugin runs this action.")
        return result

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

    def periodic_check(
        self,
        slug: str,
        integration_id: int,
        settings: BaseModel,
        state: Mapping[str, Any],
        now: datetime,
    ) -> list[ParseResult]:
        """Every plugin's ``alertgate_periodic_check`` result for one integration, its
        alerts fingerprinted and classified (see the hook).

        A plugin that raises or returns something else than a ``ParseResult`` (of
        ``Alert``) is logged and left out: one plugin's bug must not stop the checks of
        the others.
        """
        results: list[ParseResult] = []
        checked = self._each(
            "alertgate_periodic_check",
            skip_failed=True,
            integration_type=slug,
            integration_id=integration_id,
            settings=settings,
            state=state,
            now=now,
            context=self.context,
        )
        for plugin, result in checked:
            if result is None:
                continue
            if type(result) is not ParseResult or not all(
                type(alert) is Alert for alert in result.alerts
            ):
                log.error("plugin %r returned %r from alertgate_periodic_check", plugin, result)
                continue
            try:
                for alert in result.alerts:
                    self.complete_alert(slug, alert, settings)
            except PluginHookError:
                log.exception("periodic check of plugin %r: alert not completed", plugin)
                continue
            results.append(result)
        return results

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

    # -- notification channels (issue 19) --------------------------------------------------

    @functools.cached_property
    def channel_types(self) -> Mapping[str, ChannelType]:
        """Installed notification channel types by slug, sorted.

        :raises PluginError: A plugin's declaration failed, or two claim one slug.
        """
        found: dict[str, tuple[ChannelType, str]] = {}
        for impl in self.pm.hook.alertgate_channel_types.get_hookimpls():
            where = f"plugin {impl.plugin_name!r}"
            try:
                declared = cast(list[ChannelType], impl.function())
            except Exception as exc:
                raise PluginError(f"{where} failed to declare its channel types: {exc!r}") from exc
            for ctype in declared:
                if not isinstance(ctype, ChannelType):
                    raise PluginError(
                        f"{where} returned {ctype!r} from alertgate_channel_types; "
                        "expected alertgate.ChannelType"
                    )
                if ctype.slug in found:
                    raise PluginError(
                        f"channel type {ctype.slug!r} is claimed by {where} and by plugin "
                        f"{found[ctype.slug][1]!r}"
                    )
                found[ctype.slug] = (ctype, impl.plugin_name)
        return {slug: found[slug][0] for slug in sorted(found)}

    def get_channel_type(self, slug: str) -> ChannelType:
        try:
            return self.channel_types[slug]
        except KeyError:
            known = ", ".join(self.channel_types) or "none"
            raise UnknownIntegrationType(
                f"unknown channel type {slug!r} (installed: {known})"
            ) from None

    def send_notification(
        self, slug: str, notification: Notification, settings: BaseModel, http: OutboundHttp
    ) -> None:
        """Send through the channel type's plugin.

        :raises NotificationError: The plugin reported a failure, or none handles ``slug``.
        """
        sent = self.pm.hook.alertgate_send_notification(
            channel_type=slug, notification=notification, settings=settings, http=http
        )
        if sent is None:
            raise NotificationError(
                f"no installed plugin sends notifications of type {slug!r}", retryable=False
            )


def plugin_rows(plugins: Plugins) -> list[dict[str, Any]]:
    """One row per integration type, one per plugin that declares no type, and one per
    broken plugin (``status`` ``broken``, with its ``error``).

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
                "status": "ok",
                "error": None,
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
                    "status": "ok",
                    "error": None,
                }
            )
    for broken in plugins.broken:
        rows.append(
            {
                "slug": None,
                "title": None,
                "description": None,
                "docs_url": None,
                "plugin": broken.name,
                "distribution": broken.distribution,
                "version": broken.version,
                "builtin": broken.distribution == BUILTIN_DISTRIBUTION,
                "hooks": [],
                "status": "broken",
                "error": broken.error,
            }
        )
    return rows


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
    "plugin_rows",
]

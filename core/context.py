"""What the core hands every plugin: process settings and a place for its runtime objects.

A :class:`PluginContext` is built once per process (per plugin registry) from the core
:class:`~alertgate.settings.Settings` and an environment mapping passed in explicitly, never
from process globals read on each delivery. Plugins receive it in ``alertgate_configure``
(where they build their storage-free runtime, e.g. a certificate cache and an HTTP client,
and keep it in :attr:`PluginContext.stash`) and, on every delivery, as
``ParseContext.plugin_context``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel

from alertgate.settings import Settings

T = TypeVar("T")
ModelT = TypeVar("ModelT", bound=BaseModel)


class StashKey(Generic[T]):
    """A typed key of :attr:`PluginContext.stash` (as pytest's ``StashKey``).

    Make one per runtime object at module level; keys compare by identity, so two plugins
    never collide even with the same ``name`` (which only shows up in error messages).
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"StashKey({self.name!r})"


class Stash:
    """Runtime objects plugins keep for the life of the process, by :class:`StashKey`."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[StashKey[Any], Any] = {}

    def __setitem__(self, key: StashKey[T], value: T) -> None:
        self._items[key] = value

    def __getitem__(self, key: StashKey[T]) -> T:
        # No typing.cast (a call) here: this runs on every delivery.
        try:
            return self._items[key]  # type: ignore[no-any-return]
        except KeyError:
            raise KeyError(
                f"{key!r} is not in the plugin context: the plugin that provides it is not "
                "installed, is disabled, or its alertgate_configure did not run"
            ) from None

    def get(self, key: StashKey[T], default: T | None = None) -> T | None:
        return self._items.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._items


def settings_from_environ(model: type[ModelT], environ: Mapping[str, str]) -> ModelT:
    """Validate ``model`` from ``environ`` only (not ``os.environ``).

    Each field is read from ``<env_prefix><FIELD NAME>`` in upper case (the model's
    ``model_config["env_prefix"]``, as pydantic-settings names it); absent variables keep
    the field's default. Values are strings, converted by pydantic's lax mode, so plugin
    settings are scalars (numbers, booleans, paths, strings).

    :raises pydantic.ValidationError: A variable holds a value the field refuses.
    """
    prefix = str(model.model_config.get("env_prefix", ""))
    # Every field gets a value (its default when the variable is absent): a
    # pydantic-settings model would otherwise fill the gaps from os.environ, and the
    # environment given here is the only one that counts.
    values = {
        name: environ[key]
        if (key := f"{prefix}{name}".upper()) in environ
        else field.get_default(call_default_factory=True)
        for name, field in model.model_fields.items()
    }
    return model.model_validate(values)


def environment_names(model: type[BaseModel]) -> list[str]:
    """The environment variables :func:`settings_from_environ` reads for ``model``."""
    prefix = str(model.model_config.get("env_prefix", ""))
    return [f"{prefix}{name}".upper() for name in model.model_fields]


@dataclass(frozen=True, eq=False)
class PluginContext:
    """Settings and runtime objects shared by the plugins of one process.

    :ivar settings: The core settings the process runs with.
    :ivar environ: The environment the context was built from (a snapshot: later changes
        to ``os.environ`` do not reach plugins; build a new context for them).
    :ivar plugin_settings: Each plugin's settings model (``alertgate_settings_model``),
        validated from ``environ``; read them with :meth:`settings_of`.
    :ivar stash: Runtime objects plugins store in ``alertgate_configure``.
    """

    settings: Settings
    environ: Mapping[str, str]
    plugin_settings: Mapping[type[BaseModel], BaseModel] = field(default_factory=dict)
    stash: Stash = field(default_factory=Stash)

    def settings_of(self, model: type[ModelT]) -> ModelT:
        """This process's instance of a plugin settings model.

        A model no installed plugin declared is validated from :attr:`environ` on the spot
        (e.g. a plugin used directly, outside the registry).
        """
        found = self.plugin_settings.get(model)
        if found is None:
            return settings_from_environ(model, self.environ)
        return cast(ModelT, found)


__all__ = [
    "PluginContext",
    "Stash",
    "StashKey",
    "environment_names",
    "settings_from_environ",
]

"""Which plugins this alertgate can load: the hook-API range a plugin declares.

A plugin module (or object) may declare the versions of the plugin contract it was written
for, as a module attribute::

    ALERTGATE_HOOK_API = ">=1.0,<2"

The range is checked against :data:`alertgate.HOOK_API_VERSION` when the plugin is loaded;
a plugin that declares a range this alertgate is outside of fails to load with a
:class:`~alertgate.errors.PluginError` naming it. A plugin that declares nothing is loaded
(and trusted to cope). The syntax is a subset of PEP 440 specifiers, enough for a
``major.minor`` API version and parsed here so alertgate does not depend on ``packaging``:
comma-separated clauses of ``>=``, ``>``, ``<=``, ``<``, ``==``, ``!=`` or ``~=`` followed by
a dotted number; ``==1.*`` matches every 1.x.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import alertgate
from alertgate.errors import PluginError

ATTRIBUTE = "ALERTGATE_HOOK_API"

_CLAUSE = re.compile(r"\s*(~=|==|!=|<=|>=|<|>)\s*(\d+(?:\.\d+)*)(\.\*)?\s*")

Version = tuple[int, ...]


def parse_version(text: str) -> Version:
    """``"1.2"`` -> ``(1, 2)``. Trailing zeros do not matter when comparing."""
    if not re.fullmatch(r"\d+(\.\d+)*", text.strip()):
        raise ValueError(f"not a version: {text!r}")
    return tuple(int(part) for part in text.strip().split("."))


def _padded(a: Version, b: Version) -> tuple[Version, Version]:
    width = max(len(a), len(b))
    return a + (0,) * (width - len(a)), b + (0,) * (width - len(b))


def _cmp(a: Version, b: Version) -> int:
    left, right = _padded(a, b)
    return (left > right) - (left < right)


def _prefix_match(version: Version, prefix: Version) -> bool:
    padded, _ = _padded(version, prefix)
    return padded[: len(prefix)] == prefix


def _clause(op: str, bound: Version, wildcard: bool) -> Callable[[Version], bool]:
    if wildcard:
        if op not in ("==", "!="):
            raise ValueError(f"'.*' only goes with == or !=, not {op}")
        wanted = op == "=="
        return lambda v: _prefix_match(v, bound) == wanted
    if op == "~=":
        if len(bound) < 2:
            raise ValueError("~= needs at least two version parts, e.g. ~=1.2")
        return lambda v: _cmp(v, bound) >= 0 and _prefix_match(v, bound[:-1])
    tests: dict[str, Callable[[int], bool]] = {
        "==": lambda c: c == 0,
        "!=": lambda c: c != 0,
        "<": lambda c: c < 0,
        "<=": lambda c: c <= 0,
        ">": lambda c: c > 0,
        ">=": lambda c: c >= 0,
    }
    test = tests[op]
    return lambda v: test(_cmp(v, bound))


def matches(specifier: str, version: str) -> bool:
    """Whether ``version`` satisfies every clause of ``specifier``.

    :raises ValueError: The specifier is not in the supported syntax.
    """
    clauses = specifier.split(",")
    if not specifier.strip() or any(not part.strip() for part in clauses):
        raise ValueError(f"empty clause in {specifier!r}")
    target = parse_version(version)
    for part in clauses:
        found = _CLAUSE.fullmatch(part)
        if found is None:
            raise ValueError(f"cannot read {part.strip()!r} (expected e.g. '>=1.0,<2')")
        op, bound, wildcard = found.groups()
        if not _clause(op, parse_version(bound), wildcard is not None)(target):
            return False
    return True


def check_plugin(plugin: object, where: str, api_version: str | None = None) -> None:
    """Refuse a plugin whose declared ``ALERTGATE_HOOK_API`` range excludes this alertgate.

    :param plugin: The loaded plugin module or object.
    :param where: How to name it in the error, e.g. "plugin 'x' (distribution 'y' 1.0)".
    :param api_version: The version to check against (default: the running one).
    :raises PluginError: The range is malformed or does not include the hook-API version.
    """
    declared = getattr(plugin, ATTRIBUTE, None)
    if declared is None:
        return
    api_version = api_version or alertgate.HOOK_API_VERSION
    if not isinstance(declared, str):
        raise PluginError(f"{where} declares {ATTRIBUTE} = {declared!r}; expected a string")
    try:
        ok = matches(declared, api_version)
    except ValueError as exc:
        problem = f"{where} declares an unreadable {ATTRIBUTE} {declared!r}: {exc}"
        raise PluginError(problem) from None
    if not ok:
        raise PluginError(
            f"{where} supports alertgate hook API {declared!r}, but this alertgate provides "
            f"hook API {api_version}: install a version of the plugin made for it"
        )

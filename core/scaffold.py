"""What ``alertgate plugin new NAME`` writes: a third-party plugin package that works as is.

The package adds integration type ``NAME`` for a generic JSON webhook (one alert per post,
``status`` ``firing`` or ``resolved``), uses only the public API (``from alertgate import
...``), declares the hook-API range it was written for, and comes with sample payloads and
tests that use :mod:`alertgate.testing` and pass as generated. The author then changes the
parser to the format of the source they integrate.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from string import Template

import alertgate

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{1,39}")


class ScaffoldError(Exception):
    """The name or the target directory cannot be used; the message says why."""


def check_name(name: str) -> str:
    """A slug that is also a Python identifier: lower-case letters, digits, underscores."""
    if not NAME_PATTERN.fullmatch(name) or name.endswith("_") or "__" in name:
        raise ScaffoldError(
            f"{name!r} is not a valid integration type slug: use 2-40 lower-case letters, "
            "digits and single underscores, starting with a letter (e.g. grafana_alerting)"
        )
    if keyword.iskeyword(name):
        raise ScaffoldError(f"{name!r} is a Python keyword")
    return name


def hook_api_range(version: str | None = None) -> str:
    """The range a new plugin declares: this hook API up to the next major version."""
    major, _, minor = (version or alertgate.HOOK_API_VERSION).partition(".")
    return f">={major}.{minor or 0},<{int(major) + 1}"


def render(name: str) -> dict[str, str]:
    """The files of the new package, by path relative to its directory."""
    slug = check_name(name)
    values = {
        "slug": slug,
        "package": f"alertgate_{slug}",
        "distribution": f"alertgate-{slug.replace('_', '-')}",
        "title": slug.replace("_", " ").title(),
        "hook_api": hook_api_range(),
        "alertgate_version": alertgate.__version__,
    }
    return {
        Template(path).substitute(values): Template(text).substitute(values)
        for path, text in _FILES.items()
    }


def write(name: str, directory: Path) -> list[Path]:
    """Write the package into ``directory`` (created; must not exist or be empty).

    :raises ScaffoldError: Bad name, or ``directory`` is a file or not empty.
    """
    files = render(name)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ScaffoldError(f"{directory} exists and is not an empty directory; not overwriting")
    written = []
    for relative, text in sorted(files.items()):
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


_PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "$distribution"
version = "0.1.0"
description = "alertgate plugin: the $slug integration type"
readme = "README.md"
requires-python = ">=3.11"
# The hook-API range this plugin supports is ALERTGATE_HOOK_API in the package; alertgate
# checks it when it loads the plugin. This pin only keeps pip from pairing it with an
# alertgate older than the one it was written for.
dependencies = ["alertgate>=$alertgate_version", "pydantic>=2"]

[project.optional-dependencies]
test = ["pytest>=8"]

# The entry point alertgate discovers plugins through: name = integration type slug.
[project.entry-points."alertgate.plugins"]
$slug = "$package"

[tool.setuptools.packages.find]
where = ["src"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

_PLUGIN = '''\
"""alertgate plugin: the ``$slug`` integration type.

A source posts JSON to the Integration URL, one alert per request::

    {"id": "evt-1", "name": "disk full on db-1", "status": "firing",
     "severity": "critical", "summary": "...", "time": "2026-03-01T12:00:00Z"}

``status`` ``firing`` opens (or joins) an incident, ``resolved`` resolves it; alerts with the
same ``name`` (or ``fingerprint``, when given) group into one incident. Change the parser
below to the format of your source.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alertgate import (
    Action,
    Alert,
    InboundRequest,
    IntegrationType,
    MalformedDelivery,
    ParseContext,
    ParseResult,
    Severity,
    hookimpl,
)

SLUG = "$slug"
ALERTGATE_HOOK_API = "$hook_api"
"""The alertgate hook-API versions this plugin works with (checked when it is loaded)."""

MAX_BODY_BYTES = 256 * 1024


class Settings(BaseModel):
    """Per-integration options, validated when an integration is created."""

    # A misspelt option is an error instead of being ignored.
    model_config = ConfigDict(extra="forbid")

    default_severity: Severity = Field(
        Severity.ERROR, description="Severity of alerts that do not say."
    )


@hookimpl
def alertgate_integration_types() -> list[IntegrationType]:
    return [
        IntegrationType(
            slug=SLUG,
            title="$title",
            description="JSON alerts posted by $title: firing opens, resolved resolves.",
            docs_url="https://pypi.org/project/$distribution/",
            settings_model=Settings,
            parses_inline=True,  # pure computation: parse on the event loop
        )
    ]


def _field(doc: dict[str, Any], key: str, limit: int = 1000) -> str:
    value = doc.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedDelivery("invalid_field", f"{key!r} must be a string")
    return value[:limit]


def _time(text: str) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedDelivery("invalid_time", "'time' must be an ISO 8601 time") from None
    if when.tzinfo is None:
        raise MalformedDelivery("invalid_time", "'time' needs a timezone")
    return when.astimezone(UTC)


@hookimpl
def alertgate_parse_request(
    integration_type: str, request: InboundRequest, context: ParseContext
) -> ParseResult | None:
    if integration_type != SLUG:
        return None
    if len(request.body) > MAX_BODY_BYTES:
        raise MalformedDelivery("too_large", f"body over {MAX_BODY_BYTES} bytes")
    try:
        doc = json.loads(request.body)
    except (ValueError, RecursionError):
        raise MalformedDelivery("invalid_json", "the body is not JSON") from None
    if not isinstance(doc, dict):
        raise MalformedDelivery("invalid_alert", "expected a JSON object")
    name = _field(doc, "name", 200)
    status = _field(doc, "status")
    if not name or status not in ("firing", "resolved"):
        raise MalformedDelivery(
            "invalid_alert", "expected 'name' and 'status' ('firing' or 'resolved')"
        )
    settings = context.settings
    assert isinstance(settings, Settings)
    try:
        severity = Severity(_field(doc, "severity") or settings.default_severity)
    except ValueError:
        severity = settings.default_severity
    alert = Alert(
        title=name,
        source_time=_time(_field(doc, "time", 64)),
        dedupe_key=_field(doc, "id", 200) or None,
        kind=SLUG,
        severity=severity,
        summary=_field(doc, "summary"),
        attributes={
            "name": name,
            "status": status,
            "fingerprint": _field(doc, "fingerprint", 200),
        },
        payload=doc,
    )
    return ParseResult(alerts=[alert], note=f"{name!r} {status}")


@hookimpl
def alertgate_fingerprint(integration_type: str, alert: Alert) -> str | None:
    if integration_type != SLUG:
        return None
    return f"{SLUG}:{alert.attributes['fingerprint'] or alert.attributes['name']}"


@hookimpl
def alertgate_classify(integration_type: str, alert: Alert) -> Action | None:
    if integration_type != SLUG:
        return None
    return Action.RESOLVE if alert.attributes["status"] == "resolved" else Action.TRIGGER
'''

_TESTS = '''\
"""Tests of the $slug plugin, with alertgate.testing."""

from __future__ import annotations

from pathlib import Path

from alertgate.testing import DeliveryClient, build_plugins, check_integration_type

SLUG = "$slug"
SAMPLES = Path(__file__).parent / "samples"
JSON = {"content-type": "application/json"}


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def test_installed_through_its_entry_point() -> None:
    registered = build_plugins().types[SLUG]
    assert registered.plugin.distribution == "$distribution"


def test_keeps_the_plugin_contract() -> None:
    check_integration_type(
        SLUG,
        trigger=[sample("firing.json")],
        resolve=[sample("resolved.json")],
        garbage=[b"", b"{", b"[]", b'{"name": "x", "status": "maybe"}'],
        headers=JSON,
    )


def test_firing_opens_repeat_joins_resolved_resolves(alertgate_client: DeliveryClient) -> None:
    opened = alertgate_client.post(SLUG, sample("firing.json"), headers=JSON)
    assert opened.status_code == 200, opened.body
    assert opened.outcomes == ["opened"]
    [incident] = opened.incidents
    assert incident.title == "disk full on db-1"
    assert incident.severity == "critical"

    redelivered = alertgate_client.post(SLUG, sample("firing.json"), headers=JSON)
    assert redelivered.outcomes == ["duplicate"]

    resolved = alertgate_client.post(SLUG, sample("resolved.json"), headers=JSON)
    assert resolved.outcomes == ["resolved"]
    assert [i.status for i in alertgate_client.incidents()] == ["resolved"]


def test_garbage_is_refused_with_a_code(alertgate_client: DeliveryClient) -> None:
    answer = alertgate_client.post(SLUG, b"not json", headers=JSON)
    assert answer.status_code == 400
    assert answer.json["code"] == "invalid_json"
'''

_FIRING = """\
{
  "id": "evt-1",
  "name": "disk full on db-1",
  "status": "firing",
  "severity": "critical",
  "summary": "/var/lib/db is 97% full",
  "time": "2026-03-01T12:00:00Z"
}
"""

_RESOLVED = """\
{
  "id": "evt-2",
  "name": "disk full on db-1",
  "status": "resolved",
  "summary": "/var/lib/db is 61% full",
  "time": "2026-03-01T12:20:00Z"
}
"""

_README = """\
# $distribution

An [alertgate](https://github.com/alertgate/alertgate) plugin: the `$slug` integration
type. A source posts JSON alerts to an Integration URL; `"status": "firing"` opens an
incident, `"resolved"` resolves it, and alerts with the same `name` (or `fingerprint`)
group into one incident.

## Develop

```sh
pip install -e '.[test]'      # installs the plugin next to alertgate
alertgate plugins             # lists $slug
python -m pytest              # tests with alertgate.testing
alertgate parse --type $slug tests/samples/firing.json   # what the parser makes of a file
```

Change `alertgate_parse_request` in `src/$package/__init__.py` to your source's format and
put real payloads in `tests/samples/` (say where each comes from).

## Use

```sh
alertgate integrations create --service checkout --type $slug
curl -X POST -H 'content-type: application/json' --data @tests/samples/firing.json <Integration URL>
```

## Compatibility

`ALERTGATE_HOOK_API = "$hook_api"` in the package is the range of alertgate hook-API
versions this plugin supports; alertgate refuses to load it, naming it, when its
`alertgate.HOOK_API_VERSION` is outside that range.

## Publish

```sh
python -m pip install build twine
python -m build
python -m twine upload dist/*
```
"""

_GITIGNORE = """\
__pycache__/
*.egg-info/
build/
dist/
.pytest_cache/
"""

_FILES: dict[str, str] = {
    "pyproject.toml": _PYPROJECT,
    "README.md": _README,
    ".gitignore": _GITIGNORE,
    "src/$package/__init__.py": _PLUGIN,
    "tests/test_$slug.py": _TESTS,
    "tests/samples/firing.json": _FIRING,
    "tests/samples/resolved.json": _RESOLVED,
}

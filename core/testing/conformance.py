"""``check_integration_type``: does an integration type keep the plugin contract?

It runs the plugin the way production does (the real app, a temporary SQLite database,
deliveries over the Integration URL) and raises :class:`AssertionError` naming the first
thing that broke, so a plugin's own test suite can call it with its sample payloads.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from alertgate.models import Action, Alert, InboundRequest, ParseContext, ParseResult
from alertgate.registry import Plugins
from alertgate.testing.app import DeliveryResult, TestApp, TestIntegration, build_plugins

UNKNOWN_KEY = "alertgate_conformance_unknown_key"

Body = bytes | str


def check_integration_type(
    slug: str,
    *,
    trigger: Sequence[Body],
    resolve: Sequence[Body],
    garbage: Sequence[Body] = (),
    headers: Mapping[str, str] | None = None,
    settings: Mapping[str, Any] | None = None,
    plugins: Plugins | None = None,
) -> None:
    """Check integration type ``slug`` against the plugin contract.

    :param trigger: Request bodies that each open an incident.
    :param resolve: Request bodies; ``resolve[i]`` resolves what ``trigger[i]`` opened.
    :param garbage: Bodies the type must refuse with a 4xx and a JSON ``code``.
    :param headers: Headers sent with every body (e.g. a content type or a shared secret).
    :param settings: The integration's settings.
    :param plugins: The plugins to run (default: the installed ones, see
        :func:`~alertgate.testing.build_plugins`).
    :raises AssertionError: What broke: the settings model accepts unknown keys; a sample's
        fingerprint is not a stable non-empty string; ``resolve[i]`` does not resolve what
        ``trigger[i]`` opened; a garbage body got anything but a 4xx with a JSON ``code``;
        a hook raised.
    """
    if len(trigger) != len(resolve):
        raise ValueError(f"{len(trigger)} trigger samples but {len(resolve)} resolve samples")
    if not trigger:
        raise ValueError("give at least one trigger/resolve pair")
    plugins = plugins or build_plugins()
    model = plugins.get_type(slug).settings_model
    _check_settings_model(slug, model, settings)
    with (
        tempfile.TemporaryDirectory(prefix="alertgate-check-") as tmp,
        _hook_errors() as errors,
        TestApp(Path(tmp), plugins) as app,
    ):
        checker = _Checker(app, slug, dict(headers or {}), settings)
        for kind, bodies in (("trigger", trigger), ("resolve", resolve)):
            for i, body in enumerate(bodies):
                checker.check_fingerprints(f"{kind}[{i}]", body)
                _raise_hook_errors(errors, f"parsing {kind}[{i}]")
        for i, (opening, closing) in enumerate(zip(trigger, resolve, strict=True)):
            checker.check_pair(i, opening, closing)
            _raise_hook_errors(errors, f"delivering trigger[{i}] and resolve[{i}]")
        for i, body in enumerate(garbage):
            checker.check_garbage(i, body)
            _raise_hook_errors(errors, f"delivering garbage[{i}]")


def _check_settings_model(
    slug: str, model: type[BaseModel], settings: Mapping[str, Any] | None
) -> None:
    try:
        model.model_validate(dict(settings or {}))
    except ValidationError as exc:
        raise AssertionError(f"{slug}: the settings given are invalid: {exc}") from None
    try:
        model.model_validate({**dict(settings or {}), UNKNOWN_KEY: True})
    except ValidationError:
        return
    raise AssertionError(
        f"{slug}: settings model {model.__qualname__} accepts unknown keys (a typo in a "
        "setting would be silently ignored); set model_config = ConfigDict(extra='forbid')"
    )


class _Checker:
    def __init__(
        self, app: TestApp, slug: str, headers: dict[str, str], settings: Mapping[str, Any] | None
    ) -> None:
        self.app = app
        self.slug = slug
        self.headers = headers
        self.settings = settings
        model = app.plugins.get_type(slug).settings_model
        self.validated = model.model_validate(dict(settings or {}))

    def _integration(self) -> TestIntegration:
        """A new integration on a new service: samples do not group with one another."""
        return self.app.integration(self.slug, self.settings)

    def _parse(self, name: str, body: Body) -> list[Alert]:
        """Parse as the server does, checking each hook's raw answer on the way.

        The raw answers are what this check is about, so the hooks are called here rather
        than through :meth:`Plugins.parse`, which coerces them.
        """
        hook = self.app.plugins.pm.hook
        raw = body.encode() if isinstance(body, str) else body
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = InboundRequest(raw, headers, headers.get("content-type", ""), "127.0.0.1")
        context = ParseContext(
            0, self.slug, self.validated, {}, plugin_context=self.app.plugins.context
        )
        try:
            result: ParseResult | None = hook.alertgate_parse_request(
                integration_type=self.slug, request=request, context=context
            )
        except Exception as exc:
            raise AssertionError(f"{self.slug}: parsing {name} raised {exc!r}") from exc
        if result is None:
            raise AssertionError(f"{self.slug}: no plugin parsed {name} (every hook said None)")
        for alert in result.alerts:
            where = f"{self.slug}: {name}, alert {alert.title!r}"
            fingerprint: Any = alert.fingerprint or None
            if fingerprint is None:
                try:
                    fingerprint = hook.alertgate_fingerprint(
                        integration_type=self.slug, alert=alert, settings=self.validated
                    )
                except Exception as exc:
                    raise AssertionError(f"{where}: alertgate_fingerprint raised {exc!r}") from exc
            if fingerprint is not None and (not isinstance(fingerprint, str) or not fingerprint):
                raise AssertionError(
                    f"{where}: fingerprint {fingerprint!r} ({type(fingerprint).__name__}) is "
                    "not a non-empty string"
                )
            try:
                action = hook.alertgate_classify(
                    integration_type=self.slug, alert=alert, settings=self.validated
                )
            except Exception as exc:
                raise AssertionError(f"{where}: alertgate_classify raised {exc!r}") from exc
            if action is not None and action not in set(Action):
                raise AssertionError(f"{where}: alertgate_classify returned {action!r}")
            self.app.plugins.complete_alert(self.slug, alert, self.validated)
        return result.alerts

    def check_fingerprints(self, name: str, body: Body) -> None:
        first = [a.fingerprint for a in self._parse(name, body)]
        second = [a.fingerprint for a in self._parse(name, body)]
        if not first:
            raise AssertionError(f"{self.slug}: {name} gave no alert")
        if first != second:
            raise AssertionError(
                f"{self.slug}: the fingerprint of {name} is not stable: parsed twice it "
                f"gave {first} then {second}"
            )

    def check_pair(self, i: int, opening: Body, closing: Body) -> None:
        integration = self._integration()
        opened = self.app.post(integration, opening, self.headers)
        self._expect_2xx(f"trigger[{i}]", opened)
        ids = {incident.id for incident in opened.incidents}
        if "opened" not in opened.outcomes or not ids:
            raise AssertionError(
                f"{self.slug}: trigger[{i}] opened no incident (outcomes {opened.outcomes})"
            )
        closed = self.app.post(integration, closing, self.headers)
        self._expect_2xx(f"resolve[{i}]", closed)
        still_open = [inc for inc in self.app.incidents(ids=ids) if inc.status != "resolved"]
        if still_open:
            found = ", ".join(f"#{inc.id} {inc.fingerprint!r} {inc.status}" for inc in still_open)
            resolving = [inc.fingerprint for inc in closed.incidents]
            raise AssertionError(
                f"{self.slug}: resolve[{i}] did not resolve what trigger[{i}] opened "
                f"({found}); resolve[{i}] gave outcomes {closed.outcomes}"
                + (f" on fingerprints {resolving}" if resolving else "")
            )

    def check_garbage(self, i: int, body: Body) -> None:
        answer = self.app.post(self._integration(), body, self.headers)
        doc = answer.json
        code = doc.get("code") if isinstance(doc, dict) else None
        if not 400 <= answer.status_code < 500 or not isinstance(code, str) or not code:
            raise AssertionError(
                f"{self.slug}: garbage[{i}] got {answer.status_code} {answer.body[:200]!r}; "
                "expected a 4xx with a JSON 'code' (raise MalformedDelivery)"
            )

    def _expect_2xx(self, name: str, answer: DeliveryResult) -> None:
        if not 200 <= answer.status_code < 300:
            raise AssertionError(
                f"{self.slug}: {name} was refused: {answer.status_code} {answer.body[:300]!r}"
            )


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


@contextlib.contextmanager
def _hook_errors() -> Iterator[_Collect]:
    """Exceptions alertgate caught and logged (lifecycle hooks, parse failures)."""
    handler = _Collect()
    logger = logging.getLogger("alertgate")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _raise_hook_errors(errors: _Collect, doing: str) -> None:
    if not errors.records:
        return
    record = errors.records[0]
    exc = record.exc_info[1] if record.exc_info else None
    errors.records.clear()
    raise AssertionError(f"a hook raised while {doing}: {record.getMessage()}: {exc!r}")

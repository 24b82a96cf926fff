"""The real application on a temporary SQLite database, served in memory for tests."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio.from_thread
import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from alertgate import compat
from alertgate.errors import PluginError
from alertgate.loading import strict_error
from alertgate.registry import PluginInfo, Plugins, load_plugins
from alertgate.server import admin
from alertgate.server.app import create_app
from alertgate.settings import Settings
from alertgate.storage import migrate
from alertgate.storage.database import make_engine, make_sessionmaker
from alertgate.storage.schema import Incident

TEST_DISTRIBUTION = "(registered by a test)"
PUBLIC_URL = "http://alertgate.test"


def build_plugins(*extra: object, disabled: tuple[str, ...] = ()) -> Plugins:
    """The installed plugins (entry points), plus ``extra`` plugins registered explicitly.

    An explicit plugin (a module or any object with ``@hookimpl`` functions) is registered
    after the entry points, so pluggy calls it first, and goes through the same checks:
    its ``ALERTGATE_HOOK_API`` range, hook names and signatures. A plugin that is already
    installed through its entry point is not registered twice.

    :param disabled: Entry-point names not to load.
    :raises PluginError: A plugin is broken: a test wants to know, not a 503 later.
    """
    plugins = load_plugins(disabled, strict=True)
    if not extra:
        return plugins
    pm = plugins.pm
    infos = dict(plugins.infos)
    for plugin in extra:
        if pm.is_registered(plugin):
            continue
        name = str(getattr(plugin, "__name__", None) or f"test-plugin-{uuid.uuid4().hex[:8]}")
        compat.check_plugin(plugin, f"plugin {name!r} (registered by a test)")
        pm.register(plugin, name=name)
        infos[name] = PluginInfo(name, TEST_DISTRIBUTION, "0", builtin=False)
    pm.check_pending()
    built = Plugins(pm, infos)
    if built.broken:
        raise PluginError(strict_error(built.broken))
    return built


@dataclass(frozen=True, slots=True)
class TestIntegration:
    """An integration created for a test: post to ``path`` to deliver to it."""

    __test__ = False  # not a pytest test class, despite the name

    id: int
    type: str
    key: str
    service_id: int

    @property
    def path(self) -> str:
        return f"/integrations/{self.key}"


@dataclass(frozen=True, slots=True)
class IncidentView:
    """An incident as stored, read back after a delivery."""

    id: int
    status: str
    fingerprint: str
    title: str
    severity: str
    alert_count: int
    resolved_by: str | None


@dataclass(slots=True)
class DeliveryResult:
    """The server's answer to one delivery and the incidents it touched, re-read afterwards."""

    status_code: int
    body: bytes
    incidents: list[IncidentView] = field(default_factory=list)

    @property
    def json(self) -> Any:
        """The answer as JSON (``None`` if it is not JSON)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def outcomes(self) -> list[str]:
        """What happened to each alert: opened, attached, resolved, duplicate, info, ..."""
        doc = self.json
        rows = doc.get("outcomes", []) if isinstance(doc, dict) else []
        return [str(row.get("outcome")) for row in rows if isinstance(row, dict)]


class TestApp:
    """alertgate as ``create_app`` builds it, on a fresh migrated SQLite file in ``directory``.

    Requests go through httpx's ASGI transport on an event loop in a helper thread, with the
    app's lifespan run around them, so :meth:`close` shuts everything down as a server
    would. Use it as a context manager or call :meth:`close`.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, directory: Path, plugins: Plugins | None = None, **settings: Any) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{directory / 'alertgate.db'}"
        migrate.upgrade(url)
        self._stack = contextlib.ExitStack()
        self.engine = make_engine(url)
        self._stack.callback(self.engine.dispose)
        self.sessions = make_sessionmaker(self.engine)
        self.plugins = plugins or build_plugins()
        self.settings = Settings(
            database_url=url,
            public_url=PUBLIC_URL,
            **{"sweep_interval_seconds": 0, **settings},
        )
        self._app: Starlette | None = None

    @property
    def app(self) -> Starlette:
        """The app, built (and its lifespan started) on first use rather than in the
        constructor, so environment a fixture sets after this one (``sns_signer``'s
        ``ALERTGATE_SNS_CERT_DIR``, say) still reaches the plugins' context."""
        if self._app is None:
            self._app = self._start()
        return self._app

    def _start(self) -> Starlette:
        app = create_app(self.settings, db_engine=self.engine, plugins=self.plugins)
        self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        lifespan = app.router.lifespan_context(app)
        self._stack.enter_context(self._portal.wrap_async_context_manager(lifespan))
        transport = httpx.ASGITransport(
            app=app, raise_app_exceptions=False, client=("127.0.0.1", 40000)
        )
        self._http = httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL)
        self._stack.callback(self._portal.call, self._http.aclose)
        return app

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Any request to the app (``kwargs`` as for :meth:`httpx.AsyncClient.request`)."""
        self.app  # noqa: B018 - started on first use
        return self._portal.call(lambda: self._http.request(method, path, **kwargs))

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> TestApp:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def integration(
        self,
        slug: str,
        settings: Mapping[str, Any] | None = None,
        *,
        service: str | None = None,
    ) -> TestIntegration:
        """A new integration of type ``slug`` (settings validated by the type's model), on
        ``service`` (created if missing; default: a new service)."""
        with self.sessions.begin() as session:
            org = admin.ensure_organization(session)
            name = service or f"test-{uuid.uuid4().hex[:10]}"
            try:
                found = admin.find_service(session, name, org.id)
            except admin.NotFound:
                found = admin.create_service(session, org, name)
            keyed = admin.create_integration(session, self.plugins, found, slug, settings=settings)
            return TestIntegration(keyed.integration.id, slug, keyed.key, found.id)

    def post(
        self,
        integration: TestIntegration,
        body: bytes | str,
        headers: Mapping[str, str] | None = None,
    ) -> DeliveryResult:
        """POST ``body`` to the integration's URL; the answer and the incidents it touched."""
        content = body.encode() if isinstance(body, str) else body
        response = self.request(
            "POST", integration.path, content=content, headers=dict(headers or {})
        )
        # Lifecycle hooks run after the commit, off the request path: wait for them, so
        # what they do (or raise) belongs to this delivery, not to the next one.
        self.app.state.alertgate.engine.flush_notifications()
        result = DeliveryResult(response.status_code, response.content)
        doc = result.json
        rows = doc.get("outcomes", []) if isinstance(doc, dict) else []
        ids = {row.get("incident_id") for row in rows if isinstance(row, dict)}
        result.incidents = self.incidents(ids={i for i in ids if isinstance(i, int)})
        return result

    def incidents(
        self, integration: TestIntegration | None = None, *, ids: set[int] | None = None
    ) -> list[IncidentView]:
        """Incidents (of one integration's service, or with the given ids), oldest first."""
        query = select(Incident).order_by(Incident.id)
        if integration is not None:
            query = query.where(Incident.service_id == integration.service_id)
        if ids is not None:
            if not ids:
                return []
            query = query.where(Incident.id.in_(ids))
        with self.sessions() as session:
            return [
                IncidentView(
                    id=row.id,
                    status=row.status,
                    fingerprint=row.fingerprint,
                    title=row.title,
                    severity=row.severity,
                    alert_count=row.alert_count,
                    resolved_by=row.resolved_by,
                )
                for row in session.scalars(query)
            ]


class DeliveryClient:
    """Posts deliveries to an integration of a given type, created on first use.

    One integration per (type, settings), all on one service, so deliveries of one test
    group and resolve into each other as they would in production.
    """

    def __init__(self, app: TestApp, service: str = "test-service") -> None:
        self.app = app
        self.service = service
        self._integrations: dict[tuple[str, str], TestIntegration] = {}

    def integration(self, slug: str, settings: Mapping[str, Any] | None = None) -> TestIntegration:
        key = (slug, json.dumps(dict(settings or {}), sort_keys=True, default=str))
        if key not in self._integrations:
            self._integrations[key] = self.app.integration(slug, settings, service=self.service)
        return self._integrations[key]

    def post(
        self,
        slug: str,
        body: bytes | str,
        *,
        headers: Mapping[str, str] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> DeliveryResult:
        """Deliver ``body`` to this client's integration of type ``slug``."""
        return self.app.post(self.integration(slug, settings), body, headers)

    def incidents(self) -> list[IncidentView]:
        """Every incident of this client's service, oldest first."""
        first = next(iter(self._integrations.values()), None)
        return [] if first is None else self.app.incidents(first)

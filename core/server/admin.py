"""Administrative operations on the database, shared by the admin API and the CLI.

Every function takes an open :class:`~sqlalchemy.orm.Session` and an organization scope
where the caller has one (API tokens see only their organization's data; the CLI, which
works on the database directly like ``manage.py``, may pass ``None`` for "all"). Failures
are :class:`AdminError` subclasses with a stable ``code``; the API turns them into JSON
errors and the CLI into exit status 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import ValidationError
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alertgate.engine.types import IncidentChange, IncidentNotFound
from alertgate.notify.routing import bump_version
from alertgate.notify.sqlexec import ConnExec
from alertgate.registry import Plugins, UnknownIntegrationType
from alertgate.server import keys
from alertgate.server.links import merge_links
from alertgate.storage.schema import (
    Alert,
    ApiToken,
    Incident,
    Integration,
    NotificationChannel,
    NotificationRule,
    Organization,
    Service,
    Silence,
    WebSession,
)

if TYPE_CHECKING:
    from alertgate.engine import IngestEngine

DEFAULT_ORGANIZATION = "default"
INCIDENT_STATUSES = ("triggered", "acknowledged", "resolved")
NAME_MAX = 200
DESCRIPTION_MAX = 5000
MAX_ID = 2**62
"""Larger ids cannot exist (BIGINT) and would overflow SQLite's driver."""


class AdminError(Exception):
    """An operation was refused; ``code`` is stable, ``message`` is for humans."""

    status_code = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotFound(AdminError):
    status_code = 404


class Conflict(AdminError):
    status_code = 409


class InvalidInput(AdminError):
    status_code = 422


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything alertgate stores is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


NAME_WHITESPACE = " \t\n\r\v\f"
"""What names are trimmed of: ASCII white space only, the same set the API's schema
pattern names, so the document and the server agree on which names are blank."""


def _check_name(name: str, what: str) -> str:
    name = name.strip(NAME_WHITESPACE)
    if not name or len(name) > NAME_MAX:
        raise InvalidInput("invalid_name", f"{what} name must be 1 to {NAME_MAX} characters")
    return name


# -- organizations and tokens --------------------------------------------------------------


def get_organization(session: Session, name: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        raise NotFound("organization_not_found", f"no organization named {name!r}")
    return org


def ensure_organization(session: Session, name: str | None = None) -> Organization:
    """The named organization (default: ``default``), created on first use."""
    name = _check_name(name or DEFAULT_ORGANIZATION, "organization")
    org = session.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        org = Organization(name=name, created_at=utcnow())
        session.add(org)
        try:
            session.flush()
        except IntegrityError:
            # Another process created it first: use theirs.
            session.rollback()
            return get_organization(session, name)
    return org


@dataclass(frozen=True, slots=True)
class NewToken:
    token: ApiToken
    secret: str


def create_token(session: Session, org: Organization, name: str = "") -> NewToken:
    """A new API token for ``org``; the secret is returned here and never again."""
    secret, token_hash, prefix = keys.new_api_token()
    token = ApiToken(
        organization_id=org.id,
        name=(name.strip() or "token")[:NAME_MAX],
        token_hash=token_hash,
        prefix=prefix,
        created_at=utcnow(),
    )
    session.add(token)
    session.flush()
    return NewToken(token, secret)


def authenticate_token(session: Session, secret: str) -> ApiToken | None:
    """The live token matching ``secret``, or ``None``."""
    if not secret or len(secret) > keys.MAX_SECRET_LENGTH:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == keys.hash_secret(secret)))
    if token is None or token.revoked_at is not None:
        return None
    return token


def list_tokens(session: Session, org_id: int | None = None) -> Sequence[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.id)
    if org_id is not None:
        query = query.where(ApiToken.organization_id == org_id)
    return session.scalars(query).all()


def revoke_token(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("token_not_found", f"no API token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    # Its web UI sign-ins end now (they are also refused while the token is revoked).
    session.execute(delete(WebSession).where(WebSession.token_id == token_id))
    return token


# -- services ------------------------------------------------------------------------------


def create_service(
    session: Session, org: Organization, name: str, description: str = ""
) -> Service:
    name = _check_name(name, "service")
    existing = session.scalar(
        select(Service).where(Service.organization_id == org.id, Service.name == name)
    )
    if existing is not None:
        raise Conflict("service_exists", f"service {name!r} already exists in {org.name!r}")
    service = Service(
        organization_id=org.id,
        name=name,
        description=description[:DESCRIPTION_MAX],
        created_at=utcnow(),
    )
    session.add(service)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            "service_exists", f"service {name!r} already exists in {org.name!r}"
        ) from None
    return service


def list_services(
    session: Session, org_id: int | None = None, *, limit: int | None = None, offset: int = 0
) -> Sequence[Service]:
    query = select(Service).order_by(Service.id).offset(offset)
    if org_id is not None:
        query = query.where(Service.organization_id == org_id)
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()


def count_services(session: Session, org_id: int | None = None) -> int:
    query = select(func.count()).select_from(Service)
    if org_id is not None:
        query = query.where(Service.organization_id == org_id)
    return session.scalar(query) or 0


OwnedRow = TypeVar("OwnedRow", Service, NotificationChannel, NotificationRule, Silence)


def get_owned(
    session: Session, model: type[OwnedRow], row_id: int, org_id: int | None, what: str
) -> OwnedRow:
    """Row ``row_id`` of a table with an ``organization_id``; another organization's row
    is ``NotFound`` exactly like a missing one (``{what}_not_found``)."""
    row = session.get(model, row_id)
    if row is None or (org_id is not None and row.organization_id != org_id):
        raise NotFound(f"{what}_not_found", f"no {what} with id {row_id}")
    return row


def get_service(session: Session, service_id: int, org_id: int | None = None) -> Service:
    return get_owned(session, Service, service_id, org_id, "service")


def find_service(session: Session, ref: str, org_id: int | None = None) -> Service:
    """A service by name (or by numeric id); ambiguous names across organizations fail."""
    query = select(Service).where(Service.name == ref)
    if org_id is not None:
        query = query.where(Service.organization_id == org_id)
    found = session.scalars(query).all()
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise Conflict(
            "service_ambiguous",
            f"{len(found)} organizations have a service named {ref!r}; pass --org",
        )
    # ASCII only: '³'.isdigit() is True but int('³') fails. Bounded: a larger number
    # cannot be an id and would overflow the database driver (a 500, not a 404); the
    # length test first, as int() refuses strings of more than 4300 digits.
    if ref.isascii() and ref.isdigit() and len(ref) <= 19 and int(ref) <= MAX_ID:
        return get_service(session, int(ref), org_id)
    raise NotFound("service_not_found", f"no service named {ref!r}")


def update_service(
    session: Session, service: Service, *, name: str | None = None, description: str | None = None
) -> Service:
    """Rename a service or change its description; names stay unique in the organization."""
    if description is not None:
        if len(description) > DESCRIPTION_MAX:
            raise InvalidInput(
                "invalid_description", f"description must be at most {DESCRIPTION_MAX} characters"
            )
        service.description = description
    if name is not None:
        name = _check_name(name, "service")
        if name != service.name:
            taken = session.scalar(
                select(Service.id).where(
                    Service.organization_id == service.organization_id, Service.name == name
                )
            )
            if taken is not None:
                raise Conflict("service_exists", f"a service named {name!r} already exists")
            service.name = name
    session.flush()
    return service


@dataclass(frozen=True, slots=True)
class ServiceImpact:
    """What deleting a service deletes with it, to state before it is confirmed."""

    integrations: int
    """Its integrations: their URLs stop working."""
    incidents: int
    open_incidents: int
    alerts: int
    """Every alert its integrations received."""


def service_impact(session: Session, service: Service) -> ServiceImpact:
    integrations = session.scalar(
        select(func.count()).select_from(Integration).where(Integration.service_id == service.id)
    )
    alerts = session.scalar(
        select(func.count()).select_from(Alert).where(Alert.service_id == service.id)
    )
    total, open_count = _incident_counts(session, Incident.service_id == service.id)
    return ServiceImpact(integrations or 0, total, open_count, alerts or 0)


def delete_service(session: Session, service: Service) -> ServiceImpact:
    """Delete a service with everything it owns: its integrations (their URLs stop
    working), incidents with their alerts and notes, and the notification rules and
    silences scoped to it (the database cascades). The audit log keeps its history."""
    impact = service_impact(session, service)
    session.delete(service)
    session.flush()
    # Its rules and silences went too: processes reload their routing table.
    bump_version(ConnExec(session.connection()))
    return impact


# -- integrations --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyedIntegration:
    """An integration together with its key, which exists only at creation and rotation."""

    integration: Integration
    key: str


MAX_RATE_LIMIT = 100_000_000


def _check_rate_limit(value: int | None) -> int | None:
    if value is not None and not 0 <= value <= MAX_RATE_LIMIT:
        raise InvalidInput(
            "invalid_rate_limit", f"rate_limit_per_minute must be 0 to {MAX_RATE_LIMIT}"
        )
    return value


def _validated_settings(
    plugins: Plugins, slug: str, raw: Mapping[str, Any] | None, *, strict: bool = False
) -> dict[str, Any]:
    try:
        # Strict for JSON input (the API): see Plugins.validate_settings.
        model = plugins.validate_settings(slug, raw, strict=strict)
    except UnknownIntegrationType as exc:
        raise InvalidInput("unknown_integration_type", str(exc.args[0])) from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidInput("invalid_settings", f"invalid settings for {slug}: {problems}") from None
    return model.model_dump(mode="json")


def create_integration(
    session: Session,
    plugins: Plugins,
    service: Service,
    type_slug: str,
    name: str | None = None,
    settings: Mapping[str, Any] | None = None,
    rate_limit_per_minute: int | None = None,
    *,
    strict: bool = False,
) -> KeyedIntegration:
    """A new integration of ``type_slug`` on ``service``, with validated settings.

    :param rate_limit_per_minute: Its Integration URL's limit; ``None`` takes the server's
        default (``ALERTGATE_RATE_LIMIT_PER_MINUTE``), 0 is unlimited.
    :param strict: Settings came as JSON (the API): no type coercion.
    """
    clean = _validated_settings(plugins, type_slug, settings, strict=strict)
    title = plugins.get_type(type_slug).title
    key, key_hash, prefix = keys.new_integration_key()
    integration = Integration(
        service_id=service.id,
        type=type_slug,
        name=_check_name(name or title, "integration"),
        key_hash=key_hash,
        key_prefix=prefix,
        settings=clean,
        state={},
        enabled=True,
        rate_limit_per_minute=_check_rate_limit(rate_limit_per_minute),
        created_at=utcnow(),
    )
    session.add(integration)
    session.flush()
    return KeyedIntegration(integration, key)


def list_integrations(
    session: Session,
    org_id: int | None = None,
    service_id: int | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> Sequence[Integration]:
    query = select(Integration).order_by(Integration.id).offset(offset)
    if org_id is not None:
        query = query.join(Service).where(Service.organization_id == org_id)
    if service_id is not None:
        query = query.where(Integration.service_id == service_id)
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()


def count_integrations(
    session: Session, org_id: int | None = None, service_id: int | None = None
) -> int:
    query = select(func.count()).select_from(Integration)
    if org_id is not None:
        query = query.join(Service).where(Service.organization_id == org_id)
    if service_id is not None:
        query = query.where(Integration.service_id == service_id)
    return session.scalar(query) or 0


def get_integration(
    session: Session, integration_id: int, org_id: int | None = None
) -> Integration:
    integration = session.get(Integration, integration_id)
    if integration is None:
        raise NotFound("integration_not_found", f"no integration with id {integration_id}")
    if org_id is not None:
        service = session.get(Service, integration.service_id)
        if service is None or service.organization_id != org_id:
            raise NotFound("integration_not_found", f"no integration with id {integration_id}")
    return integration


def rotate_key(session: Session, integration: Integration) -> KeyedIntegration:
    """Replace the integration's key: the old Integration URL stops working."""
    key, key_hash, prefix = keys.new_integration_key()
    integration.key_hash = key_hash
    integration.key_prefix = prefix
    session.flush()
    return KeyedIntegration(integration, key)


def update_integration(
    session: Session,
    plugins: Plugins,
    integration: Integration,
    *,
    name: str | None = None,
    settings: Mapping[str, Any] | None = None,
    enabled: bool | None = None,
    rate_limit_per_minute: int | Literal["unchanged"] | None = "unchanged",
    strict: bool = False,
) -> Integration:
    """Change what is given; ``rate_limit_per_minute=None`` returns to the default."""
    if rate_limit_per_minute != "unchanged":
        integration.rate_limit_per_minute = _check_rate_limit(rate_limit_per_minute)
    if name is not None:
        integration.name = _check_name(name, "integration")
    if settings is not None:
        integration.settings = _validated_settings(
            plugins, integration.type, settings, strict=strict
        )
    if enabled is not None:
        integration.enabled = enabled
    session.flush()
    return integration


# -- incidents -----------------------------------------------------------------------------


def list_incidents(
    session: Session,
    org_id: int | None = None,
    *,
    service_id: int | None = None,
    status: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[Sequence[Incident], int]:
    """Incidents, newest first, and the total matching the filters."""
    query = select(Incident)
    if org_id is not None:
        query = query.join(Service, Service.id == Incident.service_id).where(
            Service.organization_id == org_id
        )
    if service_id is not None:
        query = query.where(Incident.service_id == service_id)
    if status is not None:
        if status == "open":
            query = query.where(Incident.status.in_(("triggered", "acknowledged")))
        elif status in INCIDENT_STATUSES:
            query = query.where(Incident.status == status)
        else:
            raise InvalidInput(
                "invalid_status",
                f"status must be one of {', '.join((*INCIDENT_STATUSES, 'open'))}",
            )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = query.order_by(Incident.id.desc()).offset(offset)
    if limit is not None:
        page = page.limit(limit)
    return session.scalars(page).all(), total


def get_incident(session: Session, incident_id: int, org_id: int | None = None) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound("incident_not_found", f"no incident with id {incident_id}")
    if org_id is not None:
        service = session.get(Service, incident.service_id)
        if service is None or service.organization_id != org_id:
            raise NotFound("incident_not_found", f"no incident with id {incident_id}")
    return incident


def incident_alerts(session: Session, incident_id: int, limit: int = 1000) -> Sequence[Alert]:
    query = (
        select(Alert)
        .where(Alert.incident_id == incident_id)
        .order_by(Alert.source_time, Alert.id)
        .limit(limit)
    )
    return session.scalars(query).all()


def incident_links(session: Session, incident_id: int, scan: int = 200) -> dict[str, str]:
    """The incident's links (:func:`merge_links` over its oldest ``scan`` alerts)."""
    rows = session.scalars(
        select(Alert.links)
        .where(Alert.incident_id == incident_id)
        .order_by(Alert.source_time, Alert.id)
        .limit(scan)
    )
    return merge_links(rows)


def integration_alerts(
    session: Session, integration_id: int, limit: int = 1000, *, newest_first: bool = False
) -> Sequence[Alert]:
    """The alerts an integration recorded (incl. duplicates' originals, info, stale): the
    oldest ``limit`` in order received, or with ``newest_first`` the newest ``limit``."""
    # Bounding service_id lets this use ix_alerts_service_integration_received (see schema).
    service_id = select(Integration.service_id).where(Integration.id == integration_id)
    order = (
        (Alert.received_at.desc(), Alert.id.desc())
        if newest_first
        else (Alert.received_at, Alert.id)
    )
    query = (
        select(Alert)
        .where(Alert.service_id == service_id.scalar_subquery())
        .where(Alert.integration_id == integration_id)
        .order_by(*order)
        .limit(limit)
    )
    return session.scalars(query).all()


def service_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(Service.id, Service.name).where(Service.id.in_(ids)))
    return {row.id: row.name for row in rows}


def acknowledge_incident(engine: IngestEngine, incident_id: int, actor: str) -> IncidentChange:
    """Acknowledge through the engine (which runs the lifecycle hooks)."""
    try:
        return engine.acknowledge(incident_id, actor)
    except IncidentNotFound:
        raise NotFound("incident_not_found", f"no incident with id {incident_id}") from None


def resolve_incident(engine: IngestEngine, incident_id: int, actor: str) -> IncidentChange:
    """Resolve through the engine (which runs the lifecycle hooks)."""
    try:
        change = engine.resolve(incident_id, actor)
    except IncidentNotFound:
        raise NotFound("incident_not_found", f"no incident with id {incident_id}") from None
    if change.changed:
        from alertgate.server import metrics

        metrics.INCIDENTS_RESOLVED.labels("hand").inc()
    return change


def organization_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(Organization.id, Organization.name).where(Organization.id.in_(ids))
    )
    return {row.id: row.name for row in rows}


@dataclass(frozen=True, slots=True)
class IntegrationImpact:
    """What deleting an integration does, to state before it is confirmed."""

    alerts: int
    """Alerts it received: deleted with it."""
    incidents: int
    """Incidents it opened: kept (without its alerts), open ones stay open."""
    open_incidents: int


def integration_impact(session: Session, integration: Integration) -> IntegrationImpact:
    alerts = session.scalar(
        select(func.count())
        .select_from(Alert)
        .where(Alert.service_id == integration.service_id)
        .where(Alert.integration_id == integration.id)
    )
    total, open_count = _incident_counts(session, Incident.integration_id == integration.id)
    return IntegrationImpact(alerts or 0, total, open_count)


def _incident_counts(session: Session, where: ColumnElement[bool]) -> tuple[int, int]:
    """How many incidents match ``where``, and how many of them are open."""
    rows = session.execute(
        select(Incident.status, func.count()).where(where).group_by(Incident.status)
    ).all()
    counts = {status: count for status, count in rows}
    return sum(counts.values()), counts.get("triggered", 0) + counts.get("acknowledged", 0)


def delete_integration(session: Session, integration: Integration) -> IntegrationImpact:
    """Delete an integration and the alerts it received; its URL stops working. Its
    incidents stay (the database sets their ``integration_id`` to null)."""
    impact = integration_impact(session, integration)
    session.delete(integration)
    session.flush()
    return impact

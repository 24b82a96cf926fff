"""The admin REST API under ``/api/v1``: services, integrations, incidents, plugins.

Every call is authenticated by an API token and scoped to the token's organization: ids
of other organizations' objects answer 404, exactly like ids that do not exist.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from alertgate.registry import plugin_rows
from alertgate.server import actions, admin, audit, console, console_api, notify_api
from alertgate.server.console_schemas import IncidentList
from alertgate.server.keys import integration_url
from alertgate.server.routing import ApiRoute, Call
from alertgate.server.schemas import (
    ActionRun,
    ActionRunOut,
    AlertOut,
    IncidentDetail,
    IncidentOut,
    IntegrationCreate,
    IntegrationOut,
    IntegrationUpdate,
    IntegrationWithUrl,
    Page,
    PluginOut,
    ServiceCreate,
    ServiceOut,
    ServiceUpdate,
    TestAlertOut,
)
from alertgate.server.testalert import send_test_alert
from alertgate.storage.schema import Organization

PREFIX = "/api/v1"


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=500, description="Page size.")
    offset: int = Field(0, ge=0, le=10_000_000, description="Items to skip.")


class IntegrationQuery(PageQuery):
    service_id: int | None = Field(None, ge=1, le=2**62, description="Only this service.")


class IncidentQuery(PageQuery):
    service_id: int | None = Field(None, ge=1, le=2**62, description="Only this service (id).")
    service: str | None = Field(
        None, min_length=1, max_length=200, description="Only this service (name)."
    )
    status: Literal["triggered", "acknowledged", "resolved", "open"] | None = Field(
        None, description="`open` means triggered or acknowledged."
    )
    severity: str | None = Field(
        None, min_length=1, max_length=20, description="Only this severity."
    )
    integration_id: int | None = Field(
        None, ge=1, le=2**62, description="Only incidents this integration opened."
    )
    q: str | None = Field(None, min_length=1, max_length=200, description="Text in the title.")
    sort: console.IncidentSort = Field(
        "newest", description="`newest`/`oldest` by last alert, or `opened` (newest first)."
    )
    cursor: str | None = console_api.CURSOR


class PluginList(BaseModel):
    items: list[PluginOut]


# -- services ------------------------------------------------------------------------------


def list_services(call: Call) -> Page[ServiceOut]:
    q: PageQuery = call.query
    with call.state.sessions() as s:
        rows = admin.list_services(s, call.org_id, limit=q.limit, offset=q.offset)
        total = admin.count_services(s, call.org_id)
        return Page[ServiceOut](
            items=[ServiceOut.of(r) for r in rows], total=total, limit=q.limit, offset=q.offset
        )


def create_service(call: Call) -> ServiceOut:
    body: ServiceCreate = call.body
    with call.state.sessions.begin() as s:
        org = s.get(Organization, call.org_id)
        assert org is not None
        return ServiceOut.of(admin.create_service(s, org, body.name, body.description))


def show_service(call: Call) -> ServiceOut:
    with call.state.sessions() as s:
        return ServiceOut.of(admin.get_service(s, call.path["service_id"], call.org_id))


def update_service(call: Call) -> ServiceOut:
    body: ServiceUpdate = call.body
    with call.state.sessions.begin() as s:
        service = admin.get_service(s, call.path["service_id"], call.org_id)
        console.update_service(
            s, call.org_id, call.actor, service, name=body.name, description=body.description
        )
        return ServiceOut.of(service)


def delete_service(call: Call) -> None:
    with call.state.sessions.begin() as s:
        service = admin.get_service(s, call.path["service_id"], call.org_id)
        console.delete_service(s, call.org_id, call.actor, service)
    call.state.cache.clear()


# -- integrations --------------------------------------------------------------------------


def _with_url(call: Call, keyed: admin.KeyedIntegration) -> IntegrationWithUrl:
    out = IntegrationOut.of(keyed.integration, call.state.plugins)
    return IntegrationWithUrl(
        **out.model_dump(),
        key=keyed.key,
        integration_url=integration_url(call.state.settings.public_url, keyed.key),
    )


def list_integrations(call: Call) -> Page[IntegrationOut]:
    q: IntegrationQuery = call.query
    with call.state.sessions() as s:
        rows = admin.list_integrations(s, call.org_id, q.service_id, limit=q.limit, offset=q.offset)
        total = admin.count_integrations(s, call.org_id, q.service_id)
        return Page[IntegrationOut](
            items=[IntegrationOut.of(r, call.state.plugins) for r in rows],
            total=total,
            limit=q.limit,
            offset=q.offset,
        )


def create_integration(call: Call) -> IntegrationWithUrl:
    body: IntegrationCreate = call.body
    with call.state.sessions.begin() as s:
        service = admin.get_service(s, body.service_id, call.org_id)
        keyed = admin.create_integration(
            s,
            call.state.plugins,
            service,
            body.type,
            body.name,
            body.settings,
            rate_limit_per_minute=body.rate_limit_per_minute,
            strict=True,
        )
        audit.integration_created(s, call.org_id, call.actor, keyed.integration)
        return _with_url(call, keyed)


def show_integration(call: Call) -> IntegrationOut:
    with call.state.sessions() as s:
        return IntegrationOut.of(
            admin.get_integration(s, call.path["integration_id"], call.org_id), call.state.plugins
        )


def update_integration(call: Call) -> IntegrationOut:
    body: IntegrationUpdate = call.body
    with call.state.sessions.begin() as s:
        integration = admin.get_integration(s, call.path["integration_id"], call.org_id)
        before, was = audit.before_update(integration)
        admin.update_integration(
            s,
            call.state.plugins,
            integration,
            name=body.name,
            settings=body.settings,
            enabled=body.enabled,
            rate_limit_per_minute=(
                body.rate_limit_per_minute
                if "rate_limit_per_minute" in body.model_fields_set
                else "unchanged"
            ),
            strict=True,
        )
        audit.record_integration_update(s, call.org_id, call.actor, integration, before, was)
        out = IntegrationOut.of(integration, call.state.plugins)
    call.state.cache.clear()
    return out


def _set_enabled(call: Call, enabled: bool) -> IntegrationOut:
    with call.state.sessions.begin() as s:
        integration = admin.get_integration(s, call.path["integration_id"], call.org_id)
        before, was = audit.before_update(integration)
        admin.update_integration(s, call.state.plugins, integration, enabled=enabled)
        audit.record_integration_update(s, call.org_id, call.actor, integration, before, was)
        out = IntegrationOut.of(integration, call.state.plugins)
    call.state.cache.clear()
    return out


def disable_integration(call: Call) -> IntegrationOut:
    return _set_enabled(call, False)


def enable_integration(call: Call) -> IntegrationOut:
    return _set_enabled(call, True)


def rotate_integration_key(call: Call) -> IntegrationWithUrl:
    with call.state.sessions.begin() as s:
        integration = admin.get_integration(s, call.path["integration_id"], call.org_id)
        out = _with_url(call, admin.rotate_key(s, integration))
        audit.key_rotated(s, call.org_id, call.actor, integration)
    call.state.cache.clear()
    return out


def run_integration_action(call: Call) -> ActionRunOut:
    body: ActionRun = call.body
    integration_id = call.path["integration_id"]
    result = actions.run_action(
        call.state.sessions,
        call.state.plugins,
        call.org_id,
        call.actor,
        integration_id,
        body.action,
    )
    call.state.cache.forget_integration(integration_id)
    with call.state.sessions() as s:
        integration = admin.get_integration(s, integration_id, call.org_id)
        out = IntegrationOut.of(integration, call.state.plugins)
    return ActionRunOut(ok=result.ok, message=result.message, integration=out)


def test_integration(call: Call) -> TestAlertOut:
    with call.state.sessions() as s:
        integration = admin.get_integration(s, call.path["integration_id"], call.org_id)
        result = send_test_alert(s, call.state.engine, call.state.settings, integration)
    return TestAlertOut.model_validate(result.as_dict())


# -- incidents -----------------------------------------------------------------------------


def list_incidents(call: Call) -> IncidentList:
    q: IncidentQuery = call.query
    if q.cursor is not None and q.offset:
        raise admin.InvalidInput("invalid_request", "give cursor or offset, not both")
    with call.state.sessions() as s:
        service_id = q.service_id
        if q.service is not None:
            found = admin.find_service(s, q.service, call.org_id)
            if service_id is not None and service_id != found.id:
                return IncidentList(
                    items=[], total=0, limit=q.limit, offset=q.offset, next_cursor=None
                )
            service_id = found.id
        page = console.list_incidents(
            s,
            call.org_id,
            console.IncidentFilter(service_id, q.status, q.severity, q.integration_id, q.q),
            limit=q.limit,
            after=q.cursor,
            sort=q.sort,
            offset=q.offset,
        )
        names = admin.service_names(s, {r.service_id for r in page.items})
        return IncidentList(
            items=[IncidentOut.of(r, names.get(r.service_id, "")) for r in page.items],
            total=page.total,
            limit=q.limit,
            offset=q.offset,
            next_cursor=page.next_cursor,
        )


def incident_detail(call: Call, incident_id: int) -> IncidentDetail:
    with call.state.sessions() as s:
        incident = admin.get_incident(s, incident_id, call.org_id)
        names = admin.service_names(s, {incident.service_id})
        base = IncidentOut.of(incident, names.get(incident.service_id, ""))
        alerts = [AlertOut.of(a) for a in admin.incident_alerts(s, incident_id)]
        links = admin.incident_links(s, incident_id)
        return IncidentDetail(**base.model_dump(), alerts=alerts, links=links)


def show_incident(call: Call) -> IncidentDetail:
    return incident_detail(call, call.path["incident_id"])


def acknowledge_incident(call: Call) -> IncidentDetail:
    incident_id = call.path["incident_id"]
    with call.state.sessions() as s:
        admin.get_incident(s, incident_id, call.org_id)
    console.change_incidents(
        call.state.engine,
        call.state.sessions,
        call.org_id,
        [incident_id],
        "acknowledge",
        call.actor,
    )
    return incident_detail(call, incident_id)


def resolve_incident(call: Call) -> IncidentDetail:
    incident_id = call.path["incident_id"]
    with call.state.sessions() as s:
        admin.get_incident(s, incident_id, call.org_id)
    console.change_incidents(
        call.state.engine, call.state.sessions, call.org_id, [incident_id], "resolve", call.actor
    )
    return incident_detail(call, incident_id)


# -- plugins -------------------------------------------------------------------------------


def list_plugins(call: Call) -> PluginList:
    plugins = call.state.plugins
    items = []
    for row in plugin_rows(plugins):
        slug = row["slug"]
        schema = plugins.get_type(slug).settings_model.model_json_schema() if slug else None
        items.append(PluginOut(**row, settings_schema=schema))
    return PluginList(items=items)


ID = {"le": 2**62}
NOT_FOUND = (404,)

ROUTES: list[ApiRoute] = [
    ApiRoute("GET", f"{PREFIX}/services", list_services, "List services", "listServices",
             "services", Page[ServiceOut], query=PageQuery, errors=(422,)),
    ApiRoute("POST", f"{PREFIX}/services", create_service, "Create a service",
             "createService", "services", ServiceOut, status=201, body=ServiceCreate,
             errors=(400, 409, 413, 422)),
    ApiRoute("GET", f"{PREFIX}/services/{{service_id:int}}", show_service, "Show a service",
             "getService", "services", ServiceOut, errors=NOT_FOUND),
    ApiRoute("PATCH", f"{PREFIX}/services/{{service_id:int}}", update_service,
             "Rename a service or change its description", "updateService", "services",
             ServiceOut, body=ServiceUpdate, errors=(400, 404, 409, 413, 422)),
    ApiRoute("DELETE", f"{PREFIX}/services/{{service_id:int}}", delete_service,
             "Delete a service with its integrations, incidents and alerts", "deleteService",
             "services", None, status=204, errors=NOT_FOUND),
    ApiRoute("GET", f"{PREFIX}/integrations", list_integrations, "List integrations",
             "listIntegrations", "integrations", Page[IntegrationOut], query=IntegrationQuery,
             errors=(422,)),
    ApiRoute("POST", f"{PREFIX}/integrations", create_integration,
             "Create an integration (the response holds the Integration URL, shown once)",
             "createIntegration", "integrations", IntegrationWithUrl, status=201,
             body=IntegrationCreate, errors=(400, 404, 413, 422)),
    ApiRoute("GET", f"{PREFIX}/integrations/{{integration_id:int}}", show_integration,
             "Show an integration", "getIntegration", "integrations", IntegrationOut,
             errors=NOT_FOUND),
    ApiRoute("PATCH", f"{PREFIX}/integrations/{{integration_id:int}}", update_integration,
             "Update an integration's name, settings, enabled flag or rate limit",
             "updateIntegration", "integrations", IntegrationOut, body=IntegrationUpdate,
             errors=(400, 404, 413, 422)),
    ApiRoute("POST", f"{PREFIX}/integrations/{{integration_id:int}}/disable",
             disable_integration, "Disable an integration (its URL answers 410)",
             "disableIntegration", "integrations", IntegrationOut, errors=NOT_FOUND),
    ApiRoute("POST", f"{PREFIX}/integrations/{{integration_id:int}}/enable",
             enable_integration, "Enable an integration", "enableIntegration",
             "integrations", IntegrationOut, errors=NOT_FOUND),
    ApiRoute("POST", f"{PREFIX}/integrations/{{integration_id:int}}/rotate-key",
             rotate_integration_key,
             "Replace the integration's key; the old Integration URL stops working",
             "rotateIntegrationKey", "integrations", IntegrationWithUrl, errors=NOT_FOUND),
    ApiRoute("POST", f"{PREFIX}/integrations/{{integration_id:int}}/actions",
             run_integration_action,
             "Run an action the integration's plugin offers now (its `actions`)",
             "runIntegrationAction", "integrations", ActionRunOut, body=ActionRun,
             errors=(400, 404, 409, 413, 422),
             description="`ok` false: the action ran and failed (`message` says why)."),
    ApiRoute("POST", f"{PREFIX}/integrations/{{integration_id:int}}/test", test_integration,
             "Send a test alert", "testIntegration", "integrations", TestAlertOut,
             errors=(404, 422),
             description="The type's sample delivery, parsed by the same hooks as a real "
             "one and marked as a test; answers the incident it opened or joined."),
    ApiRoute("GET", f"{PREFIX}/incidents", list_incidents, "List incidents, newest first",
             "listIncidents", "incidents", IncidentList, query=IncidentQuery,
             errors=(404, 409, 422)),
    ApiRoute("GET", f"{PREFIX}/incidents/{{incident_id:int}}", show_incident,
             "Show an incident with its alerts", "getIncident", "incidents", IncidentDetail,
             errors=NOT_FOUND),
    ApiRoute("POST", f"{PREFIX}/incidents/{{incident_id:int}}/acknowledge",
             acknowledge_incident, "Acknowledge an incident", "acknowledgeIncident",
             "incidents", IncidentDetail, errors=(404, 409)),
    ApiRoute("POST", f"{PREFIX}/incidents/{{incident_id:int}}/resolve", resolve_incident,
             "Resolve an incident", "resolveIncident", "incidents", IncidentDetail,
             errors=(404, 409)),
    ApiRoute("GET", f"{PREFIX}/plugins", list_plugins, "Installed integration types",
             "listPlugins", "plugins", PluginList),
    *notify_api.ROUTES,
]  # fmt: skip
ROUTES.extend(console_api.routes(PREFIX))

"""``alertgate integrations``: create, list, show, enable/disable, rotate keys, delete."""

from __future__ import annotations

import json
from typing import Any, Literal

import click

from alertgate.cli.context import CLI_ACTOR, admin_errors, open_db
from alertgate.cli.output import echo_json, echo_table
from alertgate.engine import IngestEngine
from alertgate.server import admin, audit, console
from alertgate.server.keys import integration_url
from alertgate.server.schemas import IntegrationOut
from alertgate.server.testalert import send_test_alert


def _print_url(data: dict[str, Any], as_json: bool, verb: str) -> None:
    if as_json:
        echo_json(data)
        return
    click.echo(
        f"Integration {data['id']} {data['name']!r} ({data['type']}) {verb} on service "
        f"{data['service']!r}."
    )
    click.echo("Integration URL (shown once; `integrations rotate-key` makes a new one):")
    click.echo(data["integration_url"])


@click.group()
def integrations() -> None:
    """Integrations: one URL each, of one type (see `alertgate plugins`)."""


def _settings_option(settings_json: str | None) -> dict[str, Any] | None:
    if settings_json is None:
        return None
    try:
        settings = json.loads(settings_json)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--settings") from exc
    if not isinstance(settings, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--settings")
    return settings


RATE_LIMIT_HELP = (
    "Deliveries a minute its URL accepts per server worker before answering 429 "
    "(0: unlimited; default: ALERTGATE_RATE_LIMIT_PER_MINUTE)."
)
_RATE_LIMIT = click.IntRange(0, admin.MAX_RATE_LIMIT)


@integrations.command("create")
@click.option("--service", "service_ref", required=True, help="Service name (or id).")
@click.option("--type", "type_slug", required=True, help="Integration type slug.")
@click.option("--name", help="Display name (default: the type's title).")
@click.option("--org", help="Organization of the service, if the name is ambiguous.")
@click.option(
    "--settings",
    "settings_json",
    help="Per-integration settings as a JSON object (validated by the type).",
)
@click.option("--rate-limit-per-minute", "rate_limit", type=_RATE_LIMIT, help=RATE_LIMIT_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def create(
    service_ref: str,
    type_slug: str,
    name: str | None,
    org: str | None,
    settings_json: str | None,
    rate_limit: int | None,
    as_json: bool,
) -> None:
    """Create an integration and print its Integration URL."""
    settings = _settings_option(settings_json) or {}
    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        org_id = admin.get_organization(session, org).id if org else None
        service = admin.find_service(session, service_ref, org_id)
        keyed = admin.create_integration(
            session,
            db.plugins,
            service,
            type_slug,
            name,
            settings,
            rate_limit_per_minute=rate_limit,
        )
        audit.integration_created(session, service.organization_id, CLI_ACTOR, keyed.integration)
        data = {
            **IntegrationOut.of(keyed.integration, db.plugins).model_dump(mode="json"),
            "service": service.name,
            "key": keyed.key,
            "integration_url": integration_url(db.settings.public_url, keyed.key),
        }
    _print_url(data, as_json, "created")


@integrations.command("update")
@click.argument("integration_id", type=int)
@click.option("--name", help="New display name.")
@click.option("--settings", "settings_json", help="Replace the settings (a JSON object).")
@click.option("--rate-limit-per-minute", "rate_limit", type=_RATE_LIMIT, help=RATE_LIMIT_HELP)
@click.option(
    "--default-rate-limit", is_flag=True, help="Return to ALERTGATE_RATE_LIMIT_PER_MINUTE."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def update(
    integration_id: int,
    name: str | None,
    settings_json: str | None,
    rate_limit: int | None,
    default_rate_limit: bool,
    as_json: bool,
) -> None:
    """Change an integration's name, settings or rate limit.

    Running servers pick the change up within ALERTGATE_KEY_CACHE_SECONDS.
    """
    if rate_limit is not None and default_rate_limit:
        raise click.UsageError("give --rate-limit-per-minute or --default-rate-limit, not both")
    settings = _settings_option(settings_json)
    limit: int | Literal["unchanged"] | None = "unchanged"
    if rate_limit is not None or default_rate_limit:
        limit = rate_limit
    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        integration = admin.get_integration(session, integration_id)
        before, was = audit.before_update(integration)
        admin.update_integration(
            session,
            db.plugins,
            integration,
            name=name,
            settings=settings,
            rate_limit_per_minute=limit,
        )
        audit.record_integration_update(
            session, audit.service_org(session, integration), CLI_ACTOR, integration, before, was
        )
        data = IntegrationOut.of(integration, db.plugins).model_dump(mode="json")
    if as_json:
        echo_json(data)
        return
    limit_text = data["rate_limit_per_minute"]
    click.echo(
        f"Integration {integration_id} {data['name']!r} updated "
        f"(rate limit: {'default' if limit_text is None else limit_text} a minute)."
    )


@integrations.command("list")
@click.option("--service", "service_ref", help="Only this service (name or id).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_(service_ref: str | None, as_json: bool) -> None:
    """List integrations (key prefixes only: keys are stored hashed)."""
    db = open_db()
    with admin_errors(), db.sessions() as session:
        service_id = admin.find_service(session, service_ref).id if service_ref else None
        rows = admin.list_integrations(session, service_id=service_id)
        names = admin.service_names(session, {r.service_id for r in rows})
        data = [
            {
                **IntegrationOut.of(r, db.plugins).model_dump(mode="json"),
                "service": names[r.service_id],
            }
            for r in rows
        ]
    if as_json:
        echo_json(data)
        return
    for row in data:
        row["sns"] = (row["state"].get("sns") or {}).get("status")
    echo_table(
        data, ["id", "service", "type", "name", "key_prefix", "enabled", "sns", "last_alert_at"]
    )


@integrations.command("show")
@click.argument("integration_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def show(integration_id: int, as_json: bool) -> None:
    """Show one integration, its settings and recorded state."""
    db = open_db()
    with admin_errors(), db.sessions() as session:
        row = admin.get_integration(session, integration_id)
        data = {
            **IntegrationOut.of(row, db.plugins).model_dump(mode="json"),
            "service": admin.get_service(session, row.service_id).name,
        }
    if as_json:
        echo_json(data)
        return
    keys = ("id", "name", "type", "service", "key_prefix", "enabled", "rate_limit_per_minute")
    for key in (*keys, "created_at"):
        click.echo(f"{key + ':':<12} {data[key]}")
    click.echo(f"{'settings:':<12} {json.dumps(data['settings'], sort_keys=True)}")
    click.echo(f"{'state:':<12} {json.dumps(data['state'], sort_keys=True)}")


@integrations.command("rotate-key")
@click.argument("integration_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def rotate_key(integration_id: int, as_json: bool) -> None:
    """Give an integration a new key; the old Integration URL stops working.

    Running servers may accept the old URL for up to ALERTGATE_KEY_CACHE_SECONDS.
    """
    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        integration = admin.get_integration(session, integration_id)
        keyed = admin.rotate_key(session, integration)
        audit.key_rotated(session, audit.service_org(session, integration), CLI_ACTOR, integration)
        data = {
            **IntegrationOut.of(integration, db.plugins).model_dump(mode="json"),
            "service": admin.get_service(session, integration.service_id).name,
            "key": keyed.key,
            "integration_url": integration_url(db.settings.public_url, keyed.key),
        }
    _print_url(data, as_json, "re-keyed")


def _set_enabled(integration_id: int, enabled: bool) -> None:
    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        integration = admin.get_integration(session, integration_id)
        before, was = audit.before_update(integration)
        admin.update_integration(session, db.plugins, integration, enabled=enabled)
        audit.record_integration_update(
            session, audit.service_org(session, integration), CLI_ACTOR, integration, before, was
        )
    click.echo(f"Integration {integration_id} {'enabled' if enabled else 'disabled'}.")


@integrations.command("disable")
@click.argument("integration_id", type=int)
def disable(integration_id: int) -> None:
    """Disable an integration: its URL answers 410 and stores nothing."""
    _set_enabled(integration_id, False)


@integrations.command("enable")
@click.argument("integration_id", type=int)
def enable(integration_id: int) -> None:
    """Enable a disabled integration."""
    _set_enabled(integration_id, True)


@integrations.command("delete")
@click.argument("integration_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(integration_id: int, yes: bool) -> None:
    """Delete an integration: its URL stops working and its alerts go; its incidents stay.

    Asks first unless --yes is given. The audit log keeps what was done.
    """
    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        integration = admin.get_integration(session, integration_id)
        impact = admin.integration_impact(session, integration)
        click.echo(
            f"Deleting integration {integration.id} {integration.name!r} stops its URL and "
            f"deletes its {impact.alerts} alert(s); its {impact.incidents} incident(s) "
            f"({impact.open_incidents} open) stay."
        )
        if not yes and not click.confirm("Delete it?", default=False):
            raise click.ClickException("not deleted")
        name = integration.name
        org_id = audit.service_org(session, integration)
        console.delete_integration(session, org_id, CLI_ACTOR, integration)
    click.echo(f"Integration {name!r} deleted.")


@integrations.command("test")
@click.argument("integration_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def test(integration_id: int, as_json: bool) -> None:
    """Send a test alert to an integration and show the incident it made.

    The alert is the type's sample delivery (signed like the real source), parsed by the
    same hooks as a real delivery and marked as a test ([test] title, its own incident).
    """
    db = open_db()
    engine = IngestEngine(db.engine, db.plugins)
    try:
        with admin_errors(), db.sessions() as session:
            integration = admin.get_integration(session, integration_id)
            result = send_test_alert(session, engine, db.settings, integration)
    finally:
        engine.close()
    if as_json:
        echo_json(result.as_dict())
        return
    for row in result.outcomes:
        incident = row["incident"]
        where = (
            f"incident {incident['id']} {incident['title']!r} ({incident['status']})"
            if incident
            else "no incident"
        )
        click.echo(f"Test alert {row['title']!r}: {row['outcome']} -> {where}")
    if not result.outcomes:
        click.echo(f"The test delivery made no alert ({result.note or 'no note'}).")

"""Running an integration action a plugin offers (``alertgate_integration_actions``), for
the admin API and the web UI alike.

The action runs outside any database transaction, as it may make a network call (SNS's
"Retry confirmation" GETs the subscription's confirmation URL): the integration is read,
the plugin runs, then its state updates are merged and the run recorded in the audit log.
"""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from alertgate.models import ActionResult
from alertgate.registry import Plugins
from alertgate.server import admin, audit
from alertgate.storage.schema import Integration


def run_action(
    sessions: sessionmaker[Session],
    plugins: Plugins,
    org_id: int | None,
    actor: str,
    integration_id: int,
    action: str,
) -> ActionResult:
    """Run ``action`` on an integration if its plugin offers it for the current state.

    :raises admin.NotFound: No such integration (in ``org_id``).
    :raises admin.Conflict: ``action_unavailable``: not offered now (e.g. the subscription
        was confirmed meanwhile), or the stored settings no longer validate.
    """
    with sessions() as s:
        integration = admin.get_integration(s, integration_id, org_id)
        slug, state = integration.type, dict(integration.state or {})
        raw_settings = dict(integration.settings or {})
    if action not in {a.name for a in plugins.integration_actions(slug, state)}:
        raise admin.Conflict(
            "action_unavailable", f"{action[:64]!r} is not available for this integration now"
        )
    try:
        settings = plugins.validate_settings(slug, raw_settings, known_keys_only=False)
    except ValidationError:
        raise admin.Conflict(
            "action_unavailable", "its stored settings no longer validate: edit them first"
        ) from None
    result = plugins.run_integration_action(slug, action, settings, state)
    with sessions.begin() as s:
        target: Integration = admin.get_integration(s, integration_id, org_id)
        if result.state_updates:
            target.state = {**(target.state or {}), **result.state_updates}
        owner = org_id if org_id is not None else audit.service_org(s, target)
        detail = {"action": action, "ok": result.ok}
        audit.record(s, owner, actor, "integration.action", integration_id, detail)
    return result

"""EventBridge events inside SNS notifications and direct posts, for the types fed by rules.

An EventBridge rule delivers an event either to an SNS topic (the event JSON is the SNS
``Message``) or to an API destination (the event JSON is the request body, a direct post).
Either way :func:`events_from` finds the events of one ``source`` (``aws.guardduty``,
``aws.securityhub``, ``aws.health``) in the decoded message: one event, or a list of them
(what ``alertgate parse`` gets from a saved file). The event ``id`` is the dedupe key, so
the same event delivered twice (SNS redelivery, EventBridge retry, both paths at once) is
stored once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from alertgate import jsonfast
from alertgate.errors import MalformedDelivery
from alertgate.models import Alert, ParseResult
from alertgate.plugins.aws_sns.models import SnsNotification
from alertgate.plugins.aws_sns.recorded import recorded_message_alert, topic_fingerprint

MAX_EVENTS = 1_000
"""A list of events (a saved file, a batch) longer than this is refused, not parsed."""

_MAX_TEXT = 1024


def text(value: Any, limit: int = _MAX_TEXT) -> str | None:
    """A scalar as bounded, stripped text; ``None`` for absent, empty or structured values."""
    if value is None or isinstance(value, dict | list | bool):
        return None
    out = str(value).strip()
    return out[:limit] if out else None


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 (``2024-01-02T03:04:05.678Z``) or RFC 1123 (``Sat, 05 Jun 2016 15:10:09
    GMT``, which AWS Health uses) as an aware UTC datetime; ``None`` if neither."""
    raw = text(value, 64)
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def decode(message: str) -> Any:
    """The message as JSON, or ``None`` when it is not JSON."""
    stripped = message.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        return jsonfast.loads(stripped)
    except (ValueError, RecursionError):
        return None


@dataclass(frozen=True, slots=True)
class EventBridgeEvent:
    """One EventBridge event, its envelope fields normalized."""

    id: str | None
    detail_type: str
    source: str
    account: str | None
    region: str | None
    time: datetime | None
    resources: tuple[str, ...]
    detail: Mapping[str, Any]
    raw: Mapping[str, Any]


def _is_event(doc: Any, source: str) -> bool:
    return (
        isinstance(doc, dict)
        and doc.get("source") == source
        and isinstance(doc.get("detail-type"), str)
        and isinstance(doc.get("detail"), dict)
    )


def _event(doc: Mapping[str, Any]) -> EventBridgeEvent:
    listed = doc.get("resources")
    resources = [text(item, 2048) for item in listed] if isinstance(listed, list) else []
    return EventBridgeEvent(
        id=text(doc.get("id"), 200),
        detail_type=text(doc.get("detail-type"), 200) or "",
        source=str(doc["source"]),
        account=text(doc.get("account"), 64),
        region=text(doc.get("region"), 64),
        time=parse_time(doc.get("time")),
        resources=tuple(r for r in resources if r),
        detail=doc["detail"],
        raw=doc,
    )


def events_from(doc: Any, source: str) -> list[EventBridgeEvent] | None:
    """The events of ``source`` in a decoded message: one event, or a list of events or of
    SNS Notifications carrying one each.

    :return: ``None`` when the document holds no event of ``source``.
    :raises MalformedDelivery: A list longer than :data:`MAX_EVENTS`, or one that mixes
        events of ``source`` with anything else.
    """
    if _is_event(doc, source):
        return [_event(doc)]
    if not isinstance(doc, list) or not doc:
        return None
    if len(doc) > MAX_EVENTS:
        raise MalformedDelivery("too_many_events", f"{len(doc)} entries; at most {MAX_EVENTS}")
    items = [_carried(item) for item in doc]
    if not _is_event(items[0], source):
        return None
    if not all(_is_event(item, source) for item in items):
        raise MalformedDelivery("invalid_event", f"every entry must be a {source} event")
    return [_event(item) for item in items]


def _carried(item: Any) -> Any:
    """A list entry as an event: itself, or the event an SNS Notification carries (a saved
    copy; such a list arrives as a direct post, authenticated by the shared secret)."""
    if isinstance(item, dict) and item.get("Type") == "Notification":
        message = item.get("Message")
        return decode(message) if isinstance(message, str) else None
    return item


def bare_documents(
    doc: Any, recognise: Callable[[Any], bool], what: str
) -> list[Mapping[str, Any]] | None:
    """Documents that are not events but the type still reads (e.g. bare findings, as
    exported to S3): one, or a list of them; ``None`` when ``recognise`` rejects ``doc``.

    :raises MalformedDelivery: A list longer than :data:`MAX_EVENTS`, or one that mixes
        recognised documents with others.
    """
    if recognise(doc):
        return [doc]
    if not (isinstance(doc, list) and doc and recognise(doc[0])):
        return None
    if len(doc) > MAX_EVENTS:
        raise MalformedDelivery("too_many_findings", f"{len(doc)} entries; at most {MAX_EVENTS}")
    if not all(recognise(item) for item in doc):
        raise MalformedDelivery("invalid_finding", f"every entry must be {what}")
    return doc


def version_key(prefix: str, ident: str, updated_at: datetime | None, *more: object) -> str:
    """Dedupe key of a bare document, which has no event id: its identity and version."""
    stamp = updated_at.isoformat() if updated_at else "-"
    return ":".join([prefix, ident, stamp, *(str(m) for m in more)])


def dedupe_key(
    event: EventBridgeEvent, notification: SnsNotification, part: str | None = None
) -> str | None:
    """The event ``id`` (else the SNS MessageId), plus ``#part`` when one event yields
    several alerts (a finding of a batch, an entity of a Health event)."""
    base = f"eventbridge:{event.id}" if event.id else notification.message_id
    if base is None:
        return None
    return f"{base}#{part}" if part else base


def kept_payload(event: EventBridgeEvent, notification: SnsNotification, single: bool) -> Any:
    """What an alert keeps: the SNS envelope of a one-event message, else the event."""
    if single and notification.envelope is not None:
        return notification.envelope
    return event.raw


OTHER_KIND = "sns_message"
"""``Alert.kind`` of a message that is not an event of the type's source (as ``aws_sns``)."""


def other_message_alert(notification: SnsNotification, expected: str) -> Alert:
    """An ``info`` alert for a message that is not what the type expects: recorded only."""
    note = f"This message is not {expected}; it was recorded for reference and changes no incident."
    return recorded_message_alert(notification, kind=OTHER_KIND, what=expected, note=note)


def console_url(region: str | None, path: str) -> str:
    """A link into the AWS console of ``region``'s partition, e.g. ``console_url("eu-west-1",
    "guardduty/home?region=eu-west-1#/findings")``."""
    region = region or "us-east-1"
    if region.startswith("cn-"):
        host = "console.amazonaws.cn"
    elif region.startswith("us-gov-"):
        host = "console.amazonaws-us-gov.com"
    else:
        host = f"{region}.console.aws.amazon.com"
    return f"https://{host}/{path}"


def https_link(value: Any) -> str | None:
    """``value`` if it is an https URL (a link a message names, shown to people), else
    ``None``: no ``javascript:`` or plain-http links reach the UI."""
    url = text(value, 2048)
    return url if url is not None and url.startswith("https://") and " " not in url else None


def other_fingerprint(alert: Alert) -> str:
    """Grouping key of an :func:`other_message_alert` (as the ``aws_sns`` type's)."""
    return topic_fingerprint(alert)


def event_result(
    notification: SnsNotification,
    source: str,
    expected: str,
    per_event: Callable[[EventBridgeEvent, bool], list[Alert]],
    bare: Callable[[Any], list[Alert] | None],
) -> ParseResult:
    """The parse result of one message of an EventBridge-fed type.

    :param per_event: Alerts for one event of ``source`` (and whether it is the only one in
        the message).
    :param bare: Alerts for a document that holds no event (e.g. a bare finding), or
        ``None`` when the type does not recognise it: then the message is recorded as one
        ``info`` alert saying it is not ``expected``.
    """
    doc = decode(notification.message)
    events = events_from(doc, source)
    if events is not None:
        alerts = [alert for event in events for alert in per_event(event, len(events) == 1)]
    else:
        found = bare(doc)
        if found is None:
            return ParseResult(
                alerts=[other_message_alert(notification, expected)],
                note=f"not {expected}: recorded as info",
            )
        alerts = found
    return ParseResult(alerts=alerts, note=f"{source}: {len(alerts)} alert(s)")

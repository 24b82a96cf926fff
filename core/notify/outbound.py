"""Outbound HTTP for channel plugins: every URL checked, errors stripped of secrets.

Only ``http`` and ``https`` URLs with a host and no user info are sent to. Private,
loopback and link-local addresses are allowed by default (a self-hosted alertgate often
notifies an internal chat server or a pager gateway); set
``ALERTGATE_NOTIFY_ALLOW_PRIVATE_ADDRESSES=false`` to refuse them, which is checked on
the resolved addresses when a connection is opened, and the connection goes to those
checked addresses. Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic.config import JsonDict

from alertgate.notify.http11 import Connector, Destination, Http11Client, ProtocolError, Response
from alertgate.notify.types import NotificationError

MAX_URL_LENGTH = 2048
CHECKED_URLS_KEPT = 256

URL_SCHEMA: JsonDict = {"pattern": r"^https?://[A-Za-z0-9.-]+(:[1-9][0-9]{0,3})?(/\S*)?$"}
"""JSON Schema of an outbound URL setting (``json_schema_extra``): a subset of what
:func:`check_url` accepts, so that what the API document allows the server accepts."""


def check_url(url: str) -> str:
    """Validate the shape of an outbound URL (settings validators call this).

    :raises ValueError: Not an absolute http(s) URL with a host, or it carries user info.
    """
    if len(url) > MAX_URL_LENGTH:
        raise ValueError("URL too long")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("only http and https URLs are allowed")
    if not parts.hostname:
        raise ValueError("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("user info in URLs is not allowed")
    return url


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_global and not ip.is_multicast


PRIVATE_REFUSED = (
    "refused URL: the host resolves to a private address "
    "(ALERTGATE_NOTIFY_ALLOW_PRIVATE_ADDRESSES is false)"
)


def check_destination(url: str, *, allow_private: bool) -> None:
    """:func:`check_url`, then (when private addresses are refused) every address the host
    resolves to must be public.

    :raises NotificationError: Not retryable: the channel's settings must change.
    """
    try:
        check_url(url)
    except ValueError as exc:
        raise NotificationError(f"refused URL: {exc}", retryable=False) from None
    if allow_private:
        return
    parts = urlsplit(url)
    _public_addresses(parts.hostname or "", parts.port or 443)


def _public_addresses(host: str, port: int) -> list[Any]:
    """The host's addresses, all public.

    :raises NotificationError: Unresolvable (retryable) or one is private (not retryable).
    """
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError:
        raise NotificationError("could not resolve the destination host") from None
    if not infos or not all(_is_public(str(info[4][0])) for info in infos):
        raise NotificationError(PRIVATE_REFUSED, retryable=False)
    return infos


def _connector(allow_private: bool) -> Connector:
    """Opens connections only to addresses the rules allow: with private addresses refused,
    to the very addresses that were checked (no second lookup that could answer otherwise)."""

    def connect(dest: Destination, timeout: float) -> socket.socket:
        if allow_private:
            return socket.create_connection((dest.host, dest.port), timeout)
        error: OSError | None = None
        for family, kind, proto, _name, address in _public_addresses(dest.host, dest.port):
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(timeout)
                sock.connect(address)
            except OSError as exc:
                sock.close()
                error = exc
                continue
            return sock
        raise error or OSError("no address to connect to")

    return connect


class OutboundHttp:
    """The HTTP client handed to ``alertgate_send_notification``.

    Connections are kept per destination and reused (:mod:`alertgate.notify.http11`); a
    destination's addresses are checked when its connection is opened.

    :param timeout: Seconds for connect, read and write each.
    :param allow_private: Whether private, loopback and link-local destinations are allowed.
    """

    def __init__(self, *, timeout: float = 10.0, allow_private: bool = True) -> None:
        self.allow_private = allow_private
        self.timeout = timeout
        """Also the budget of non-HTTP channels (e.g. SMTP)."""
        self._client = Http11Client(_connector(allow_private), timeout=timeout)
        self._checked: set[str] = set()
        """URLs whose shape passed :func:`check_url` (a pure function of the URL)."""

    def post(
        self, url: str, *, content: bytes, headers: Mapping[str, str] | None = None
    ) -> Response:
        """POST ``content``; returns the 2xx response (``status_code``, ``headers`` with
        lower-case names, ``content``: at most 1 MiB is read).

        :raises NotificationError: Refused URL, transport error or non-2xx status; the
            message names neither the URL nor the body. 408, 429 and 5xx are retryable,
            other statuses (redirects included: they are never followed) are not.
        """
        if url not in self._checked:
            try:
                check_url(url)
            except ValueError as exc:
                raise NotificationError(f"refused URL: {exc}", retryable=False) from None
            if len(self._checked) >= CHECKED_URLS_KEPT:
                self._checked.clear()
            self._checked.add(url)
        try:
            response = self._client.post(url, content, headers or {})
        except NotificationError:
            raise
        except (OSError, ProtocolError) as exc:  # before ValueError: TLS errors are both
            raise NotificationError(f"request failed: {type(exc).__name__}") from None
        except ValueError as exc:
            raise NotificationError(f"refused request: {exc}", retryable=False) from None
        status = response.status_code
        if 200 <= status < 300:
            return response
        retryable = status in (408, 429) or status >= 500
        raise NotificationError(f"the receiver answered HTTP {status}", retryable=retryable)

    def close(self) -> None:
        self._client.close()

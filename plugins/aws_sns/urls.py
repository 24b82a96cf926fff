"""Allow-listing of the two URLs in an SNS message that alertgate may call.

``SigningCertURL`` (certificate fetch) and ``SubscribeURL`` (subscription confirmation) come
from the request body, so they are attacker-controlled until the signature has verified —
and the certificate fetch happens *before* verification. Both are therefore matched against
a whole-URL pattern before any network call: ``https`` only, an anchored
``sns.<region>.amazonaws.com`` or ``.amazonaws.com.cn`` host, no userinfo, no port, no IP
literal, no percent-encoding or backslash tricks in the authority, and a fixed path shape.
A pattern over the whole string is used instead of ``urllib.parse`` because URL parsers
disagree on edge cases (``\\``, ``@`` in paths, ports), which is how SSRF filters get
bypassed.

``AWS_ENDPOINT_URL_SNS`` only changes *where* an allowed URL is fetched from; it never
widens what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs

from alertgate.errors import ForbiddenDelivery

MAX_URL_LENGTH = 4096

_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}"
_HOST = rf"sns\.{_REGION}\.amazonaws\.com(?:\.cn)?"
_CERT_URL = re.compile(
    rf"https://(?P<host>{_HOST})(?P<path>/SimpleNotificationService-[A-Za-z0-9_-]{{1,128}}\.pem)"
)
# Query characters SNS uses (ARNs contain ':'; tokens are hex). No '/', '@', '#', '\\'.
_SUBSCRIBE_URL = re.compile(
    rf"https://(?P<host>{_HOST})(?P<path>/)\?(?P<query>[A-Za-z0-9._~:%&=+-]+)"
)
_CERT_NAME = re.compile(r"SimpleNotificationService-[A-Za-z0-9_-]{1,128}\.pem")


@dataclass(frozen=True, slots=True)
class SnsUrl:
    """An allow-listed SNS URL, split so it can be redirected to a local endpoint."""

    url: str
    host: str
    path_and_query: str

    def target(self, endpoint_url: str | None) -> str:
        """The URL to actually request: the original, or the same path on the endpoint."""
        if not endpoint_url:
            return self.url
        return endpoint_url.rstrip("/") + self.path_and_query

    @property
    def file_name(self) -> str:
        """Last path segment (the certificate file name for a SigningCertURL)."""
        return self.path_and_query.split("?", 1)[0].rsplit("/", 1)[-1]


def is_cert_file_name(name: str) -> bool:
    """Whether ``name`` is a safe ``SimpleNotificationService-*.pem`` file name."""
    return _CERT_NAME.fullmatch(name) is not None


def check_cert_url(url: object) -> SnsUrl:
    """Validate a ``SigningCertURL``.

    :raises ForbiddenDelivery: ``cert_url_not_allowed``.
    """
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
        raise ForbiddenDelivery("cert_url_not_allowed", "SigningCertURL is not an SNS URL")
    match = _CERT_URL.fullmatch(url)
    if match is None:
        raise ForbiddenDelivery(
            "cert_url_not_allowed",
            "SigningCertURL must be https://sns.<region>.amazonaws.com[.cn]/"
            "SimpleNotificationService-<id>.pem",
        )
    return SnsUrl(url, match["host"], match["path"])


def check_subscribe_url(url: object, topic_arn: str) -> SnsUrl:
    """Validate a ``SubscribeURL``: an SNS ``ConfirmSubscription`` call for ``topic_arn``.

    :raises ForbiddenDelivery: ``subscribe_url_not_allowed``.
    """
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
        raise ForbiddenDelivery("subscribe_url_not_allowed", "SubscribeURL is not an SNS URL")
    match = _SUBSCRIBE_URL.fullmatch(url)
    if match is None:
        raise ForbiddenDelivery(
            "subscribe_url_not_allowed",
            "SubscribeURL must be https://sns.<region>.amazonaws.com[.cn]/"
            "?Action=ConfirmSubscription&...",
        )
    query = parse_qs(match["query"], keep_blank_values=True, strict_parsing=False)
    if query.get("Action") != ["ConfirmSubscription"] or len(query.get("Token", [])) != 1:
        raise ForbiddenDelivery(
            "subscribe_url_not_allowed", "SubscribeURL is not a ConfirmSubscription call"
        )
    if query.get("TopicArn") != [topic_arn]:
        raise ForbiddenDelivery(
            "subscribe_url_not_allowed", "SubscribeURL confirms a different topic"
        )
    return SnsUrl(url, match["host"], match["path"] + "?" + match["query"])


def check_endpoint_url(url: str) -> str:
    """Validate an ``AWS_ENDPOINT_URL_SNS`` value (operator-supplied, so only its shape).

    :raises ValueError: Not an http(s) base URL.
    """
    if not re.fullmatch(r"https?://[^/?#@\s]+(?:/[^?#\s]*)?", url):
        raise ValueError(f"AWS_ENDPOINT_URL_SNS must be an http(s) base URL, got {url!r}")
    return url.rstrip("/")

"""SNS signing certificates: local folder, fetch over HTTPS, bounded cache.

Lookup order for an allow-listed ``SigningCertURL``:

1. the in-memory cache (LRU, bounded in entries, each entry expiring after a TTL; failed
   fetches are remembered briefly too, so a flood of messages naming one bad certificate
   causes one fetch, not a flood);
2. ``cert_dir`` (``ALERTGATE_SNS_CERT_DIR``): a file named like the URL's last path segment;
3. an HTTP GET of the URL — or of the same path on ``AWS_ENDPOINT_URL_SNS`` when set —
   without redirects, proxies or ``.netrc``, with a timeout and a size limit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography import x509

from alertgate.blocking import before_blocking_io
from alertgate.errors import DeliveryRejected, ForbiddenDelivery
from alertgate.plugins.aws_sns.errors import UpstreamUnavailable
from alertgate.plugins.aws_sns.urls import SnsUrl, is_cert_file_name

log = logging.getLogger(__name__)

MAX_CERT_BYTES = 64 * 1024
FAILURE_TTL_SECONDS = 30.0
MAX_FAILURES = 256
MAX_CONCURRENT_FETCHES = 4


@dataclass(slots=True)
class _Entry:
    expires_at: float
    cert: x509.Certificate | None = None
    error: DeliveryRejected | None = None


def load_pem(data: bytes) -> x509.Certificate:
    """Parse one PEM certificate.

    :raises ValueError: Not a PEM certificate.
    """
    return x509.load_pem_x509_certificate(data)


class CertificateStore:
    """Thread-safe source of signing certificates for allow-listed URLs.

    :param cert_dir: Folder of ``SimpleNotificationService-*.pem`` files, tried before
        the network.
    :param endpoint_url: ``AWS_ENDPOINT_URL_SNS``: fetch the URL's path from here instead.
    :param client: HTTP client used for fetches (must not follow redirects).
    :param max_entries: Cache size bound.
    :param ttl_seconds: How long a fetched certificate is reused.
    :param clock: Monotonic clock (injectable for tests).
    """

    def __init__(
        self,
        *,
        cert_dir: Path | None = None,
        endpoint_url: str | None = None,
        client: httpx.Client | None = None,
        timeout: float = 5.0,
        max_entries: int = 64,
        ttl_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cert_dir = cert_dir
        self.endpoint_url = endpoint_url
        self.client = client or make_client(timeout)
        self.max_entries = max(1, max_entries)
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.fetches = 0
        """Network fetches made (for tests and metrics)."""
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        # Failures live apart so a flood of bogus certificate names cannot evict the good
        # ones (which would turn every genuine message into a fetch).
        self._failures: OrderedDict[str, _Entry] = OrderedDict()
        self._fetch_slots = threading.BoundedSemaphore(MAX_CONCURRENT_FETCHES)
        self._lock = threading.Lock()
        # One lock per URL being loaded, so concurrent first requests cause one fetch.
        self._loading: dict[str, threading.Lock] = {}

    def get(self, url: SnsUrl) -> x509.Certificate:
        """The certificate for ``url``.

        :raises ForbiddenDelivery: ``cert_unavailable`` (not found, not a certificate).
        :raises UpstreamUnavailable: ``cert_unavailable`` (timeout, connection error, 5xx).
        """
        entry = self._cached(url.url)
        if entry is None:
            # Reading or downloading it may block: off the event loop with it.
            before_blocking_io("SNS signing certificate")
            with self._lock:
                loading = self._loading.setdefault(url.url, threading.Lock())
            with loading:
                entry = self._cached(url.url)
                if entry is None:
                    entry = self._load(url)
                    self._store(url.url, entry)
            with self._lock:
                self._loading.pop(url.url, None)
        if entry.error is not None:
            raise entry.error
        assert entry.cert is not None
        return entry.cert

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self._failures.clear()

    def __len__(self) -> int:
        return len(self._cache)

    # -- internals -------------------------------------------------------------------------

    def _cached(self, key: str) -> _Entry | None:
        with self._lock:
            for table in (self._cache, self._failures):
                entry = table.get(key)
                if entry is None:
                    continue
                if entry.expires_at <= self.clock():
                    del table[key]
                    return None
                table.move_to_end(key)
                return entry
            return None

    def _store(self, key: str, entry: _Entry) -> None:
        table, bound = (
            (self._cache, self.max_entries) if entry.cert else (self._failures, MAX_FAILURES)
        )
        with self._lock:
            table[key] = entry
            table.move_to_end(key)
            while len(table) > bound:
                table.popitem(last=False)

    def _load(self, url: SnsUrl) -> _Entry:
        name = url.file_name
        if self.cert_dir is not None and is_cert_file_name(name):
            path = self.cert_dir / name
            if path.is_file():
                return self._parse(path.read_bytes()[: MAX_CERT_BYTES + 1], str(path))
        try:
            data = self._fetch(url)
        except DeliveryRejected as exc:
            log.warning("SNS certificate %s unavailable: %s", url.url, exc.message)
            return _Entry(self.clock() + FAILURE_TTL_SECONDS, error=exc)
        return self._parse(data, url.url)

    def _parse(self, data: bytes, where: str) -> _Entry:
        try:
            if len(data) > MAX_CERT_BYTES:
                raise ValueError("too large")
            cert = load_pem(data)
        except ValueError:
            error = ForbiddenDelivery("cert_unavailable", f"{where} is not a PEM certificate")
            return _Entry(self.clock() + FAILURE_TTL_SECONDS, error=error)
        return _Entry(self.clock() + self.ttl_seconds, cert=cert)

    def _fetch(self, url: SnsUrl) -> bytes:
        # A bounded number of downloads at once: hostile traffic naming many certificates
        # queues here (then gets 503) instead of tying up every worker thread.
        if not self._fetch_slots.acquire(timeout=self.client.timeout.read or 5.0):
            raise UpstreamUnavailable("cert_unavailable", "too many certificate downloads")
        try:
            return self._download(url)
        finally:
            self._fetch_slots.release()

    def _download(self, url: SnsUrl) -> bytes:
        target = url.target(self.endpoint_url)
        self.fetches += 1
        try:
            with self.client.stream("GET", target) as response:
                if response.status_code >= 500:
                    raise UpstreamUnavailable(
                        "cert_unavailable",
                        f"certificate fetch answered HTTP {response.status_code}",
                    )
                if response.status_code != 200:
                    raise ForbiddenDelivery(
                        "cert_unavailable",
                        f"certificate fetch answered HTTP {response.status_code}",
                    )
                data = bytearray()
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > MAX_CERT_BYTES:
                        raise ForbiddenDelivery("cert_unavailable", "certificate is too large")
                return bytes(data)
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(
                "cert_unavailable", f"certificate fetch failed: {type(exc).__name__}"
            ) from None


def make_client(timeout: float) -> httpx.Client:
    """The HTTP client for SNS calls: no redirects, no environment proxies or ``.netrc``."""
    return httpx.Client(
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(timeout),
        headers={"User-Agent": "alertgate-sns"},
    )

"""Test support for the SNS layer: a local fake SNS endpoint and request helpers.

``FakeSns`` is a real HTTP server on 127.0.0.1 that plays the part of
``sns.<region>.amazonaws.com`` once ``AWS_ENDPOINT_URL_SNS`` points at it: it serves
certificates by file name, answers ``ConfirmSubscription`` with the XML SNS returns, and
records every request so tests can assert what alertgate called (and what it did not).
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from alertgate.models import InboundRequest, ParseContext
from alertgate.plugins.aws_sns import SnsSettings
from tests.live import free_port

ROOT = Path(__file__).parent
SNS_FIXTURES = ROOT / "fixtures" / "aws" / "sns"
CERT_FIXTURES = ROOT / "fixtures" / "aws" / "certs"
TOPIC = "arn:aws:sns:us-east-1:123456789012:alertgate-test"

CONFIRM_XML = """<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <ConfirmSubscriptionResult>
    <SubscriptionArn>{arn}</SubscriptionArn>
  </ConfirmSubscriptionResult>
  <ResponseMetadata><RequestId>7a1b6c42-0000-0000-0000-000000000000</RequestId></ResponseMetadata>
</ConfirmSubscriptionResponse>
"""


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class FakeSns:
    """Knobs a test can turn; ``requests`` is what the server saw."""

    cert_dir: Path | None = None
    cert_status: int = 200
    cert_redirect: str | None = None
    confirm_status: int = 200
    delay: float = 0.0
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def confirm_calls(self) -> list[Recorded]:
        return [r for r in self.requests if "Action=ConfirmSubscription" in r.path]


@contextmanager
def fake_sns(cert_dir: Path | None = None) -> Iterator[FakeSns]:
    state = FakeSns(cert_dir=cert_dir)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            state.requests.append(Recorded("GET", self.path, dict(self.headers)))
            if state.delay:
                time.sleep(state.delay)
            parts = urlsplit(self.path)
            if parts.path.endswith(".pem"):
                self._cert(parts.path.rsplit("/", 1)[-1])
            elif parse_qs(parts.query).get("Action") == ["ConfirmSubscription"]:
                topic = parse_qs(parts.query)["TopicArn"][0]
                body = CONFIRM_XML.format(arn=f"{topic}:5f0c4b5e-1d2f-4a6b-9c3d-2e1f0a9b8c7d")
                self._send(state.confirm_status, body.encode(), "text/xml")
            else:
                self._send(404, b"not found", "text/plain")

        def _cert(self, name: str) -> None:
            if state.cert_redirect:
                self.send_response(302)
                self.send_header("Location", state.cert_redirect)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path = state.cert_dir / name if state.cert_dir else None
            if state.cert_status != 200 or path is None or not path.is_file():
                status = state.cert_status if state.cert_status != 200 else 404
                self._send(status, b"no such certificate", "text/plain")
                return
            self._send(200, path.read_bytes(), "application/x-pem-file")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def request(body: bytes, headers: dict[str, str] | None = None) -> InboundRequest:
    return InboundRequest(body=body, headers=headers or {}, content_type="text/plain")


def context(settings: SnsSettings, state: dict[str, object] | None = None) -> ParseContext:
    return ParseContext(
        integration_id=1, integration_type="aws_cloudwatch", settings=settings, state=state or {}
    )


@dataclass
class SigV4Proxy:
    """Forwards GETs to moto with an SNS-scoped SigV4 Authorization header added.

    moto's server routes a request to its SNS backend (and serves the certificate it named
    for a delivery) only when the request says it is for SNS; alertgate itself never sends
    AWS credentials, so this stands where ``sns.<region>.amazonaws.com`` would be.
    """

    url: str
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)


@contextmanager
def moto_with_cert_proxy() -> Iterator[tuple[str, SigV4Proxy]]:
    """moto's server on a free port, and a :class:`SigV4Proxy` in front of it."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    moto_url = f"http://127.0.0.1:{port}"
    # moto's backends live in this process and outlive a server: start from nothing.
    reset = urllib.request.Request(moto_url + "/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=10).close()
    proxy = SigV4Proxy(url="")
    auth = (
        "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/sns/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
    )

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            proxy.seen.append((self.path, dict(self.headers)))
            upstream = urllib.request.Request(moto_url + self.path, headers={"Authorization": auth})
            try:
                with urllib.request.urlopen(upstream, timeout=10) as resp:
                    status, body = resp.status, resp.read()
            except urllib.error.HTTPError as err:
                status, body = err.code, err.read()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield moto_url, proxy
    finally:
        httpd.shutdown()
        httpd.server_close()
        server.stop()

"""The e-mail channel against a real in-process SMTP server (aiosmtpd): plain and STARTTLS."""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import ssl
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine

from alertgate.registry import load_plugins
from tests.db_fixtures import SeedFn
from tests.live import free_port
from tests.notify_support import run_story


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"


def _self_signed(folder: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


@contextlib.contextmanager
def smtp_server(tls: ssl.SSLContext | None = None) -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    kwargs: dict[str, Any] = {"tls_context": tls, "require_starttls": True} if tls else {}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _settings(port: int, security: str) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "security": security,
        "verify_certificate": False,
        "from_address": "alertgate@example.test",
        "to": ["oncall@example.test"],
    }


def test_email_has_text_and_html_parts(db_engine: Engine, seed: SeedFn) -> None:
    ids = seed()
    with smtp_server() as (inbox, port):
        incident_id = run_story(
            db_engine, load_plugins(), ids.service_id, ids.integration_id, "email",
            _settings(port, "none"),
        )  # fmt: skip
    assert len(inbox.messages) == 3
    rcpt, first = inbox.messages[0]
    assert rcpt == ["oncall@example.test"]
    assert first["Subject"] == "[TRIGGERED] critical payments: Disk full on db-1"
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in first.walk()
        if not p.is_multipart()
    }
    assert f"http://alertgate.test/incidents/{incident_id}" in parts["text/plain"]
    assert "Acknowledge: http://alertgate.test/ack/" in parts["text/plain"]
    assert "<h2>[TRIGGERED] critical payments: Disk full on db-1</h2>" in parts["text/html"]
    assert inbox.messages[2][1]["Subject"].startswith("[RESOLVED]")


def test_email_over_starttls(db_engine: Engine, seed: SeedFn, tmp_path: Path) -> None:
    ids = seed()
    with smtp_server(_self_signed(tmp_path)) as (inbox, port):
        run_story(
            db_engine, load_plugins(), ids.service_id, ids.integration_id, "email",
            _settings(port, "starttls"),
        )  # fmt: skip
    assert len(inbox.messages) == 3

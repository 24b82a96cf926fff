"""The ``email`` channel: a text and an HTML part over SMTP (STARTTLS, TLS or plain).

``security`` is ``starttls`` (default, port 587), ``tls`` (implicit TLS, port 465) or
``none`` (only for a local relay). The password is a secret. Certificates are verified
unless ``verify_certificate`` is false (a relay with a self-signed certificate).
"""

from __future__ import annotations

import html
import smtplib
import ssl
from email.message import EmailMessage
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from alertgate import ChannelPlugin, ChannelType, Notification, NotificationError, OutboundHttp

SLUG = "email"


class EmailSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.\-:\[\]]+$")
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    verify_certificate: bool = True
    username: str | None = Field(None, max_length=200)
    password: SecretStr | None = None
    from_address: str = Field(min_length=3, max_length=254, pattern=r"^[^\s@]+@[^\s@]+$")
    to: list[str] = Field(min_length=1, max_length=50)


def build(notification: Notification, settings: EmailSettings) -> EmailMessage:
    inc = notification.incident
    msg = EmailMessage()
    msg["Subject"] = notification.headline[:250]
    msg["From"] = settings.from_address
    msg["To"] = ", ".join(settings.to)
    msg["X-Alertgate-Idempotency-Key"] = notification.idempotency_key
    lines = [
        notification.headline,
        "",
        notification.what_changed,
        "",
        f"Status:   {inc.get('status', '')}",
        f"Severity: {inc.get('severity', '')}",
        f"Service:  {inc.get('service', '')}",
    ]
    url, ack_url = inc.get("url"), notification.payload.get("ack_url")
    if url:
        lines += ["", f"Incident: {url}"]
    if ack_url:
        lines.append(f"Acknowledge: {ack_url}")
    msg.set_content("\n".join(lines) + "\n")
    e = html.escape
    links = "".join(
        f'<p><a href="{e(str(href))}">{label}</a></p>'
        for href, label in ((url, "Open incident"), (ack_url, "Acknowledge"))
        if href
    )
    msg.add_alternative(
        f"<html><body><h2>{e(notification.headline)}</h2><p>{e(notification.what_changed)}</p>"
        f"<table><tr><th align='left'>Status</th><td>{e(str(inc.get('status', '')))}</td></tr>"
        f"<tr><th align='left'>Severity</th><td>{e(str(inc.get('severity', '')))}</td></tr>"
        f"<tr><th align='left'>Service</th><td>{e(str(inc.get('service', '')))}</td></tr>"
        f"</table>{links}</body></html>",
        subtype="html",
    )
    return msg


def send(msg: EmailMessage, settings: EmailSettings, timeout: float) -> None:
    context = ssl.create_default_context()
    if not settings.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    smtp: smtplib.SMTP
    if settings.security == "tls":
        smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    with smtp:
        if settings.security == "starttls":
            smtp.starttls(context=context)
        if settings.username and settings.password is not None:
            smtp.login(settings.username, settings.password.get_secret_value())
        smtp.send_message(msg)


class Email(ChannelPlugin):
    channel_type = ChannelType(
        slug=SLUG,
        title="E-mail",
        description="Sends a text and HTML e-mail over SMTP (STARTTLS or TLS).",
        settings_model=EmailSettings,
    )

    def send(self, notification: Notification, settings: Any, http: OutboundHttp) -> None:
        assert isinstance(settings, EmailSettings)
        try:
            send(build(notification, settings), settings, http.timeout)
        except smtplib.SMTPResponseException as exc:
            # 5xx: the server refuses (bad recipient, auth); 4xx: try again later.
            raise NotificationError(
                f"SMTP server answered {exc.smtp_code}", retryable=exc.smtp_code < 500
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise NotificationError(f"SMTP failed: {type(exc).__name__}") from None


plugin = Email()

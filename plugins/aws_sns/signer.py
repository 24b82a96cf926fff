"""A stand-in for Amazon SNS's signing, for tests, the demo and the benchmark.

It creates an RSA key and a self-signed certificate, writes the certificate as
``SimpleNotificationService-<name>.pem`` into a directory, and produces SNS HTTP-delivery
envelopes byte-for-byte shaped like the real ones (field names, ``SignatureVersion`` 1 or 2,
``SigningCertURL`` on ``sns.<region>.amazonaws.com``). alertgate accepts them when
``ALERTGATE_SNS_CERT_DIR`` (or the ``cert_dir`` a
:class:`~alertgate.plugins.aws_sns.runtime.SnsRuntime` is built with) points at that
directory — a trust decision the operator makes explicitly; nothing here is trusted by
default.

Example::

    signer = SnsSigner(tmp_path, name="demo")
    body = signer.body(signer.notification('{"AlarmName": "x"}', topic_arn=TOPIC))
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from alertgate.plugins.aws_sns.envelope import (
    NOTIFICATION,
    SUBSCRIPTION_CONFIRMATION,
    UNSUBSCRIBE_CONFIRMATION,
)
from alertgate.plugins.aws_sns.signature import sign

DEFAULT_REGION = "us-east-1"


def sns_timestamp(when: datetime | None = None) -> str:
    """Format a time the way SNS does: ``2022-07-28T21:23:58.317Z``."""
    value = (when or datetime.now(UTC)).astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class SnsSigner:
    """Signs SNS envelopes with a fresh key whose certificate lives in ``directory``.

    :param directory: Where the certificate is written (created if missing).
    :param name: Certificate id: the file is ``SimpleNotificationService-<name>.pem``.
    :param region: Region in the ``SigningCertURL`` / ``SubscribeURL`` hosts.
    :param not_before: Start of the certificate's validity (default: one day ago).
    :param valid_for: Length of the certificate's validity (default: 365 days).
    :param key_size: RSA key size in bits.
    """

    def __init__(
        self,
        directory: Path | str,
        name: str = "alertgate-test",
        *,
        region: str = DEFAULT_REGION,
        not_before: datetime | None = None,
        valid_for: timedelta = timedelta(days=365),
        key_size: int = 2048,
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", name):
            raise ValueError("name must be 1-100 of [A-Za-z0-9_-]")
        self.directory = Path(directory)
        self.name = name
        self.region = region
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        start = not_before or datetime.now(UTC) - timedelta(days=1)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "alertgate test signer"),
                x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com"),
            ]
        )
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + valid_for)
            .sign(self.key, hashes.SHA256())
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.cert_path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    @property
    def cert_file_name(self) -> str:
        return f"SimpleNotificationService-{self.name}.pem"

    @property
    def cert_path(self) -> Path:
        return self.directory / self.cert_file_name

    @property
    def host(self) -> str:
        return f"sns.{self.region}.amazonaws.com"

    @property
    def cert_url(self) -> str:
        return f"https://{self.host}/{self.cert_file_name}"

    # -- envelopes -------------------------------------------------------------------------

    def notification(
        self,
        message: str,
        *,
        topic_arn: str,
        subject: str | None = None,
        timestamp: datetime | str | None = None,
        message_id: str | None = None,
        signature_version: str = "1",
        message_attributes: dict[str, Any] | None = None,
        subscription_id: str = "0b6dd3c5-7a35-4c2c-9bb8-2e2d0e8c8c39",
    ) -> dict[str, Any]:
        """A signed ``Notification`` envelope (a fresh ``MessageId`` unless given)."""
        doc: dict[str, Any] = {
            "Type": NOTIFICATION,
            "MessageId": message_id or str(uuid.uuid4()),
            "TopicArn": topic_arn,
        }
        if subject is not None:
            doc["Subject"] = subject
        doc["Message"] = message
        doc["Timestamp"] = self._timestamp(timestamp)
        doc["SignatureVersion"] = signature_version
        doc["Signature"] = ""
        doc["SigningCertURL"] = self.cert_url
        doc["UnsubscribeURL"] = (
            f"https://{self.host}/?Action=Unsubscribe&SubscriptionArn={topic_arn}:{subscription_id}"
        )
        if message_attributes is not None:
            doc["MessageAttributes"] = message_attributes
        return self.resign(doc)

    def subscription_confirmation(
        self,
        *,
        topic_arn: str,
        token: str | None = None,
        subscribe_url: str | None = None,
        timestamp: datetime | str | None = None,
        message_id: str | None = None,
        signature_version: str = "1",
    ) -> dict[str, Any]:
        """A signed ``SubscriptionConfirmation``; ``SubscribeURL`` defaults to the real shape."""
        token = token or uuid.uuid4().hex * 4
        return self._confirmation(
            SUBSCRIPTION_CONFIRMATION,
            topic_arn=topic_arn,
            token=token,
            message=(
                f"You have chosen to subscribe to the topic {topic_arn}.\n"
                "To confirm the subscription, visit the SubscribeURL included in this message."
            ),
            subscribe_url=subscribe_url
            or f"https://{self.host}/?Action=ConfirmSubscription&TopicArn={topic_arn}&Token={token}",
            timestamp=timestamp,
            message_id=message_id,
            signature_version=signature_version,
        )

    def unsubscribe_confirmation(
        self,
        *,
        topic_arn: str,
        token: str | None = None,
        timestamp: datetime | str | None = None,
        message_id: str | None = None,
        signature_version: str = "1",
    ) -> dict[str, Any]:
        """A signed ``UnsubscribeConfirmation`` (its SubscribeURL would re-subscribe)."""
        token = token or uuid.uuid4().hex * 4
        return self._confirmation(
            UNSUBSCRIBE_CONFIRMATION,
            topic_arn=topic_arn,
            token=token,
            message=(
                f"You have chosen to deactivate subscription to the topic {topic_arn}.\n"
                "To cancel this operation and restore the subscription, visit the SubscribeURL "
                "included in this message."
            ),
            subscribe_url=(
                f"https://{self.host}/?Action=ConfirmSubscription&TopicArn={topic_arn}"
                f"&Token={token}"
            ),
            timestamp=timestamp,
            message_id=message_id,
            signature_version=signature_version,
        )

    def resign(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Set ``Signature`` of ``doc`` (in place, also returned) for its current fields.

        Handy for tests that change a field and want a *validly* signed result.
        """
        fields = {k: v for k, v in doc.items() if isinstance(v, str) and k != "Signature"}
        doc["Signature"] = sign(
            str(doc["Type"]), fields, self.key, str(doc.get("SignatureVersion", "1"))
        )
        return doc

    @staticmethod
    def headers(doc: dict[str, Any]) -> dict[str, str]:
        """The headers Amazon SNS sends with an HTTP(S) delivery of ``doc``."""
        return {
            "content-type": "text/plain; charset=UTF-8",
            "user-agent": "Amazon Simple Notification Service Agent",
            "x-amz-sns-message-type": str(doc["Type"]),
            "x-amz-sns-message-id": str(doc["MessageId"]),
            "x-amz-sns-topic-arn": str(doc["TopicArn"]),
        }

    @staticmethod
    def body(doc: dict[str, Any]) -> bytes:
        """Serialize an envelope the way SNS posts it (UTF-8 JSON, non-ASCII unescaped)."""
        return json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8")

    # -- internals -------------------------------------------------------------------------

    def _confirmation(
        self,
        kind: str,
        *,
        topic_arn: str,
        token: str,
        message: str,
        subscribe_url: str,
        timestamp: datetime | str | None,
        message_id: str | None,
        signature_version: str,
    ) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "Type": kind,
            "MessageId": message_id or str(uuid.uuid4()),
            "Token": token,
            "TopicArn": topic_arn,
            "Message": message,
            "SubscribeURL": subscribe_url,
            "Timestamp": self._timestamp(timestamp),
            "SignatureVersion": signature_version,
            "Signature": "",
            "SigningCertURL": self.cert_url,
        }
        return self.resign(doc)

    @staticmethod
    def _timestamp(value: datetime | str | None) -> str:
        if isinstance(value, str):
            return value
        return sns_timestamp(value)

"""SNS message signatures: the string to sign and its verification.

Per the AWS documentation ("Verifying the signatures of Amazon SNS messages"): the string to
sign is ``name\\nvalue\\n`` for a fixed, alphabetical list of fields, over the *decoded* JSON
values (so escapes, non-ASCII and astral characters, and a trailing newline in ``Message``
are signed as the characters they decode to, UTF-8 encoded). SignatureVersion 1 is
SHA1withRSA, 2 is SHA256withRSA, both PKCS#1 v1.5.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from alertgate.errors import ForbiddenDelivery
from alertgate.plugins.aws_sns.envelope import NOTIFICATION, Envelope

NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
MIN_KEY_BITS = 2048
MAX_SIGNATURE_CHARS = 4096


# Stateless descriptions of the algorithms, made once rather than on every delivery.
_SHA1 = hashes.SHA1()  # noqa: S303 - SNS SignatureVersion 1 is defined as SHA1withRSA
_SHA256 = hashes.SHA256()
_PKCS1V15 = padding.PKCS1v15()


def _hash_for(version: str) -> hashes.HashAlgorithm:
    if version == "1":
        return _SHA1
    if version == "2":
        return _SHA256
    raise ForbiddenDelivery("signature_version_unsupported", 'SignatureVersion must be "1" or "2"')


def string_to_sign(message_type: str, fields: Mapping[str, str]) -> bytes:
    """The bytes SNS signs for a message of ``message_type`` with these (decoded) fields.

    A Notification signs ``Subject`` only when present; the confirmation types sign every
    one of their fields (a missing one signs as absent and then fails verification).
    """
    names = NOTIFICATION_FIELDS if message_type == NOTIFICATION else CONFIRMATION_FIELDS
    parts = [f"{name}\n{fields[name]}\n" for name in names if name in fields]
    return "".join(parts).encode("utf-8")


def sign(message_type: str, fields: Mapping[str, str], key: rsa.RSAPrivateKey, version: str) -> str:
    """Base64 signature of a message, as SNS puts it in ``Signature`` (used by the signer)."""
    raw = key.sign(string_to_sign(message_type, fields), padding.PKCS1v15(), _hash_for(version))
    return base64.b64encode(raw).decode("ascii")


def check_cert_valid_at(cert: x509.Certificate, when: datetime) -> None:
    """The certificate must have been valid when the message says it was signed.

    Checked against the message's own ``Timestamp`` (not the clock), so archived messages
    still verify; how old a message may be is the separate freshness check.

    :raises ForbiddenDelivery: ``cert_expired``.
    """
    if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
        raise ForbiddenDelivery(
            "cert_expired",
            f"signing certificate is valid {cert.not_valid_before_utc.isoformat()} to "
            f"{cert.not_valid_after_utc.isoformat()}, not at the message Timestamp "
            f"{when.isoformat()}",
        )


def verify_signature(envelope: Envelope, cert: x509.Certificate) -> None:
    """Verify ``envelope``'s signature with ``cert``'s public key.

    :raises ForbiddenDelivery: ``signature_version_unsupported``, ``signature_invalid``,
        ``cert_invalid`` (not an RSA key of at least 2048 bits), ``cert_expired``.
    """
    algorithm = _hash_for(envelope.fields.get("SignatureVersion", ""))
    public_key = cert.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey) or public_key.key_size < MIN_KEY_BITS:
        raise ForbiddenDelivery("cert_invalid", "signing certificate is not an RSA-2048+ key")
    encoded = envelope.fields.get("Signature", "")
    try:
        if len(encoded) > MAX_SIGNATURE_CHARS:
            raise ValueError("too long")
        signature = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        raise ForbiddenDelivery("signature_invalid", "Signature is not valid base64") from None
    try:
        public_key.verify(
            signature,
            string_to_sign(envelope.type, envelope.fields),
            _PKCS1V15,
            algorithm,
        )
    except InvalidSignature:
        raise ForbiddenDelivery(
            "signature_invalid", "the SNS signature does not match the message"
        ) from None
    check_cert_valid_at(cert, envelope.timestamp)

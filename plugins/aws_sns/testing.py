"""Signing SNS messages with a local test certificate, for tests of SNS-based plugins.

Registered as a pytest plugin (``pytest11`` entry point ``alertgate_sns``) next to
:mod:`alertgate.testing`; the ``sns_signer`` fixture is inert until a test asks for it::

    def test_alarm_opens(alertgate_client, sns_signer):
        body, headers = sns_signer.delivery(json.dumps(alarm), topic_arn=TOPIC)
        answer = alertgate_client.post("aws_cloudwatch", body, headers=headers)
        assert answer.outcomes == ["opened"]

The signer writes a self-signed certificate to a temporary folder and points
``ALERTGATE_SNS_CERT_DIR`` at it for the test, so alertgate verifies the signatures for real
while nothing is fetched from AWS.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from alertgate.plugins.aws_sns.signer import SnsSigner

CERT_DIR_ENV = "ALERTGATE_SNS_CERT_DIR"
DEFAULT_TOPIC = "arn:aws:sns:us-east-1:123456789012:alertgate-test"


def sns_headers(doc: dict[str, Any]) -> dict[str, str]:
    """The headers Amazon SNS sends with an HTTP(S) delivery of envelope ``doc``."""
    # Imported here: this module is a pytest plugin loaded in every session; the signer
    # (cryptography) is paid for only by tests that sign.
    from alertgate.plugins.aws_sns.signer import SnsSigner

    return SnsSigner.headers(doc)


class TestSigner:
    """An :class:`~alertgate.plugins.aws_sns.signer.SnsSigner` with delivery helpers."""

    __test__ = False

    def __init__(self, signer: SnsSigner) -> None:
        self.signer = signer

    @property
    def cert_dir(self) -> Path:
        return self.signer.directory

    def delivery(
        self, message: str, *, topic_arn: str = DEFAULT_TOPIC, **fields: Any
    ) -> tuple[bytes, dict[str, str]]:
        """Body and headers of a signed ``Notification`` carrying ``message``.

        ``fields`` go to :meth:`SnsSigner.notification` (``subject``, ``timestamp``,
        ``message_id``, ``signature_version`` ...).
        """
        doc = self.signer.notification(message, topic_arn=topic_arn, **fields)
        return self.signer.body(doc), sns_headers(doc)

    def confirmation(self, *, topic_arn: str = DEFAULT_TOPIC) -> tuple[bytes, dict[str, str]]:
        """Body and headers of a signed ``SubscriptionConfirmation``."""
        doc = self.signer.subscription_confirmation(topic_arn=topic_arn)
        return self.signer.body(doc), sns_headers(doc)


def make_signer(directory: Path, name: str = "alertgate-test") -> TestSigner:
    """A signer whose certificate is written to ``directory`` (trust it with
    ``ALERTGATE_SNS_CERT_DIR``)."""
    from alertgate.plugins.aws_sns.signer import SnsSigner

    return TestSigner(SnsSigner(directory, name=name))


@pytest.fixture
def sns_signer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestSigner]:
    """Signs SNS deliveries with a local certificate alertgate trusts for this test."""
    signer = make_signer(tmp_path / "sns-certs")
    monkeypatch.setenv(CERT_DIR_ENV, str(signer.cert_dir))
    yield signer

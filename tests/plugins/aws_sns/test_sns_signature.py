"""Real AWS-signed SNS messages verify; any one-character change to signed content fails."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alertgate.errors import DeliveryRejected, ForbiddenDelivery, MalformedDelivery
from alertgate.plugins.aws_sns.certs import CertificateStore
from alertgate.plugins.aws_sns.envelope import parse_envelope
from alertgate.plugins.aws_sns.signature import (
    CONFIRMATION_FIELDS,
    NOTIFICATION_FIELDS,
    string_to_sign,
)
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.plugins.aws_sns.urls import check_cert_url
from alertgate.plugins.aws_sns.verify import verify_envelope
from tests.sns_support import CERT_FIXTURES, SNS_FIXTURES, TOPIC

FIXTURES = sorted(SNS_FIXTURES.glob("*.json"))


@pytest.fixture(scope="module")
def fixture_certs() -> CertificateStore:
    return CertificateStore(cert_dir=CERT_FIXTURES)


def _verify(doc: dict[str, object], certs: CertificateStore) -> None:
    verify_envelope(parse_envelope(doc), certs, max_age_seconds=0)


def test_fixture_set_is_complete() -> None:
    assert len(FIXTURES) == 13
    versions = {json.loads(p.read_text())["SignatureVersion"] for p in FIXTURES}
    assert versions == {"1", "2"}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_real_signed_message_verifies(path: Path, fixture_certs: CertificateStore) -> None:
    _verify(json.loads(path.read_text()), fixture_certs)


def _mutate(char: str) -> str:
    other = chr(ord(char) ^ 1)
    return other if other != char else "x"


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_every_one_character_change_of_signed_content_fails(
    path: Path, fixture_certs: CertificateStore
) -> None:
    doc = json.loads(path.read_text())
    signed = NOTIFICATION_FIELDS if doc["Type"] == "Notification" else CONFIRMATION_FIELDS
    signed = (*signed, "Signature")
    tried = 0
    for name in signed:
        value = doc.get(name)
        if not isinstance(value, str):
            continue
        for i in range(len(value)):
            changed = dict(doc)
            changed[name] = value[:i] + _mutate(value[i]) + value[i + 1 :]
            with pytest.raises(DeliveryRejected):
                _verify(changed, fixture_certs)
            tried += 1
    assert tried > 300


@pytest.mark.parametrize("path", FIXTURES[:3], ids=lambda p: p.stem)
def test_adding_or_dropping_a_character_fails(path: Path, fixture_certs: CertificateStore) -> None:
    doc = json.loads(path.read_text())
    for changed_message in (doc["Message"] + " ", doc["Message"][:-1], "\n" + doc["Message"]):
        with pytest.raises(ForbiddenDelivery) as err:
            _verify({**doc, "Message": changed_message}, fixture_certs)
        assert err.value.code == "signature_invalid"


def test_adding_a_subject_fails(fixture_certs: CertificateStore) -> None:
    doc = json.loads((SNS_FIXTURES / "awsphp_2022_notification_v1_nosubject.json").read_text())
    with pytest.raises(ForbiddenDelivery) as err:
        _verify({**doc, "Subject": ""}, fixture_certs)
    assert err.value.code == "signature_invalid"


def test_null_subject_is_absent_and_lambda_casing_verifies(fixture_certs: CertificateStore) -> None:
    doc = json.loads(
        (SNS_FIXTURES / "awsphp_2022_lambda_style_v2_nosubject_subject_null.json").read_text()
    )
    envelope = parse_envelope(doc)
    assert envelope.subject is None
    assert envelope.fields["SigningCertURL"].endswith("7ff5318490ec183fbaddaa2a969abfda.pem")
    verify_envelope(envelope, fixture_certs, max_age_seconds=0)


def test_message_ending_in_newline_is_signed_as_decoded(fixture_certs: CertificateStore) -> None:
    doc = json.loads((SNS_FIXTURES / "djangoses_2022_ses_complaint_v1_subject.json").read_text())
    assert doc["Message"].endswith("\n")
    _verify(doc, fixture_certs)
    with pytest.raises(ForbiddenDelivery):
        _verify({**doc, "Message": doc["Message"].rstrip("\n")}, fixture_certs)


def test_changing_the_signature_version_fails(fixture_certs: CertificateStore) -> None:
    doc = json.loads((SNS_FIXTURES / "awsphp_2022_notification_v1_subject.json").read_text())
    with pytest.raises(ForbiddenDelivery) as err:
        _verify({**doc, "SignatureVersion": "2"}, fixture_certs)
    assert err.value.code == "signature_invalid"
    with pytest.raises(ForbiddenDelivery) as err:
        _verify({**doc, "SignatureVersion": "3"}, fixture_certs)
    assert err.value.code == "signature_version_unsupported"


def test_swapping_the_certificate_fails(fixture_certs: CertificateStore) -> None:
    doc = json.loads((SNS_FIXTURES / "awsphp_2022_notification_v1_subject.json").read_text())
    other = doc["SigningCertURL"].replace(
        "7ff5318490ec183fbaddaa2a969abfda", "b95095beb82e8f6a046b3aafc7f4149a"
    )
    with pytest.raises(ForbiddenDelivery) as err:
        _verify({**doc, "SigningCertURL": other}, fixture_certs)
    assert err.value.code == "signature_invalid"


def test_string_to_sign_matches_aws_documentation() -> None:
    fields = {
        "Type": "Notification",
        "MessageId": "m",
        "TopicArn": "t",
        "Message": "é🎉\n",
        "Timestamp": "ts",
        "UnsubscribeURL": "not signed",
    }
    expected = "Message\né🎉\n\nMessageId\nm\nTimestamp\nts\nTopicArn\nt\nType\nNotification\n"
    assert string_to_sign("Notification", fields) == expected.encode("utf-8")


# -- certificate validity vs the message's own Timestamp ------------------------------------


def test_expired_fixture_certificate_still_verifies_its_own_old_message(
    fixture_certs: CertificateStore,
) -> None:
    doc = json.loads((SNS_FIXTURES / "awsphp_2017_notification_v1_subject.json").read_text())
    cert = fixture_certs.get(check_cert_url(doc["SigningCertURL"]))
    assert cert.not_valid_after_utc < datetime.now(UTC)
    _verify(doc, fixture_certs)


def test_message_signed_outside_certificate_validity_is_rejected(tmp_path: Path) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    signer = SnsSigner(tmp_path, "window", not_before=start, valid_for=timedelta(days=30))
    certs = CertificateStore(cert_dir=tmp_path)
    inside = signer.notification("ok", topic_arn=TOPIC, timestamp=start + timedelta(days=1))
    verify_envelope(parse_envelope(inside), certs, max_age_seconds=0)
    for when in (start - timedelta(seconds=1), start + timedelta(days=31)):
        doc = signer.notification("late", topic_arn=TOPIC, timestamp=when)
        with pytest.raises(ForbiddenDelivery) as err:
            verify_envelope(parse_envelope(doc), certs, max_age_seconds=0)
        assert err.value.code == "cert_expired"


# -- the test signer ------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
def test_signer_envelopes_verify_and_tampering_fails(tmp_path: Path, version: str) -> None:
    signer = SnsSigner(tmp_path, "unit")
    assert (tmp_path / "SimpleNotificationService-unit.pem").is_file()
    certs = CertificateStore(cert_dir=tmp_path)
    message = 'astral 🎉 non-ASCII é "quoted"\n'
    docs = [
        signer.notification(message, topic_arn=TOPIC, subject="Sübject", signature_version=version),
        signer.notification(message, topic_arn=TOPIC, signature_version=version),
        signer.subscription_confirmation(topic_arn=TOPIC, signature_version=version),
        signer.unsubscribe_confirmation(topic_arn=TOPIC, signature_version=version),
    ]
    for doc in docs:
        body = json.loads(signer.body(doc))
        assert (
            body["SigningCertURL"]
            == "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-unit.pem"
        )
        verify_envelope(parse_envelope(body), certs)
        with pytest.raises(ForbiddenDelivery):
            verify_envelope(parse_envelope({**body, "Message": body["Message"] + "!"}), certs)
    assert docs[0]["MessageId"] != docs[1]["MessageId"]


def test_malformed_envelopes_are_400() -> None:
    good = json.loads((SNS_FIXTURES / "awsphp_2022_notification_v1_subject.json").read_text())
    cases = [
        ([1, 2], "not_sns"),
        ({**good, "Type": "Other"}, "not_sns"),
        ({k: v for k, v in good.items() if k != "MessageId"}, "invalid_envelope"),
        ({**good, "Message": 42}, "invalid_envelope"),
        ({**good, "Timestamp": "yesterday"}, "invalid_timestamp"),
        ({**good, "Timestamp": "2022-07-28T22:53:49"}, "invalid_timestamp"),
        (
            {**good, "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/x.pem"},
            "invalid_envelope",
        ),
    ]
    for doc, code in cases:
        with pytest.raises(MalformedDelivery) as err:
            parse_envelope(doc)
        assert err.value.code == code, doc

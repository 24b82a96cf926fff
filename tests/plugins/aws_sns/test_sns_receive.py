"""receive(): confirmation, unsubscribe, topics, freshness, certificate fetch and cache,
raw delivery and direct posts — against a real local HTTP fake of SNS."""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from alertgate.errors import DeliveryRejected, ForbiddenDelivery, MalformedDelivery
from alertgate.models import ParseResult
from alertgate.plugins.aws_sns import SnsNotification, SnsRuntime, SnsSettings, receive
from alertgate.plugins.aws_sns.certs import CertificateStore
from alertgate.plugins.aws_sns.errors import DeliveryTooLarge, UpstreamUnavailable
from alertgate.plugins.aws_sns.runtime import RUNTIME
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.plugins.aws_sns.unsigned import hash_secret
from alertgate.plugins.aws_sns.urls import check_cert_url
from alertgate.registry import load_plugins
from tests.paths import TESTS_DIR
from tests.sns_support import SNS_FIXTURES, TOPIC, FakeSns, context, fake_sns, request

OTHER_TOPIC = "arn:aws:sns:us-east-1:123456789012:other"
SECRET = "correct horse battery staple"


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> SnsSigner:
    return SnsSigner(tmp_path_factory.mktemp("certs"), "receive")


@pytest.fixture
def sns(signer: SnsSigner) -> FakeSns:
    with fake_sns(signer.directory) as server:
        yield server


@pytest.fixture
def runtime(sns: FakeSns) -> SnsRuntime:
    """Certificates and confirmations go to the fake, as with AWS_ENDPOINT_URL_SNS."""
    return SnsRuntime.create(endpoint_url=sns.url, timeout=1.0)


def _receive(
    body: bytes,
    settings: SnsSettings,
    runtime: SnsRuntime,
    state: dict[str, object] | None = None,
    headers: dict[str, str] | None = None,
) -> SnsNotification | ParseResult:
    return receive(request(body, headers), context(settings, state), settings, runtime=runtime)


# -- notifications ----------------------------------------------------------------------------


def test_notification_is_unwrapped_and_cert_is_fetched_once(
    signer: SnsSigner, sns: FakeSns, runtime: SnsRuntime
) -> None:
    settings = SnsSettings()
    for i in range(20):
        doc = signer.notification(f"alarm {i}", topic_arn=TOPIC, subject="ALARM: x")
        result = _receive(signer.body(doc), settings, runtime, {"sns": {"status": "confirmed"}})
        assert isinstance(result, SnsNotification)
        assert result.message == f"alarm {i}"
        assert result.message_id == doc["MessageId"]
        assert result.topic_arn == TOPIC and result.subject == "ALARM: x"
        assert result.envelope == json.loads(signer.body(doc))
        assert result.kind == "sns" and set(result.state_updates) == {"last_delivery_at"}
    assert sns.paths() == [f"/{signer.cert_file_name}"]
    assert runtime.certs.fetches == 1


def test_first_verified_notification_marks_a_hand_confirmed_subscription(
    signer: SnsSigner, runtime: SnsRuntime
) -> None:
    settings = SnsSettings(pin_first_topic=True)
    result = _receive(signer.body(signer.notification("m", topic_arn=TOPIC)), settings, runtime)
    assert isinstance(result, SnsNotification)
    state = result.state_updates["sns"]
    assert state["status"] == "confirmed" and state["pinned_topic_arn"] == TOPIC


def test_tampered_notification_is_403_signature_invalid(
    signer: SnsSigner, runtime: SnsRuntime
) -> None:
    doc = signer.notification('{"NewStateValue": "OK"}', topic_arn=TOPIC)
    doc["Message"] = '{"NewStateValue": "ALARM"}'
    with pytest.raises(ForbiddenDelivery) as err:
        _receive(signer.body(doc), SnsSettings(), runtime)
    assert err.value.code == "signature_invalid" and err.value.status_code == 403


def test_unsigned_envelope_is_rejected(signer: SnsSigner, runtime: SnsRuntime) -> None:
    doc = signer.notification("m", topic_arn=TOPIC)
    del doc["Signature"]
    with pytest.raises(ForbiddenDelivery) as err:
        _receive(signer.body(doc), SnsSettings(), runtime)
    assert err.value.code == "signature_missing"


def test_lambda_casing_and_null_subject_through_receive(tmp_path: Path) -> None:
    body = (SNS_FIXTURES / "awsphp_2022_lambda_style_v1_nosubject_subject_null.json").read_bytes()
    runtime = SnsRuntime.create(cert_dir=TESTS_DIR / "fixtures/aws/certs")
    settings = SnsSettings(max_message_age_seconds=0)
    result = _receive(body, settings, runtime)
    assert isinstance(result, SnsNotification)
    assert result.subject is None and result.message == "Hello world"


@pytest.mark.parametrize(
    ("body", "error", "code"),
    [
        (b"not json", MalformedDelivery, "invalid_json"),
        (b"\xff\xfe", MalformedDelivery, "invalid_json"),
        (b"[1]", MalformedDelivery, "not_sns"),
        (b'{"Type": "Notification"}', MalformedDelivery, "not_sns"),
        (b'{"Type": "Notification", "TopicArn": "x"}', MalformedDelivery, "invalid_envelope"),
        (b"[" * 100_000, MalformedDelivery, "invalid_json"),
        (b" " * (1024 * 1024 + 1), DeliveryTooLarge, "too_large"),
    ],
    ids=["text", "binary", "list", "no-topic", "missing-fields", "deep", "huge"],
)
def test_malformed_bodies(
    body: bytes, error: type[DeliveryRejected], code: str, runtime: SnsRuntime, sns: FakeSns
) -> None:
    with pytest.raises(error) as err:
        _receive(body, SnsSettings(), runtime)
    assert err.value.code == code
    assert sns.requests == []


# -- subscription confirmation -----------------------------------------------------------------


def test_confirmation_is_confirmed_after_verification(
    signer: SnsSigner, sns: FakeSns, runtime: SnsRuntime
) -> None:
    doc = signer.subscription_confirmation(topic_arn=TOPIC, token="tok123")
    settings = SnsSettings(pin_first_topic=True)
    result = _receive(signer.body(doc), settings, runtime, {"sns": {"status": "pending"}})
    assert isinstance(result, ParseResult) and result.alerts == []
    state = result.state_updates["sns"]
    assert state["status"] == "confirmed"
    assert state["topic_arn"] == TOPIC and state["pinned_topic_arn"] == TOPIC
    assert state["subscription_arn"].startswith(TOPIC + ":")
    assert state["error"] is None
    datetime.fromisoformat(state["updated_at"])
    # Certificate first (verification), then exactly one confirmation GET, no redirects.
    assert sns.paths()[0] == f"/{signer.cert_file_name}"
    [call] = sns.confirm_calls()
    assert call.path == f"/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=tok123"
    assert "Authorization" not in call.headers
    assert result.response is not None and result.response.status_code == 200


def test_forged_confirmation_is_never_confirmed(
    signer: SnsSigner, sns: FakeSns, runtime: SnsRuntime
) -> None:
    doc = signer.subscription_confirmation(topic_arn=TOPIC, token="f" * 64)
    doc["Token"] = "f" * 63 + "0"
    with pytest.raises(ForbiddenDelivery):
        _receive(signer.body(doc), SnsSettings(), runtime)
    assert sns.confirm_calls() == []


def test_confirmation_not_sent_when_verification_or_auto_confirm_is_off(
    signer: SnsSigner, sns: FakeSns, runtime: SnsRuntime
) -> None:
    for settings in (SnsSettings(verify_signatures=False), SnsSettings(auto_confirm=False)):
        doc = signer.subscription_confirmation(topic_arn=TOPIC)
        result = _receive(signer.body(doc), settings, runtime)
        assert isinstance(result, ParseResult)
        assert result.state_updates["sns"]["status"] == "pending"
        assert result.state_updates["sns"]["error"]
    assert sns.confirm_calls() == []


@pytest.mark.parametrize("failure", ["status", "timeout"])
def test_failed_confirmation_is_recorded_as_pending_with_error(
    signer: SnsSigner, sns: FakeSns, runtime: SnsRuntime, failure: str
) -> None:
    runtime.certs.get(check_cert_url(signer.cert_url))  # warm the cache before slowing down
    if failure == "status":
        sns.confirm_status = 403
    else:
        sns.delay = 1.5
    doc = signer.subscription_confirmation(topic_arn=TOPIC)
    result = _receive(signer.body(doc), SnsSettings(), runtime)
    assert isinstance(result, ParseResult)
    state = result.state_updates["sns"]
    assert state["status"] == "pending"
    assert ("403" if failure == "status" else "Timeout") in state["error"]


def test_unsubscribe_confirmation_is_recorded_and_never_resubscribes(
    signer: SnsSigner, sns: FakeSns, runtime: SnsRuntime
) -> None:
    previous = {
        "sns": {
            "status": "confirmed",
            "subscription_arn": TOPIC + ":abc",
            "pinned_topic_arn": TOPIC,
        }
    }
    doc = signer.unsubscribe_confirmation(topic_arn=TOPIC)
    result = _receive(signer.body(doc), SnsSettings(pin_first_topic=True), runtime, previous)
    assert isinstance(result, ParseResult) and [a.title for a in result.alerts] == [
        "SNS subscription removed"
    ]
    state = result.state_updates["sns"]
    assert state["status"] == "unsubscribed"
    assert state["subscription_arn"] == TOPIC + ":abc"
    assert state["pinned_topic_arn"] == TOPIC
    assert sns.confirm_calls() == []
    assert all(".pem" in p for p in sns.paths())


# -- topics ------------------------------------------------------------------------------------


def test_topic_allow_list_rejects_before_any_request(
    signer: SnsSigner, sns: FakeSns, runtime: SnsRuntime
) -> None:
    settings = SnsSettings(allowed_topic_arns=[OTHER_TOPIC])
    for doc in (
        signer.notification("m", topic_arn=TOPIC),
        signer.subscription_confirmation(topic_arn=TOPIC),
    ):
        with pytest.raises(ForbiddenDelivery) as err:
            _receive(signer.body(doc), settings, runtime)
        assert err.value.code == "topic_not_allowed"
    assert sns.requests == []
    ok = _receive(signer.body(signer.notification("m", topic_arn=OTHER_TOPIC)), settings, runtime)
    assert isinstance(ok, SnsNotification)


def test_pinned_topic_rejects_other_topics(signer: SnsSigner, runtime: SnsRuntime) -> None:
    settings = SnsSettings(pin_first_topic=True)
    state = {"sns": {"status": "confirmed", "pinned_topic_arn": TOPIC}}
    doc = signer.subscription_confirmation(topic_arn=OTHER_TOPIC)
    with pytest.raises(ForbiddenDelivery) as err:
        _receive(signer.body(doc), settings, runtime, state)
    assert err.value.code == "topic_not_allowed"
    ok = _receive(signer.body(signer.notification("m", topic_arn=TOPIC)), settings, runtime, state)
    assert isinstance(ok, SnsNotification) and set(ok.state_updates) == {"last_delivery_at"}


def test_topic_arn_must_be_an_arn(signer: SnsSigner, runtime: SnsRuntime) -> None:
    doc = signer.notification("m", topic_arn="https://evil.example/")
    with pytest.raises(MalformedDelivery) as err:
        _receive(signer.body(doc), SnsSettings(), runtime)
    assert err.value.code == "invalid_envelope"


# -- freshness ---------------------------------------------------------------------------------


def test_freshness_window(signer: SnsSigner, sns: FakeSns, runtime: SnsRuntime) -> None:
    now = datetime.now(UTC)
    settings = SnsSettings()
    assert settings.max_message_age_seconds == 7200
    recent = signer.notification("m", topic_arn=TOPIC, timestamp=now - timedelta(minutes=119))
    assert isinstance(_receive(signer.body(recent), settings, runtime), SnsNotification)
    old = signer.notification("m", topic_arn=TOPIC, timestamp=now - timedelta(minutes=121))
    with pytest.raises(ForbiddenDelivery) as err:
        _receive(signer.body(old), settings, runtime)
    assert err.value.code == "message_too_old"
    future = signer.notification("m", topic_arn=TOPIC, timestamp=now + timedelta(hours=1))
    with pytest.raises(ForbiddenDelivery) as err:
        _receive(signer.body(future), settings, runtime)
    assert err.value.code == "message_from_future"
    # 0 turns the replay window off; certificate validity is still checked.
    accepted = _receive(signer.body(old), SnsSettings(max_message_age_seconds=0), runtime)
    assert isinstance(accepted, SnsNotification)


def test_old_message_is_rejected_without_fetching(
    signer: SnsSigner, sns: FakeSns, runtime: SnsRuntime
) -> None:
    old = signer.notification("m", topic_arn=TOPIC, timestamp=datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(ForbiddenDelivery):
        _receive(signer.body(old), SnsSettings(), runtime)
    assert sns.requests == []


# -- certificate fetch -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "http"),
    [(404, ForbiddenDelivery, 403), (500, UpstreamUnavailable, 503)],
)
def test_certificate_fetch_failures(
    signer: SnsSigner,
    sns: FakeSns,
    runtime: SnsRuntime,
    status: int,
    error: type[DeliveryRejected],
    http: int,
) -> None:
    sns.cert_status = status
    for _ in range(5):
        with pytest.raises(error) as err:
            _receive(signer.body(signer.notification("m", topic_arn=TOPIC)), SnsSettings(), runtime)
        assert err.value.code == "cert_unavailable" and err.value.status_code == http
    assert len(sns.requests) == 1, "failures are cached briefly: one fetch, not a flood"


def test_certificate_redirect_is_not_followed(
    signer: SnsSigner, sns: FakeSns, runtime: SnsRuntime
) -> None:
    sns.cert_redirect = f"{sns.url}/redirected/{signer.cert_file_name}"
    with pytest.raises(ForbiddenDelivery) as err:
        _receive(signer.body(signer.notification("m", topic_arn=TOPIC)), SnsSettings(), runtime)
    assert err.value.code == "cert_unavailable"
    assert sns.paths() == [f"/{signer.cert_file_name}"]


def test_unreachable_endpoint_is_503(signer: SnsSigner) -> None:
    runtime = SnsRuntime.create(endpoint_url="http://127.0.0.1:9", timeout=1.0)
    with pytest.raises(UpstreamUnavailable) as err:
        _receive(signer.body(signer.notification("m", topic_arn=TOPIC)), SnsSettings(), runtime)
    assert err.value.code == "cert_unavailable"


def test_cert_cache_is_bounded_and_expires(tmp_path: Path) -> None:
    signers = [SnsSigner(tmp_path, f"c{i}", key_size=2048) for i in range(3)]
    now = [0.0]
    with fake_sns(tmp_path) as sns:
        store = CertificateStore(
            endpoint_url=sns.url,
            client=httpx.Client(follow_redirects=False),
            max_entries=2,
            ttl_seconds=60,
            clock=lambda: now[0],
        )
        urls = [check_cert_url(s.cert_url) for s in signers]
        for url in urls:
            store.get(url)
        assert len(store) == 2 and store.fetches == 3
        store.get(urls[2])
        assert store.fetches == 3
        store.get(urls[0])  # evicted (least recently used): fetched again
        assert store.fetches == 4
        now[0] = 61.0
        store.get(urls[0])  # expired: fetched again
        assert store.fetches == 5
        assert len(sns.requests) == 5


def test_cert_dir_and_endpoint_come_from_the_plugin_context(
    signer: SnsSigner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_SNS", raising=False)
    monkeypatch.setenv("ALERTGATE_SNS_CERT_DIR", str(signer.directory))
    settings = SnsSettings()
    body = signer.body(signer.notification("m", topic_arn=TOPIC))
    plugins = load_plugins()
    # Built from the process environment at startup, as the server does.
    trusted = plugins.configure()
    delivery = replace(context(settings), plugin_context=trusted)
    assert isinstance(receive(request(body), delivery, settings), SnsNotification)
    assert trusted.stash[RUNTIME].certs.fetches == 0
    # Later changes to the environment do not reach a running process's plugins...
    monkeypatch.setenv("ALERTGATE_SNS_CERT_DIR", str(tmp_path))
    assert isinstance(receive(request(body), delivery, settings), SnsNotification)
    # ...a new context does: another folder, where the certificate is unknown.
    other = plugins.configure(
        environ={
            "ALERTGATE_SNS_CERT_DIR": str(tmp_path),
            "AWS_ENDPOINT_URL_SNS": "http://127.0.0.1:9",
            "ALERTGATE_SNS_HTTP_TIMEOUT_SECONDS": "1",
        }
    )
    assert other.stash[RUNTIME].endpoint_url == "http://127.0.0.1:9"
    with pytest.raises(UpstreamUnavailable):
        receive(request(body), replace(context(settings), plugin_context=other), settings)


def test_receive_without_a_plugin_context_says_how_to_get_one(signer: SnsSigner) -> None:
    settings = SnsSettings()
    body = signer.body(signer.notification("m", topic_arn=TOPIC))
    with pytest.raises(RuntimeError, match="no plugin context"):
        receive(request(body), context(settings), settings)


# -- raw message delivery and direct posts -----------------------------------------------------


def _basic(password: str) -> str:
    return "Basic " + base64.b64encode(f"alertgate:{password}".encode()).decode()


RAW_HEADERS = {
    "x-amz-sns-message-type": "Notification",
    "x-amz-sns-message-id": "5b0b5c4e-7d1a-4c3b-9f4e-1a2b3c4d5e6f",
    "x-amz-sns-topic-arn": TOPIC,
    "x-amz-sns-rawdelivery": "true",
}


def test_unsigned_deliveries_are_refused_unless_opted_in(runtime: SnsRuntime) -> None:
    for headers in (RAW_HEADERS, {"x-alertgate-key": SECRET}):
        with pytest.raises(MalformedDelivery) as err:
            _receive(b'{"detail": {}}', SnsSettings(), runtime, headers=headers)
        assert err.value.code == "not_sns"


def test_raw_message_delivery_with_basic_auth(runtime: SnsRuntime) -> None:
    settings = SnsSettings(raw_message_delivery=True, shared_secret_sha256=hash_secret(SECRET))
    headers = {**RAW_HEADERS, "authorization": _basic(SECRET)}
    result = _receive(b"raw alarm text", settings, runtime, headers=headers)
    assert isinstance(result, SnsNotification)
    assert result.kind == "raw" and result.envelope is None
    assert result.message == "raw alarm text"
    assert result.message_id == RAW_HEADERS["x-amz-sns-message-id"]
    assert result.topic_arn == TOPIC
    for bad in ({**RAW_HEADERS, "authorization": _basic("wrong")}, RAW_HEADERS):
        with pytest.raises(ForbiddenDelivery) as err:
            _receive(b"raw alarm text", settings, runtime, headers=bad)
        assert err.value.code in ("secret_invalid", "secret_required")
    # Raw delivery does not open the door to direct posts.
    with pytest.raises(MalformedDelivery):
        _receive(b"{}", settings, runtime, headers={"authorization": _basic(SECRET)})
    # Topic checks still apply (on the header SNS sends).
    pinned = SnsSettings(
        raw_message_delivery=True,
        shared_secret_sha256=hash_secret(SECRET),
        allowed_topic_arns=[OTHER_TOPIC],
    )
    with pytest.raises(ForbiddenDelivery) as err:
        _receive(b"x", pinned, runtime, headers=headers)
    assert err.value.code == "topic_not_allowed"


def test_direct_post_with_api_key_header(runtime: SnsRuntime) -> None:
    settings = SnsSettings(accept_direct_posts=True, shared_secret_sha256=hash_secret(SECRET))
    event = {"id": "e1", "detail-type": "AWS API Call via CloudTrail", "detail": {}}
    body = json.dumps(event).encode()
    result = _receive(body, settings, runtime, headers={"x-alertgate-key": SECRET})
    assert isinstance(result, SnsNotification)
    assert result.kind == "direct" and json.loads(result.message) == event
    with pytest.raises(ForbiddenDelivery) as err:
        _receive(body, settings, runtime, headers={"x-alertgate-key": SECRET + "x"})
    assert err.value.code == "secret_invalid"
    # Raw SNS delivery headers are refused when only direct posts are enabled.
    with pytest.raises(ForbiddenDelivery) as err:
        _receive(body, settings, runtime, headers={**RAW_HEADERS, "x-alertgate-key": SECRET})
    assert err.value.code == "raw_delivery_not_enabled"


def test_signed_envelopes_are_still_verified_when_unsigned_is_allowed(
    signer: SnsSigner, runtime: SnsRuntime
) -> None:
    settings = SnsSettings(accept_direct_posts=True, shared_secret_sha256=hash_secret(SECRET))
    doc = signer.notification("m", topic_arn=TOPIC)
    doc["Message"] = "forged"
    with pytest.raises(ForbiddenDelivery) as err:
        _receive(signer.body(doc), settings, runtime, headers={"x-alertgate-key": SECRET})
    assert err.value.code == "signature_invalid"


def test_settings_validation() -> None:
    with pytest.raises(ValidationError, match="shared_secret_sha256"):
        SnsSettings(raw_message_delivery=True)
    with pytest.raises(ValidationError, match="hex SHA-256"):
        SnsSettings(accept_direct_posts=True, shared_secret_sha256=SECRET)
    with pytest.raises(ValidationError):
        SnsSettings(max_message_age_seconds=-1)
    ok = SnsSettings(
        accept_direct_posts=True,
        shared_secret_sha256=hash_secret(SECRET).upper(),
        shared_secret_header="X-Api-Key",
    )
    assert ok.shared_secret_sha256 == hash_secret(SECRET)
    assert ok.shared_secret_header == "x-api-key"


def test_confirmation_redirect_is_not_followed(signer: SnsSigner, runtime: SnsRuntime) -> None:
    with fake_sns() as elsewhere:
        redirect = f"{elsewhere.url}/?Action=ConfirmSubscription"

        class Redirecting(httpx.BaseTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                return httpx.Response(302, headers={"Location": redirect})

        runtime.certs.get(check_cert_url(signer.cert_url))
        runtime.client = httpx.Client(transport=Redirecting(), follow_redirects=False)
        doc = signer.subscription_confirmation(topic_arn=TOPIC)
        result = _receive(signer.body(doc), SnsSettings(), runtime)
        assert isinstance(result, ParseResult)
        assert result.state_updates["sns"]["status"] == "pending"
        assert "302" in result.state_updates["sns"]["error"]
        assert elsewhere.requests == []


def test_concurrent_first_requests_fetch_the_certificate_once(
    signer: SnsSigner, sns: FakeSns, runtime: SnsRuntime
) -> None:
    sns.delay = 0.2
    bodies = [signer.body(signer.notification(f"m{i}", topic_arn=TOPIC)) for i in range(16)]
    results: list[object] = []

    def deliver(body: bytes) -> None:
        results.append(_receive(body, SnsSettings(), runtime, {"sns": {"status": "confirmed"}}))

    threads = [threading.Thread(target=deliver, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 16 and all(isinstance(r, SnsNotification) for r in results)
    assert len(sns.requests) == 1 and runtime.certs.fetches == 1


def test_bogus_certificate_names_do_not_evict_good_certificates(
    signer: SnsSigner, sns: FakeSns
) -> None:
    store = CertificateStore(endpoint_url=sns.url, max_entries=2, timeout=2.0)
    good = check_cert_url(signer.cert_url)
    store.get(good)
    for i in range(10):
        bogus = check_cert_url(
            f"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-bogus{i}.pem"
        )
        with pytest.raises(ForbiddenDelivery):
            store.get(bogus)
        with pytest.raises(ForbiddenDelivery):
            store.get(bogus)  # remembered: no second download
    store.get(good)
    assert store.fetches == 11 and len(sns.requests) == 11

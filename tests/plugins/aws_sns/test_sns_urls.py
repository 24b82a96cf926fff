"""SigningCertURL / SubscribeURL allow-list: look-alikes and SSRF tricks never reach the network."""

from __future__ import annotations

import pytest

from alertgate.errors import ForbiddenDelivery
from alertgate.plugins.aws_sns import SnsRuntime, SnsSettings, receive
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.plugins.aws_sns.urls import check_cert_url, check_endpoint_url, check_subscribe_url
from tests.sns_support import TOPIC, context, fake_sns, request

PEM = "/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"

ALLOWED_CERT_URLS = [
    f"https://sns.us-east-1.amazonaws.com{PEM}",
    f"https://sns.eu-west-1.amazonaws.com{PEM}",
    f"https://sns.ap-southeast-3.amazonaws.com{PEM}",
    f"https://sns.us-gov-west-1.amazonaws.com{PEM}",
    f"https://sns.cn-north-1.amazonaws.com.cn{PEM}",
]

REJECTED_CERT_URLS = [
    f"http://sns.us-east-1.amazonaws.com{PEM}",  # not https
    f"https://sns.us-east-1.amazonaws.com.evil.example{PEM}",  # suffix look-alike
    f"https://snsXus-east-1.amazonaws.com{PEM}",  # unescaped dot look-alike
    f"https://sns.us-east-1.amazonaws.co{PEM}",
    f"https://sns.us-east-1.amazonaws.com:443{PEM}",  # explicit port
    f"https://sns.us-east-1.amazonaws.com:8443{PEM}",
    f"https://user@sns.us-east-1.amazonaws.com{PEM}",  # userinfo
    f"https://sns.us-east-1.amazonaws.com@evil.example{PEM}",
    f"https://evil.example\\@sns.us-east-1.amazonaws.com{PEM}",
    f"https://evil.example#@sns.us-east-1.amazonaws.com{PEM}",
    f"https://127.0.0.1{PEM}",  # IP literal
    f"https://[::1]{PEM}",
    f"https://169.254.169.254{PEM}",
    f"https://sns.us-east-1.amazonaws.com%2eevil.example{PEM}",
    f"https://SNS.US-EAST-1.AMAZONAWS.COM{PEM}",
    f"https://sns.us-east-1.amazonaws.com{PEM}?x=1",
    f"https://sns.us-east-1.amazonaws.com{PEM}#frag",
    "https://sns.us-east-1.amazonaws.com/other.pem",
    "https://sns.us-east-1.amazonaws.com/../etc/passwd",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-../../x.pem",
    f" https://sns.us-east-1.amazonaws.com{PEM}",
    f"https://sns.us-east-1.amazonaws.com{PEM}\n",
    f"https://sns.amazonaws.com{PEM}",
    f"https://sqs.us-east-1.amazonaws.com{PEM}",
    f"https://sns.us-east-1.amazonaws.com.cn.evil{PEM}",
    f"file:///etc{PEM}",
    "",
    None,
    42,
]


@pytest.mark.parametrize("url", ALLOWED_CERT_URLS)
def test_cert_url_allowed(url: str) -> None:
    checked = check_cert_url(url)
    assert checked.file_name == PEM[1:]
    assert checked.target("http://127.0.0.1:9") == "http://127.0.0.1:9" + PEM
    assert checked.target(None) == url


@pytest.mark.parametrize("url", REJECTED_CERT_URLS)
def test_cert_url_rejected(url: object) -> None:
    with pytest.raises(ForbiddenDelivery) as err:
        check_cert_url(url)
    assert err.value.code == "cert_url_not_allowed"


CONFIRM = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={t}&Token=abc"
EU_TOPIC = "arn:aws:sns:eu-west-1:511293508251:ex_aws_test"


def test_subscribe_url_allowed() -> None:
    url = check_subscribe_url(CONFIRM.format(t=EU_TOPIC), EU_TOPIC)
    assert url.target("http://127.0.0.1:9/") == (
        f"http://127.0.0.1:9/?Action=ConfirmSubscription&TopicArn={EU_TOPIC}&Token=abc"
    )


@pytest.mark.parametrize(
    "url",
    [
        CONFIRM.format(t=EU_TOPIC).replace("https", "http", 1),
        CONFIRM.format(t=EU_TOPIC).replace("amazonaws.com", "amazonaws.com.evil.example"),
        CONFIRM.format(t=EU_TOPIC).replace("sns.eu-west-1", "sns.eu-west-1:444"),
        CONFIRM.format(t=EU_TOPIC).replace("Action=ConfirmSubscription", "Action=Subscribe"),
        CONFIRM.format(t=EU_TOPIC).replace("&Token=abc", ""),
        CONFIRM.format(t="arn:aws:sns:eu-west-1:511293508251:other"),  # another topic
        CONFIRM.format(t=EU_TOPIC) + "&Token=def",  # ambiguous
        CONFIRM.format(t=EU_TOPIC).replace("/?", "/x?"),
        CONFIRM.format(t=EU_TOPIC) + "#x",
        CONFIRM.format(t=EU_TOPIC) + "/@evil.example",
        "https://127.0.0.1/?Action=ConfirmSubscription&TopicArn=x&Token=y",
    ],
)
def test_subscribe_url_rejected(url: str) -> None:
    with pytest.raises(ForbiddenDelivery) as err:
        check_subscribe_url(url, EU_TOPIC)
    assert err.value.code == "subscribe_url_not_allowed"


@pytest.mark.parametrize("url", ["ftp://x", "http://h/p?q=1", "http://u@h", "localhost:4566"])
def test_endpoint_url_shape(url: str) -> None:
    with pytest.raises(ValueError):
        check_endpoint_url(url)
    assert check_endpoint_url("http://127.0.0.1:4566/") == "http://127.0.0.1:4566"


# -- end to end through receive(): rejected before any network call -----------------------


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> SnsSigner:
    return SnsSigner(tmp_path_factory.mktemp("certs"), "evil")


@pytest.mark.parametrize("bad", REJECTED_CERT_URLS[:16])
def test_hostile_cert_url_makes_no_request(signer: SnsSigner, bad: object) -> None:
    with fake_sns(signer.directory) as sns:
        runtime = SnsRuntime.create(endpoint_url=sns.url)
        doc = signer.notification("hi", topic_arn=TOPIC)
        doc["SigningCertURL"] = bad
        settings = SnsSettings()
        with pytest.raises(ForbiddenDelivery) as err:
            receive(request(signer.body(doc)), context(settings), settings, runtime=runtime)
        assert err.value.code == "cert_url_not_allowed"
        assert sns.requests == []
        assert runtime.certs.fetches == 0


def test_hostile_subscribe_url_makes_no_request(signer: SnsSigner) -> None:
    with fake_sns(signer.directory) as sns:
        runtime = SnsRuntime.create(endpoint_url=sns.url)
        doc = signer.subscription_confirmation(
            topic_arn=TOPIC,
            subscribe_url="https://sns.us-east-1.amazonaws.com.evil.example/"
            f"?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=t",
        )
        settings = SnsSettings()
        with pytest.raises(ForbiddenDelivery) as err:
            receive(request(signer.body(doc)), context(settings), settings, runtime=runtime)
        assert err.value.code == "subscribe_url_not_allowed"
        assert sns.requests == []

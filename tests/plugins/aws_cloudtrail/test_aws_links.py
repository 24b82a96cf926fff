"""AWS deep links on alerts: CloudTrail event history filtered to the event, its principal
and its access key; a Logs Insights query for a catalog alarm's metric filter over the
alarm's window. Each URL is parsed back, and the Logs Insights encoding is checked against
a link the console itself wrote. Then, on a real server, the links reach the incident in
the API and, in Chromium, on the incident page."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest

from alertgate.plugins.aws_cloudtrail.catalog import BUILTIN_DETECTIONS, builtin_by_id
from alertgate.plugins.aws_cloudtrail.demo import alarm_message
from alertgate.plugins.aws_cloudtrail.events import event_links
from alertgate.plugins.aws_cloudtrail.insights import (
    alarm_window,
    insights_filter,
    insights_query,
    logs_insights_url,
)
from alertgate.plugins.aws_cloudtrail.rules import AllOf, Condition
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.registry import load_plugins
from alertgate.server import admin
from tests.core.web.browser.support import TOPIC_ARN, UiServer, post_sns
from tests.plugins.aws_cloudtrail.test_cloudtrail_events import eventbridge, records

LOG_GROUP = "/aws/cloudtrail/org"

# What the CloudWatch console wrote for a Logs Insights query it shared (its queryId and
# log group were redacted where it was published; they are left out / filled in here).
CONSOLE_EXAMPLE = (
    "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:"
    "logs-insights$3FqueryDetail$3D$257E$2528end$257E$25272021-07-18T20*3a59*3a59.000Z"
    "$257Estart$257E$25272021-07-15T21*3a00*3a00.000Z$257EtimeType$257E$2527ABSOLUTE"
    "$257Etz$257E$2527Local$257EeditorString$257E$2527fields*20*40timestamp*2c*20*40message"
    "*0a*7c*20sort*20*40timestamp*20desc*0a*7c*20filter*20*40message*20*3d*7e*20*22Exception"
    "*22*0a*7c*20limit*20200$257EisLiveTail$257Efalse$257Esource$257E$2528$257E$2527*2faws"
    "*2flambda*2fmy-fn$2529$2529$26tab$3Dlogs"
)


# -- reading console URLs back --------------------------------------------------------------


def _jsurl(text: str) -> Any:
    """Parse the console's JSURL-like notation (what the encoder under test writes)."""
    pos = 0

    def value() -> Any:
        nonlocal pos
        assert text[pos] == "~", text[pos:]
        pos += 1
        if text[pos] == "'":
            end = pos + 1
            while end < len(text) and text[end] not in "~)":
                end += 1
            raw = text[pos + 1 : end]
            pos = end
            # Every character but letters, digits, "-" and "." is written as *XX (UTF-8).
            assert re.fullmatch(r"([A-Za-z0-9.\-]|\*[0-9a-f]{2})*", raw), raw
            return unquote(raw.replace("*", "%"), errors="strict")
        if text[pos] == "(":
            pos += 1
            if text[pos] == "~":  # a list
                items = []
                while text[pos] != ")":
                    items.append(value())
                pos += 1
                return items
            obj = {}
            while text[pos] != ")":
                if text[pos] == "~":
                    pos += 1
                key_end = text.index("~", pos)
                key = text[pos:key_end]
                pos = key_end
                obj[key] = value()
            pos += 1
            return obj
        word = re.match(r"[a-z0-9.]+", text[pos:])
        assert word
        pos += len(word.group(0))
        return {"true": True, "false": False}.get(word.group(0), word.group(0))

    parsed = value()
    assert pos == len(text)
    return parsed


def read_insights(url: str) -> dict[str, Any]:
    """The query details a Logs Insights link opens (region, log group, window, query)."""
    parts = urlsplit(url)
    assert parts.scheme == "https"
    region = parse_qs(parts.query)["region"][0]
    assert parts.netloc == f"{region}.console.aws.amazon.com"
    prefix = "logsV2:logs-insights"
    assert parts.fragment.startswith(prefix)
    state = unquote(parts.fragment[len(prefix) :].replace("$", "%"))
    query = parse_qs(state.lstrip("?"), keep_blank_values=True)
    assert query["tab"] == ["logs"]
    # parse_qs already undid escape()'s "%7E" etc.
    detail = _jsurl(query["queryDetail"][0])
    assert isinstance(detail, dict)
    return {"region": region, **detail}


# -- the encodings -------------------------------------------------------------------------


def test_logs_insights_link_is_what_the_console_writes() -> None:
    query = (
        'fields @timestamp, @message\n| sort @timestamp desc\n| filter @message =~ "Exception"'
        "\n| limit 200"
    )
    start = datetime(2021, 7, 15, 21, 0, tzinfo=UTC)
    end = datetime(2021, 7, 18, 20, 59, 59, tzinfo=UTC)
    made = logs_insights_url("eu-west-1", "/aws/lambda/my-fn", query, start, end, tz="Local")
    assert made == CONSOLE_EXAMPLE
    read = read_insights(made)
    assert read["editorString"] == query and read["source"] == ["/aws/lambda/my-fn"]
    assert (read["start"], read["end"]) == ("2021-07-15T21:00:00.000Z", "2021-07-18T20:59:59.000Z")


def test_text_that_looks_like_structure_survives_the_round_trip() -> None:
    query = 'fields ~(\'x\') | filter a = "~(b)\'*$%&?=#" | filter name = "é ü ✓"'
    url = logs_insights_url(
        "us-gov-west-1", "a/b#c", query, datetime(2026, 1, 1, tzinfo=UTC), datetime.now(UTC)
    )
    assert url.startswith("https://console.amazonaws-us-gov.com/")
    parts = urlsplit(url)
    assert " " not in url and "#" not in parts.fragment and "~" not in url
    read = read_insights(
        url.replace("console.amazonaws-us-gov.com", "us-gov-west-1.console.aws.amazon.com")
    )
    assert read["editorString"] == query and read["source"] == ["a/b#c"]


def test_rule_becomes_a_logs_insights_filter() -> None:
    rule = AllOf(
        all=[
            Condition(field="userIdentity.type", equals=["Root"]),
            Condition(field="userIdentity.invokedBy", exists=False),
            Condition(field="eventType", not_equals=["AwsServiceEvent"]),
            Condition(field="errorCode", like=["*Unauthorized/Operation"], ignore_case=True),
            Condition(field="requestParameters.enable", equals=[False]),
            Condition(field="additionalEventData.MFAUsed", equals=["yes"], ignore_case=True),
            Condition(field="requestParameters.user-name", differs_from="userIdentity.userName"),
        ]
    )
    assert insights_filter(rule) == (
        '(userIdentity.type = "Root" and not ispresent(userIdentity.invokedBy)'
        ' and (not ispresent(eventType) or not eventType = "AwsServiceEvent")'
        r" and errorCode like /(?i)^.*Unauthorized\/Operation$/"
        ' and (requestParameters.enable = 0 or requestParameters.enable = "false")'
        ' and tolower(additionalEventData.MFAUsed) = "yes"'
        " and (ispresent(requestParameters.`user-name`) and ispresent(userIdentity.userName)"
        " and requestParameters.`user-name` != userIdentity.userName))"
    )
    # Every built-in detection renders (and the parentheses balance).
    for detection in BUILTIN_DETECTIONS:
        query = insights_query(detection.rule)
        assert query.count("(") == query.count(")"), detection.id


def test_alarm_window_is_its_periods_ending_at_the_change() -> None:
    end = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert alarm_window(end, 300, 3) == (end - timedelta(minutes=15), end)
    assert alarm_window(end, None, None) == (end - timedelta(minutes=5), end)
    assert alarm_window(end, 86400, 7) == (end - timedelta(days=1), end)


def test_event_history_links_for_the_event_the_principal_and_the_key() -> None:
    links = event_links(
        {
            "region": "eu-west-1",
            "event_id": "a b/c",
            "user_name": "role/session@x",
            "access_key_id": "ASIAEXAMPLE",
        }
    )
    assert links["cloudtrail_event"] == (
        "https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home"
        "?region=eu-west-1#/events/a%20b%2Fc"
    )
    for name, key, value in (
        ("cloudtrail_principal", "Username", "role/session@x"),
        ("cloudtrail_access_key", "AccessKeyId", "ASIAEXAMPLE"),
    ):
        parts = urlsplit(links[name])
        assert parts.netloc == "eu-west-1.console.aws.amazon.com"
        assert parse_qs(parts.query) == {"region": ["eu-west-1"]}
        path, _, query = parts.fragment.partition("?")
        assert path == "/events" and parse_qs(query) == {key: [value]}
    assert event_links({"region": "cn-north-1", "user_name": "x"})[
        "cloudtrail_principal"
    ].startswith("https://console.amazonaws.cn/")


# -- on a real server ----------------------------------------------------------------------


def _deliver(server: UiServer, signer: SnsSigner, url: str, message: str) -> None:
    doc = signer.notification(message, topic_arn=TOPIC_ARN)
    response = post_sns(url, doc)
    assert response.status_code == 200, response.text


def _incident_of(api: httpx.Client, title_part: str) -> dict[str, Any]:
    items = api.get("/api/v1/incidents").json()["items"]
    [found] = [i for i in items if title_part in i["title"]]
    return dict(api.get(f"/api/v1/incidents/{found['id']}").json())


@pytest.mark.browser
def test_links_reach_the_incident_in_the_api_and_the_page(
    ui_server: UiServer, browser: Any
) -> None:
    with ui_server.sessions().begin() as s:
        org = admin.ensure_organization(s, "acme")
        service = admin.create_service(s, org, "security")
        keyed = admin.create_integration(
            s, load_plugins(), service, "aws_cloudtrail", None, {"log_group_name": LOG_GROUP}
        )
    url = f"{ui_server.base_url}/integrations/{keyed.key}"
    token = ui_server.new_token("acme")
    api = httpx.Client(
        base_url=ui_server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    signer = SnsSigner(ui_server.cert_dir, name=f"links-{uuid.uuid4().hex}")

    # Path 1: the alarm on the root-usage metric filter.
    changed = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    alarm = alarm_message(
        "ALARM", "OK", changed, name="alertgate-1-root_account_usage", metric="RootAccountUsage"
    )
    _deliver(ui_server, signer, url, alarm)
    incident = _incident_of(api, "root_account_usage")
    insights = incident["links"]["logs_insights"]
    assert incident["alerts"][0]["links"]["logs_insights"] == insights
    assert incident["links"]["console"].startswith("https://us-east-1.console.aws.amazon.com/")
    read = read_insights(insights)
    assert read["region"] == "us-east-1" and read["source"] == [LOG_GROUP]
    period = (
        json.loads(alarm)["Trigger"]["Period"] * json.loads(alarm)["Trigger"]["EvaluationPeriods"]
    )
    assert read["end"] == changed.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert read["start"] == (changed - timedelta(seconds=period)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    root = builtin_by_id()["root_account_usage"]
    assert read["editorString"] == insights_query(root.rule)
    assert 'userIdentity.type = "Root"' in read["editorString"]

    # Path 2: a CloudTrail event: the record, its principal, its access key.
    record = records("stratus_aws.defense-evasion.cloudtrail-stop.json")[0]
    record = {**record, "awsRegion": "eu-west-1", "eventTime": changed.isoformat()}
    _deliver(ui_server, signer, url, json.dumps(eventbridge(record)))
    event_incident = _incident_of(api, "StopLogging")
    links = event_incident["links"]
    assert parse_qs(urlsplit(links["cloudtrail_principal"]).fragment.partition("?")[2]) == {
        "Username": ["christophe"]
    }
    assert links["cloudtrail_access_key"].endswith("#/events?AccessKeyId=AKIAGGWFBBHBE7D3M9WI")
    assert links["cloudtrail_event"].endswith(f"#/events/{record['eventID']}")

    # The incident page shows them as links, in Chromium.
    page = browser.new_context().new_page()
    page.goto(ui_server.base_url + "/login")
    page.get_by_label("API token").fill(token)
    page.keyboard.press("Enter")
    page.wait_for_url("**/incidents")
    page.goto(f"{ui_server.base_url}/incidents/{incident['id']}")
    link = page.get_by_role("link", name="Logs insights")
    assert link.get_attribute("href") == insights
    assert link.get_attribute("rel") == "noopener noreferrer"
    page.goto(f"{ui_server.base_url}/incidents/{event_incident['id']}")
    assert (
        page.get_by_role("link", name="Cloudtrail principal").get_attribute("href")
        == (links["cloudtrail_principal"])
    )
    page.context.close()
    api.close()

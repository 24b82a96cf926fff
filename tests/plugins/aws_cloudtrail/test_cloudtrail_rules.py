"""The detection rule language: evaluation semantics, bounds and metric-filter rendering."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from alertgate.plugins.aws_cloudtrail.catalog import Detection
from alertgate.plugins.aws_cloudtrail.rules import (
    MAX_DEPTH,
    AllOf,
    AnyOf,
    Condition,
    Rule,
    filter_pattern,
    matches,
)

RULE: TypeAdapter[Rule] = TypeAdapter(Rule)

RECORD: dict[str, Any] = {
    "eventName": "ConsoleLogin",
    "errorCode": "Client.UnauthorizedOperation",
    "readOnly": False,
    "count": 1,
    "userIdentity": {"type": "IAMUser", "userName": "alice", "invokedBy": None},
    "requestParameters": {"userName": "bob"},
    "additionalEventData": {"MFAUsed": "YES"},
}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"field": "eventName", "equals": ["ConsoleLogin"]}, True),
        ({"field": "eventName", "equals": ["consolelogin"]}, False),
        ({"field": "eventName", "equals": ["consolelogin"], "ignore_case": True}, True),
        ({"field": "userIdentity.type", "equals": ["Root", "IAMUser"]}, True),
        ({"field": "userIdentity.missing", "equals": ["x"]}, False),
        ({"field": "userIdentity.missing", "not_equals": ["x"]}, True),
        ({"field": "additionalEventData.MFAUsed", "not_equals": ["Yes"]}, True),
        (
            {"field": "additionalEventData.MFAUsed", "not_equals": ["Yes"], "ignore_case": True},
            False,
        ),
        ({"field": "errorCode", "like": ["*UnauthorizedOperation"]}, True),
        ({"field": "errorCode", "like": ["AccessDenied*"]}, False),
        ({"field": "errorCode", "like": ["Client.*"]}, True),
        # "." in a pattern is literal, not a regex wildcard.
        ({"field": "errorCode", "like": ["Client?Unauthorized*"]}, False),
        ({"field": "readOnly", "equals": [False]}, True),
        ({"field": "readOnly", "equals": ["false"]}, False),
        ({"field": "readOnly", "equals": [0]}, False),
        ({"field": "count", "equals": [1]}, True),
        ({"field": "count", "equals": [True]}, False),
        ({"field": "userIdentity.invokedBy", "exists": False}, True),
        ({"field": "userIdentity.userName", "exists": True}, True),
        ({"field": "requestParameters.userName", "differs_from": "userIdentity.userName"}, True),
        ({"field": "userIdentity.userName", "differs_from": "userIdentity.userName"}, False),
        ({"field": "requestParameters.userName", "differs_from": "nothing.here"}, False),
        # A path through a non-object is simply missing.
        ({"field": "eventName.deeper", "equals": ["x"]}, False),
        (
            {
                "all": [
                    {"field": "eventName", "equals": ["ConsoleLogin"]},
                    {
                        "any": [
                            {"field": "readOnly", "equals": [True]},
                            {"field": "count", "equals": [1]},
                        ]
                    },
                ]
            },
            True,
        ),
        (
            {"any": [{"field": "eventName", "equals": ["x"]}, {"field": "count", "equals": [2]}]},
            False,
        ),
    ],
)
def test_evaluation(rule: dict[str, Any], expected: bool) -> None:
    assert matches(RULE.validate_python(rule), RECORD) is expected


@pytest.mark.parametrize(
    "rule",
    [
        {"field": "eventName"},
        {"field": "eventName", "equals": ["a"], "not_equals": ["b"]},
        {"field": "eventName", "equals": []},
        {"field": "$.eventName", "equals": ["a"]},
        {"field": "eventName", "equals": ["x" * 1000]},
        {"field": "eventName", "equals": ["a"], "unknown": 1},
        {"all": []},
        {"all": [{"field": "eventName", "equals": ["a"]}], "any": []},
    ],
)
def test_invalid_rules_are_refused(rule: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RULE.validate_python(rule)


def test_nesting_is_bounded() -> None:
    rule: dict[str, Any] = {"field": "eventName", "equals": ["a"]}
    for _ in range(MAX_DEPTH):
        rule = {"all": [rule]}
    with pytest.raises(ValidationError, match="nested deeper"):
        Detection.model_validate({"id": "deep", "title": "Deep", "rule": rule})


def test_filter_patterns_use_metric_filter_syntax() -> None:
    rule = AllOf(
        all=[
            Condition(field="eventName", equals=["ConsoleLogin"]),
            Condition(field="additionalEventData.MFAUsed", not_equals=["Yes"], ignore_case=True),
            Condition(field="userIdentity.invokedBy", exists=False),
            AnyOf(
                any=[
                    Condition(field="errorCode", like=["AccessDenied*"]),
                    Condition(field="readOnly", equals=[True]),
                ]
            ),
        ]
    )
    pattern, exact = filter_pattern(rule)
    assert exact
    assert pattern == (
        '{ ($.eventName = "ConsoleLogin")'
        ' && (($.additionalEventData.MFAUsed != "Yes") && ($.additionalEventData.MFAUsed != "yes")'
        ' && ($.additionalEventData.MFAUsed != "YES"))'
        " && ($.userIdentity.invokedBy NOT EXISTS)"
        ' && (($.errorCode = "AccessDenied*") || ($.readOnly IS TRUE)) }'
    )


def test_field_comparison_renders_broader_and_says_so() -> None:
    pattern, exact = filter_pattern(
        Condition(field="requestParameters.userName", differs_from="userIdentity.userName")
    )
    assert not exact
    assert pattern == '{ $.requestParameters.userName = "*" }'


def test_quotes_are_escaped_in_patterns() -> None:
    pattern, _ = filter_pattern(Condition(field="errorMessage", equals=['say "hi"']))
    assert pattern == '{ $.errorMessage = "say \\"hi\\"" }'

"""``alertgate aws template``: one plan rendered as CloudFormation that cfn-lint accepts."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from alertgate.plugins.aws_cloudtrail.catalog import normalize_metric_name
from alertgate.plugins.aws_cloudtrail.settings import CloudTrailSettings
from alertgate.plugins.aws_cloudtrail.setup.cfn import template, to_yaml
from alertgate.plugins.aws_cloudtrail.setup.plan import (
    FINDING_RULES,
    SNS_FED_TYPES,
    PlanError,
    make_plan,
)
from alertgate.plugins.aws_cloudwatch.alarms import AlarmSettings
from tests.cli_support import cli_database, run


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    yield from cli_database(tmp_path, monkeypatch)


def create(type_slug: str, settings: dict[str, Any] | None = None) -> int:
    if "payments" not in run("services", "list").output:
        run("services", "create", "payments")
    args = ["integrations", "create", "--service", "payments", "--type", type_slug, "--json"]
    if settings is not None:
        args += ["--settings", json.dumps(settings)]
    return int(json.loads(run(*args).output)["id"])


# cfn-lint has no ``python -m`` entry: its console script sits next to this interpreter.
CFN_LINT = str(Path(sys.executable).with_name("cfn-lint"))

FLAGS = ("--with-trail", "--eventbridge", "--heartbeat")


def test_every_variant_passes_cfn_lint(database: str, tmp_path: Path) -> None:
    files = []
    ids = {}
    for slug in sorted(SNS_FED_TYPES):
        integration = ids[slug] = create(slug)
        flags = [f for f in FLAGS if slug == "aws_cloudtrail" or f != "--with-trail"]
        for size in range(len(flags) + 1):
            for combo in itertools.combinations(flags, size):
                out = tmp_path / f"{slug}-{'-'.join(f[2:] for f in combo) or 'plain'}.yaml"
                run(
                    "aws",
                    "template",
                    "--integration",
                    str(integration),
                    *combo,
                    "--output",
                    str(out),
                )
                files.append(out)
    narrowed = tmp_path / "narrowed.yaml"
    narrowed.write_text(
        run(
            "aws",
            "template",
            "--integration",
            str(ids["aws_cloudtrail"]),
            "--detections",
            "root_account_usage,cloudtrail_changes",
            "--eventbridge",
        ).stdout
    )
    files.append(narrowed)
    assert len(files) == 5 * 4 + 8 + 1
    lint = subprocess.run(
        [CFN_LINT, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_a_lint_error_is_caught(tmp_path: Path) -> None:
    # The lint test above can fail: a broken template is refused.
    doc = template(make_plan(1, "aws_sns", AlarmSettings()))
    doc["Resources"]["Topic"]["Properties"]["Bogus"] = 1
    bad = tmp_path / "bad.yaml"
    bad.write_text(to_yaml(doc))
    lint = subprocess.run([CFN_LINT, str(bad)], capture_output=True, text=True, check=False)
    assert lint.returncode != 0 and "Bogus" in lint.stdout


def test_yaml_is_the_template() -> None:
    plan = make_plan(
        4, "aws_cloudtrail", CloudTrailSettings(), with_trail=True, eventbridge=True, heartbeat=True
    )
    doc = template(plan)
    assert yaml.safe_load(to_yaml(doc)) == doc


def test_alarms_resolve_and_are_recognised_by_the_alarm_path() -> None:
    settings = CloudTrailSettings(disabled_detections=["vpc_changes"])
    doc = template(make_plan(9, "aws_cloudtrail", settings))
    resources = doc["Resources"]
    alarms = {k: v["Properties"] for k, v in resources.items() if k.startswith("Alarm")}
    assert len(alarms) == len(settings.detections())
    assert "AlarmVpcChanges" not in alarms
    for props in alarms.values():
        assert props["AlarmActions"] == props["OKActions"] == [{"Ref": "Topic"}]
        assert props["TreatMissingData"] == "notBreaching"
        detection = settings.metric_index()[normalize_metric_name(props["MetricName"])]
        assert props["AlarmName"] == f"alertgate-9-{detection.id}"
    filters = [v["Properties"] for k, v in resources.items() if k.startswith("Filter")]
    assert all(f["LogGroupName"] == {"Ref": "LogGroupName"} for f in filters)
    url = doc["Parameters"]["IntegrationUrl"]
    assert url["NoEcho"] is True
    assert resources["Subscription"]["Properties"]["Endpoint"] == {"Ref": "IntegrationUrl"}
    statement = resources["TopicPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Principal"]["Service"] == [
        "cloudwatch.amazonaws.com",
        "events.amazonaws.com",
    ]


def test_nothing_account_specific_is_written() -> None:
    plan = make_plan(
        4, "aws_cloudtrail", CloudTrailSettings(), with_trail=True, eventbridge=True, heartbeat=True
    )
    text = to_yaml(template(plan))
    assert "arn:aws:" not in text and "us-west" not in text
    assert "AWS::AccountId" in text


def test_global_service_rules_are_created_in_us_east_1_only() -> None:
    doc = template(make_plan(2, "aws_cloudtrail", CloudTrailSettings(), eventbridge=True))
    rules = {k: v for k, v in doc["Resources"].items() if v["Type"] == "AWS::Events::Rule"}
    assert rules["RuleIam"]["Condition"] == "IsUsEast1"
    assert "Condition" not in rules["RuleEc2"]
    assert doc["Conditions"]["IsUsEast1"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}
    iam = rules["RuleIam"]["Properties"]["EventPattern"]["detail"]
    assert "CreatePolicyVersion" in iam["eventName"]


@pytest.mark.parametrize("slug", sorted(FINDING_RULES))
def test_finding_types_get_their_rule(slug: str) -> None:
    plan = make_plan(5, slug, AlarmSettings(), eventbridge=True, heartbeat=True)
    rules = {rule.logical_id: rule for rule in plan.rules}
    assert rules["RuleFindings"].pattern == FINDING_RULES[slug]
    assert rules["RuleHeartbeat"].schedule == "rate(1 hour)"
    assert not plan.alarms


def test_refusals(database: str) -> None:
    trail = create("aws_cloudtrail", {"disabled_detections": ["vpc_changes"]})
    sns = create("aws_sns")
    out = run(
        "aws", "template", "--integration", str(trail), "--detections", "vpc_changes", code=1
    ).output
    assert "not enabled on this integration: vpc_changes" in out
    out = run("aws", "template", "--integration", str(sns), "--with-trail", code=1).output
    assert "--with-trail needs an aws_cloudtrail integration" in out
    assert (
        "no integration with id 99" in run("aws", "template", "--integration", "99", code=1).output
    )
    with pytest.raises(PlanError):
        make_plan(1, "generic_webhook", AlarmSettings())


def test_template_heartbeat_says_how_to_turn_the_incident_on(database: str) -> None:
    off = create("aws_cloudtrail")
    result = run("aws", "template", "--integration", str(off), "--heartbeat")
    assert '"heartbeat_hours": 3' in result.stderr and "RuleHeartbeat" in result.stdout
    # The template changes nothing in alertgate, and says nothing once the setting is on.
    shown = json.loads(run("integrations", "show", str(off), "--json").output)
    assert "heartbeat_hours" not in {k for k, v in shown["settings"].items() if v}
    on = create("aws_cloudtrail", {"heartbeat_hours": 6})
    assert (
        "heartbeat_hours"
        not in run("aws", "template", "--integration", str(on), "--heartbeat").stderr
    )

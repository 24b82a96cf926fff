"""A :class:`~alertgate.plugins.aws_cloudtrail.setup.plan.Plan` as a CloudFormation template.

Nothing account- or region-specific is written: ARNs come from ``AWS::AccountId``,
``AWS::Region`` and ``AWS::Partition``, so one template serves a stack or a StackSet across an
AWS Organization. The Integration URL is a ``NoEcho`` parameter because it holds the key.
"""

from __future__ import annotations

import json
from typing import Any

from alertgate.plugins.aws_cloudtrail.setup.plan import (
    METRIC_NAMESPACE,
    EventRule,
    Plan,
    alarm_settings,
    topic_policy,
)

Node = dict[str, Any]

TOPIC = "Topic"
US_EAST_1 = "IsUsEast1"


def _ref(name: str) -> Node:
    return {"Ref": name}


def _sub(text: str) -> Node:
    return {"Fn::Sub": text}


def _topic_resources() -> Node:
    return {
        TOPIC: {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": _ref("TopicName")},
        },
        "TopicPolicy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [_ref(TOPIC)],
                "PolicyDocument": topic_policy(_ref(TOPIC), _ref("AWS::AccountId")),
            },
        },
        "Subscription": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": _ref(TOPIC),
                "Protocol": "https",
                "Endpoint": _ref("IntegrationUrl"),
            },
        },
    }


def _trail_resources(plan: Plan) -> Node:
    bucket_arn = {"Fn::GetAtt": ["TrailBucket", "Arn"]}
    return {
        "TrailBucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                },
            },
        },
        "TrailBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": _ref("TrailBucket"),
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "CloudTrailAclCheck",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudtrail.amazonaws.com"},
                            "Action": "s3:GetBucketAcl",
                            "Resource": bucket_arn,
                        },
                        {
                            "Sid": "CloudTrailWrite",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudtrail.amazonaws.com"},
                            "Action": "s3:PutObject",
                            "Resource": _sub("${TrailBucket.Arn}/AWSLogs/${AWS::AccountId}/*"),
                            "Condition": {
                                "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}
                            },
                        },
                    ],
                },
            },
        },
        "TrailLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": plan.log_group_name, "RetentionInDays": 90},
        },
        "TrailLogRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudtrail.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "CloudTrailToCloudWatchLogs",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                    "Resource": {"Fn::GetAtt": ["TrailLogGroup", "Arn"]},
                                }
                            ],
                        },
                    }
                ],
            },
        },
        "Trail": {
            "Type": "AWS::CloudTrail::Trail",
            "DependsOn": ["TrailBucketPolicy"],
            "Properties": {
                "TrailName": plan.trail_name,
                "S3BucketName": _ref("TrailBucket"),
                "IsLogging": True,
                "IsMultiRegionTrail": True,
                "IncludeGlobalServiceEvents": True,
                "EnableLogFileValidation": True,
                "CloudWatchLogsLogGroupArn": {"Fn::GetAtt": ["TrailLogGroup", "Arn"]},
                "CloudWatchLogsRoleArn": {"Fn::GetAtt": ["TrailLogRole", "Arn"]},
            },
        },
    }


def _alarm_resources(plan: Plan) -> Node:
    log_group = plan.log_group_name if plan.with_trail else _ref("LogGroupName")
    resources: Node = {}
    for alarm in plan.alarms:
        filter_props: Node = {
            "FilterName": alarm.name,
            "LogGroupName": log_group,
            "FilterPattern": alarm.pattern,
            "MetricTransformations": [
                {
                    "MetricNamespace": METRIC_NAMESPACE,
                    "MetricName": alarm.metric_name,
                    "MetricValue": "1",
                }
            ],
        }
        metric_filter: Node = {"Type": "AWS::Logs::MetricFilter", "Properties": filter_props}
        if plan.with_trail:
            metric_filter["DependsOn"] = ["TrailLogGroup"]
        resources[f"Filter{alarm.logical_id}"] = metric_filter
        resources[f"Alarm{alarm.logical_id}"] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": alarm_settings(alarm, _ref(TOPIC)),
        }
    return resources


def _rule_resource(rule: EventRule) -> Node:
    target: Node = {"Id": "alertgate", "Arn": _ref(TOPIC)}
    if rule.message is not None:
        target["Input"] = rule.message
    props: Node = {
        "Name": rule.name,
        "Description": rule.description,
        "State": "ENABLED",
        "Targets": [target],
    }
    if rule.pattern is not None:
        props["EventPattern"] = rule.pattern
    if rule.schedule is not None:
        props["ScheduleExpression"] = rule.schedule
    resource: Node = {"Type": "AWS::Events::Rule", "Properties": props}
    if rule.us_east_1_only:
        resource["Condition"] = US_EAST_1
    return resource


def template(plan: Plan) -> Node:
    """The CloudFormation template (as a dict) for ``plan``."""
    parameters: Node = {
        "IntegrationUrl": {
            "Type": "String",
            "NoEcho": True,
            "AllowedPattern": "^https://.+/integrations/.+$",
            "Description": "The Integration URL alertgate printed when the integration was "
            "created (or by `alertgate integrations rotate-key`). It holds the secret key.",
        },
        "TopicName": {
            "Type": "String",
            "Default": plan.topic_name,
            "Description": "Name of the SNS topic alarms and rules publish to.",
        },
    }
    if plan.alarms and not plan.with_trail:
        parameters["LogGroupName"] = {
            "Type": "String",
            "Description": "The CloudWatch Logs log group your CloudTrail trail writes to.",
        }
    resources = _topic_resources()
    if plan.with_trail:
        resources.update(_trail_resources(plan))
    resources.update(_alarm_resources(plan))
    for rule in plan.rules:
        resources[rule.logical_id] = _rule_resource(rule)
    doc: Node = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"alertgate: the AWS side of integration {plan.integration_id} "
        f"({plan.integration_type})",
        "Parameters": parameters,
    }
    if any(rule.us_east_1_only for rule in plan.rules):
        doc["Conditions"] = {US_EAST_1: {"Fn::Equals": [_ref("AWS::Region"), "us-east-1"]}}
    doc["Resources"] = resources
    doc["Outputs"] = {"TopicArn": {"Value": _ref(TOPIC)}}
    return doc


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    # A JSON string is a valid YAML double-quoted scalar: no quoting rules to get wrong.
    return json.dumps(value, ensure_ascii=False)


def _lines(node: Any, indent: int) -> list[str]:
    pad = "  " * indent
    if isinstance(node, dict):
        if not node:
            return [pad + "{}"]
        out = []
        for key, value in node.items():
            head = f"{pad}{_scalar(str(key)) if not str(key).isidentifier() else key}:"
            if isinstance(value, dict | list) and value:
                out.append(head)
                out.extend(_lines(value, indent + 1))
            else:
                out.append(f"{head} {_lines(value, 0)[0]}")
        return out
    if isinstance(node, list):
        if not node:
            return [pad + "[]"]
        out = []
        for item in node:
            inner = _lines(item, indent + 1)
            out.append(f"{pad}- {inner[0].lstrip()}")
            out.extend(inner[1:])
        return out
    return [pad + _scalar(node)]


def to_yaml(doc: Node) -> str:
    """Block-style YAML of a JSON-like document (no PyYAML dependency for one emitter)."""
    return "\n".join(_lines(doc, 0)) + "\n"

"""The built-in CloudTrail detection catalog, as data.

Each :class:`Detection` names what it watches, how bad it is and the rule that picks the
CloudTrail records it is about. The first fifteen follow the CIS AWS Foundations Benchmark
monitoring controls (section 4 of v1.4.0-v3.0.0, section 3 of v1.2.0), whose remediation
is "a metric filter and an alarm" - the guide's path - so each also lists the metric names
people give those filters, which is how alarms on them are recognised. The rest cover
what a CIS reviewer would still miss (root access keys, which CIS 1.4 forbids but no
monitoring control watches for) and techniques the open rule sets flag: SigmaHQ's AWS
CloudTrail rules and Stratus Red Team's AWS techniques (each description names its rules).

Rules follow the CIS patterns, with these deliberate differences:

- sign-in without MFA counts root as well as IAM users (CIS v1.4+ checks IAM users only,
  because federated sign-ins report ``MFAUsed: No`` even when the identity provider used
  MFA) and reads ``MFAUsed`` case-insensitively (AWS writes ``Yes`` and ``YES``);
- console authentication failures also match ``responseElements.ConsoleLogin = Failure``;
- IAM policy changes are limited to ``iam.amazonaws.com`` (AWS Organizations has its own
  CreatePolicy/DeletePolicy) and include SetDefaultPolicyVersion, which swaps a policy's
  effective document as surely as CreatePolicyVersion;
- CloudTrail changes also include event selector and insight selector changes, which
  silently narrow what is logged.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alertgate.models import Severity
from alertgate.plugins.aws_cloudtrail.rules import (
    AllOf,
    AnyOf,
    Condition,
    Rule,
    check_depth,
    filter_pattern,
)

DETECTION_ID_PATTERN = r"^[a-z][a-z0-9_]{1,63}$"


class Detection(BaseModel):
    """One detection: a named, rated rule over CloudTrail records."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=DETECTION_ID_PATTERN, description="Stable identifier.")
    title: str = Field(min_length=1, max_length=120, description="What happened, briefly.")
    description: str = Field("", max_length=2000, description="Why it matters.")
    severity: Severity = Severity.ERROR
    category: str = Field(
        "custom", pattern=r"^[a-z][a-z0-9_\-]{0,39}$", description="Grouping for people."
    )
    cis: str | None = Field(
        None,
        max_length=20,
        description="CIS AWS Foundations control (v1.4.0-v3.0.0 numbering), if any.",
    )
    cis_v1_2: str | None = Field(None, max_length=20, description="The v1.2.0 number.")
    rule: Rule
    metric_names: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Metric names used for the equivalent metric filter (alarm path).",
    )
    supersedes: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Detections not reported for an event this one already reports.",
    )

    @field_validator("rule")
    @classmethod
    def _bounded(cls, rule: Rule) -> Rule:
        return check_depth(rule)

    def pattern(self) -> tuple[str, bool]:
        """The metric filter pattern equivalent to :attr:`rule` (see ``filter_pattern``)."""
        return filter_pattern(self.rule)

    def describe(self) -> dict[str, Any]:
        """A JSON-ready view for the CLI and the docs: the model plus its filter pattern."""
        pattern, exact = self.pattern()
        data = self.model_dump(mode="json", by_alias=True, exclude_none=False)
        data["rule"] = self.rule.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        data["filter_pattern"] = pattern
        data["filter_pattern_exact"] = exact
        return data


_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_CIS_PREFIX = re.compile(r"^cis(v?\d+)*")
_SUFFIXES = ("metrics", "metric", "count", "alarms", "alarm", "filter")


def normalize_metric_name(name: str) -> str:
    """Compare metric names ignoring case, punctuation, a ``CIS…`` prefix and
    Metric/Count/Alarm/Filter suffixes: ``CIS-3.3-RootUsageMetric`` -> ``rootusage``."""
    text = _NOT_ALNUM.sub("", name.lower())
    text = _CIS_PREFIX.sub("", text)
    stripped = True
    while stripped:
        stripped = False
        for suffix in _SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                stripped = True
    return text


def _is(field: str, *values: str | bool, ignore_case: bool = False) -> Condition:
    return Condition(field=field, equals=list(values), ignore_case=ignore_case)


def _events(source: str, *names: str) -> AllOf:
    return AllOf(all=[_is("eventSource", source), _is("eventName", *names)])


def _all(*rules: Rule) -> AllOf:
    return AllOf(all=list(rules))


def _any(*rules: Rule) -> AnyOf:
    return AnyOf(any=list(rules))


BUILTIN_DETECTIONS: tuple[Detection, ...] = (
    Detection(
        id="unauthorized_api_calls",
        title="Unauthorized API call",
        description="A call was refused for lack of permission (AccessDenied or "
        "UnauthorizedOperation). Repeated refusals often mean stolen credentials being "
        "probed or a misconfigured application.",
        severity=Severity.WARNING,
        category="access",
        cis="4.1",
        cis_v1_2="3.1",
        rule=_all(
            _any(
                Condition(field="errorCode", like=["*UnauthorizedOperation"]),
                Condition(field="errorCode", like=["AccessDenied*"]),
            ),
            Condition(field="sourceIPAddress", not_equals=["delivery.logs.amazonaws.com"]),
            Condition(field="eventName", not_equals=["HeadBucket"]),
        ),
        metric_names=[
            "UnauthorizedAPICalls",
            "unauthorized_api_calls_metric",
            "UnauthorizedAPICallsMetric",
            "UnauthorizedApiCallCount",
            "AuthorizationFailureCount",
            "UnauthorizedAttemptCount",
        ],
    ),
    Detection(
        id="console_signin_without_mfa",
        title="Console sign-in without MFA",
        description="An IAM user or the root user signed in to the AWS Management Console "
        "without multi-factor authentication.",
        severity=Severity.ERROR,
        category="authentication",
        cis="4.2",
        cis_v1_2="3.2",
        rule=_all(
            _is("eventName", "ConsoleLogin"),
            Condition(field="additionalEventData.MFAUsed", not_equals=["Yes"], ignore_case=True),
            _is("userIdentity.type", "IAMUser", "Root"),
            _is("responseElements.ConsoleLogin", "Success"),
        ),
        metric_names=[
            "ConsoleSigninWithoutMFA",
            "ConsoleSignInWithoutMfaCount",
            "no_mfa_console_signin_metric",
            "NoMFAConsoleSignin",
            "NoMFAConsoleLogins",
            "ConsoleLoginWithoutMFA",
            "SignInWithoutMFA",
        ],
    ),
    Detection(
        id="root_account_usage",
        title="Root user activity",
        description="The account's root user did something (signed in, called an API). "
        "Root should be locked away; any use is worth a look.",
        severity=Severity.CRITICAL,
        category="identity",
        cis="4.3",
        cis_v1_2="3.3",
        rule=_all(
            _is("userIdentity.type", "Root"),
            Condition(field="userIdentity.invokedBy", exists=False),
            Condition(field="eventType", not_equals=["AwsServiceEvent"]),
        ),
        metric_names=[
            "RootAccountUsage",
            "RootAccountUsageCount",
            "root_usage_metric",
            "RootUsage",
            "RootUserUsage",
            "RootActivity",
            "RootAccountLogin",
        ],
    ),
    Detection(
        id="iam_policy_changes",
        title="IAM policy changed",
        description="An IAM policy was created, changed, deleted, attached or detached "
        "(users, groups, roles).",
        severity=Severity.WARNING,
        category="iam",
        cis="4.4",
        cis_v1_2="3.4",
        rule=_events(
            "iam.amazonaws.com",
            "DeleteGroupPolicy",
            "DeleteRolePolicy",
            "DeleteUserPolicy",
            "PutGroupPolicy",
            "PutRolePolicy",
            "PutUserPolicy",
            "CreatePolicy",
            "DeletePolicy",
            "CreatePolicyVersion",
            "DeletePolicyVersion",
            "SetDefaultPolicyVersion",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "AttachUserPolicy",
            "DetachUserPolicy",
            "AttachGroupPolicy",
            "DetachGroupPolicy",
        ),
        metric_names=[
            "IAMPolicyChanges",
            "IAMPolicyEventCount",
            "iam_changes_metric",
            "IAMChanges",
            "IamPolicyChange",
        ],
    ),
    Detection(
        id="cloudtrail_changes",
        title="CloudTrail configuration changed",
        description="A trail was created, updated, deleted, stopped or started, or its "
        "event selectors changed. Attackers stop or narrow logging to hide what follows.",
        severity=Severity.CRITICAL,
        category="audit",
        cis="4.5",
        cis_v1_2="3.5",
        rule=_is(
            "eventName",
            "CreateTrail",
            "UpdateTrail",
            "DeleteTrail",
            "StartLogging",
            "StopLogging",
            "PutEventSelectors",
            "PutInsightSelectors",
        ),
        metric_names=[
            "CloudTrailEventCount",
            "cloudtrail_cfg_changes_metric",
            "CloudTrailChanges",
            "CloudTrailConfigChanges",
            "CloudTrailConfigurationChanges",
            "CloudTrailCfgChanges",
        ],
    ),
    Detection(
        id="console_auth_failures",
        title="Console authentication failure",
        description="A sign-in to the AWS Management Console failed. Bursts suggest "
        "password guessing.",
        severity=Severity.WARNING,
        category="authentication",
        cis="4.6",
        cis_v1_2="3.6",
        rule=_all(
            _is("eventName", "ConsoleLogin"),
            _any(
                _is("errorMessage", "Failed authentication"),
                _is("responseElements.ConsoleLogin", "Failure"),
            ),
        ),
        metric_names=[
            "ConsoleSigninFailureCount",
            "console_signin_failure_metric",
            "ConsoleAuthenticationFailure",
            "ConsoleAuthenticationFailures",
            "ConsoleSigninFailures",
            "ConsoleLoginFailures",
            "FailedConsoleLogins",
        ],
    ),
    Detection(
        id="kms_key_disabled_or_deleted",
        title="KMS key disabled or scheduled for deletion",
        description="A customer managed KMS key was disabled or scheduled for deletion: "
        "data encrypted under it becomes unreadable.",
        severity=Severity.ERROR,
        category="encryption",
        cis="4.7",
        cis_v1_2="3.7",
        rule=_events("kms.amazonaws.com", "DisableKey", "ScheduleKeyDeletion"),
        metric_names=[
            "disable_or_delete_cmk_changes_metric",
            "DisableOrDeleteCMK",
            "DisableOrDeleteCMKChanges",
            "KMSKeyDisabledOrDeleted",
            "KMSKeyDeletion",
            "CMKDeletion",
            "KMSCustomerKeyDeletion",
        ],
    ),
    Detection(
        id="s3_bucket_policy_changes",
        title="S3 bucket policy changed",
        description="A bucket policy, ACL, CORS, lifecycle or replication configuration "
        "changed: data may have been exposed.",
        severity=Severity.WARNING,
        category="data",
        cis="4.8",
        cis_v1_2="3.8",
        rule=_events(
            "s3.amazonaws.com",
            "PutBucketAcl",
            "PutBucketPolicy",
            "PutBucketCors",
            "PutBucketLifecycle",
            "PutBucketReplication",
            "DeleteBucketPolicy",
            "DeleteBucketCors",
            "DeleteBucketLifecycle",
            "DeleteBucketReplication",
        ),
        metric_names=[
            "S3BucketPolicyChanges",
            "s3_bucket_policy_changes_metric",
            "S3BucketPolicyEventCount",
            "S3PolicyChanges",
        ],
    ),
    Detection(
        id="config_changes",
        title="AWS Config configuration changed",
        description="The AWS Config recorder was stopped or changed, or its delivery "
        "channel was changed or deleted: configuration history stops being kept.",
        severity=Severity.ERROR,
        category="audit",
        cis="4.9",
        cis_v1_2="3.9",
        rule=_events(
            "config.amazonaws.com",
            "StopConfigurationRecorder",
            "DeleteDeliveryChannel",
            "PutDeliveryChannel",
            "PutConfigurationRecorder",
        ),
        metric_names=[
            "AWSConfigChanges",
            "aws_config_changes_metric",
            "ConfigChanges",
            "AWSConfigEventCount",
            "ConfigServiceChanges",
        ],
    ),
    Detection(
        id="security_group_changes",
        title="Security group changed",
        description="A security group was created, deleted, or had rules added or removed.",
        severity=Severity.WARNING,
        category="network",
        cis="4.10",
        cis_v1_2="3.10",
        rule=_is(
            "eventName",
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "CreateSecurityGroup",
            "DeleteSecurityGroup",
        ),
        metric_names=[
            "SecurityGroupChanges",
            "SecurityGroupEventCount",
            "security_group_changes_metric",
            "SecurityGroupConfigChanges",
        ],
    ),
    Detection(
        id="nacl_changes",
        title="Network ACL changed",
        description="A network access control list or one of its entries or associations "
        "was created, changed or deleted.",
        severity=Severity.WARNING,
        category="network",
        cis="4.11",
        cis_v1_2="3.11",
        rule=_is(
            "eventName",
            "CreateNetworkAcl",
            "CreateNetworkAclEntry",
            "DeleteNetworkAcl",
            "DeleteNetworkAclEntry",
            "ReplaceNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
        ),
        metric_names=[
            "NACLChanges",
            "NetworkAclEventCount",
            "nacl_changes_metric",
            "NetworkACLChanges",
            "NetworkAclChanges",
        ],
    ),
    Detection(
        id="network_gateway_changes",
        title="Network gateway changed",
        description="An internet or customer gateway was created, deleted, attached or "
        "detached: traffic can now leave or enter by a new path.",
        severity=Severity.WARNING,
        category="network",
        cis="4.12",
        cis_v1_2="3.12",
        rule=_is(
            "eventName",
            "CreateCustomerGateway",
            "DeleteCustomerGateway",
            "AttachInternetGateway",
            "CreateInternetGateway",
            "DeleteInternetGateway",
            "DetachInternetGateway",
        ),
        metric_names=[
            "NetworkGatewayChanges",
            "GatewayEventCount",
            "network_gw_changes_metric",
            "NetworkGWChanges",
            "GatewayChanges",
        ],
    ),
    Detection(
        id="route_table_changes",
        title="Route table changed",
        description="A route or route table was created, replaced, deleted or (dis)associated.",
        severity=Severity.WARNING,
        category="network",
        cis="4.13",
        cis_v1_2="3.13",
        rule=_events(
            "ec2.amazonaws.com",
            "CreateRoute",
            "CreateRouteTable",
            "ReplaceRoute",
            "ReplaceRouteTableAssociation",
            "DeleteRouteTable",
            "DeleteRoute",
            "DisassociateRouteTable",
        ),
        metric_names=[
            "RouteTableChanges",
            "route_table_changes_metric",
            "RouteTableEventCount",
        ],
    ),
    Detection(
        id="vpc_changes",
        title="VPC changed",
        description="A VPC was created, deleted or modified, or a peering or ClassicLink "
        "connection changed.",
        severity=Severity.WARNING,
        category="network",
        cis="4.14",
        cis_v1_2="3.14",
        rule=_is(
            "eventName",
            "CreateVpc",
            "DeleteVpc",
            "ModifyVpcAttribute",
            "AcceptVpcPeeringConnection",
            "CreateVpcPeeringConnection",
            "DeleteVpcPeeringConnection",
            "RejectVpcPeeringConnection",
            "AttachClassicLinkVpc",
            "DetachClassicLinkVpc",
            "DisableVpcClassicLink",
            "EnableVpcClassicLink",
        ),
        metric_names=["VPCChanges", "VpcEventCount", "vpc_changes_metric", "VpcChanges"],
    ),
    Detection(
        id="organizations_changes",
        title="AWS Organizations changed",
        description="The organization's accounts, organizational units, policies (SCPs) "
        "or handshakes changed.",
        severity=Severity.ERROR,
        category="organization",
        cis="4.15",
        rule=_events(
            "organizations.amazonaws.com",
            "AcceptHandshake",
            "AttachPolicy",
            "CreateAccount",
            "CreateOrganizationalUnit",
            "CreatePolicy",
            "DeclineHandshake",
            "DeleteOrganization",
            "DeleteOrganizationalUnit",
            "DeletePolicy",
            "DetachPolicy",
            "DisablePolicyType",
            "EnablePolicyType",
            "InviteAccountToOrganization",
            "LeaveOrganization",
            "MoveAccount",
            "RemoveAccountFromOrganization",
            "UpdatePolicy",
            "UpdateOrganizationalUnit",
        ),
        metric_names=[
            "OrganizationsChanges",
            "organizations_changes",
            "organizations_changes_metric",
            "AWSOrganizationsChanges",
            "OrganizationsEventCount",
        ],
    ),
    # --- beyond CIS ---------------------------------------------------------------------
    Detection(
        id="root_access_key_created",
        title="Root user access key or signing certificate created",
        description="The root user created an access key or uploaded a signing "
        "certificate: long-lived credentials for the one identity no policy can restrict. "
        "CIS AWS Foundations (1.4) says none should exist; the benchmark checks for them "
        "but has no monitoring control that catches their creation.",
        severity=Severity.CRITICAL,
        category="identity",
        rule=_all(
            _is("userIdentity.type", "Root"),
            _is("eventSource", "iam.amazonaws.com"),
            _is("eventName", "CreateAccessKey", "UploadSigningCertificate"),
        ),
        metric_names=[
            "RootAccessKeyCreated",
            "RootAccessKeyCreation",
            "RootSigningCertificateUploaded",
            "RootCredentialsCreated",
        ],
        supersedes=["root_account_usage"],
    ),
    Detection(
        id="guardduty_disabled",
        title="GuardDuty detector deleted or disabled",
        description="DeleteDetector, or UpdateDetector with enable=false, stops GuardDuty "
        "threat detection in the region (and deletes its findings). Attackers do this "
        "first. Sigma: aws_guardduty_detector_deleted_or_updated.",
        severity=Severity.CRITICAL,
        category="logging",
        rule=_all(
            _is("eventSource", "guardduty.amazonaws.com"),
            Condition(field="errorCode", exists=False),
            _any(
                _is("eventName", "DeleteDetector"),
                _all(_is("eventName", "UpdateDetector"), _is("requestParameters.enable", False)),
            ),
        ),
        metric_names=["GuardDutyDisabled", "GuardDutyDetectorDeleted", "GuardDutyChanges"],
    ),
    Detection(
        id="vpc_flow_logs_deleted",
        title="VPC flow logs deleted",
        description="DeleteFlowLogs removes the network record an investigation relies on. "
        "Sigma: aws_cloudtrail_vpc_flow_logs_deleted; Stratus Red Team: "
        "aws.defense-evasion.vpc-remove-flow-logs.",
        severity=Severity.ERROR,
        category="logging",
        rule=_all(
            _events("ec2.amazonaws.com", "DeleteFlowLogs"),
            Condition(field="errorCode", exists=False),
        ),
        metric_names=["VpcFlowLogsDeleted", "FlowLogsDeleted", "DeleteFlowLogs"],
    ),
    Detection(
        id="ebs_default_encryption_disabled",
        title="EBS encryption by default disabled",
        description="DisableEbsEncryptionByDefault lets new volumes and snapshot copies in "
        "the region be created unencrypted. Sigma: aws_ec2_disable_encryption.",
        severity=Severity.WARNING,
        category="data",
        rule=_events("ec2.amazonaws.com", "DisableEbsEncryptionByDefault"),
        metric_names=["EbsEncryptionDisabled", "EbsDefaultEncryptionDisabled"],
    ),
    Detection(
        id="s3_block_public_access_weakened",
        title="S3 Block Public Access removed or weakened",
        description="A bucket's or the account's Block Public Access was deleted or had a "
        "setting turned off: the usual step before exposing a bucket through an ACL or "
        "policy. Sigma: aws_cloudtrail_bucket_block_public_access_weakened.",
        severity=Severity.ERROR,
        category="data",
        rule=_any(
            _events("s3.amazonaws.com", "DeleteBucketPublicAccessBlock", "DeletePublicAccessBlock"),
            _all(
                _is("eventName", "PutBucketPublicAccessBlock", "PutPublicAccessBlock"),
                _any(
                    *(
                        _is(f"requestParameters.PublicAccessBlockConfiguration.{name}", False)
                        for name in (
                            "BlockPublicAcls",
                            "IgnorePublicAcls",
                            "BlockPublicPolicy",
                            "RestrictPublicBuckets",
                        )
                    )
                ),
            ),
        ),
        metric_names=["S3PublicAccessBlockChanges", "BlockPublicAccessRemoved"],
    ),
    Detection(
        id="snapshot_or_image_shared",
        title="Snapshot or machine image permissions changed",
        description="The permissions of an EBS snapshot, an AMI or an RDS snapshot changed: "
        "the way data leaves the account to another one (or to everyone). Sigma: "
        "aws_snapshot_backup_exfiltration, aws_rds_snapshot_shared_with_external_account; "
        "Stratus Red Team: aws.exfiltration.ec2-share-ebs-snapshot, "
        "aws.exfiltration.ec2-share-ami, aws.exfiltration.rds-share-snapshot.",
        severity=Severity.ERROR,
        category="data",
        rule=_any(
            _events("ec2.amazonaws.com", "ModifySnapshotAttribute", "ModifyImageAttribute"),
            _events(
                "rds.amazonaws.com",
                "ModifyDBSnapshotAttribute",
                "ModifyDBClusterSnapshotAttribute",
            ),
        ),
        metric_names=["SnapshotShared", "SnapshotPermissionChanges", "AmiShared"],
    ),
    Detection(
        id="organizations_leave",
        title="Account tried to leave the organization",
        description="LeaveOrganization takes the account out of every service control "
        "policy and central guardrail. Reported even when refused: the attempt is the news.",
        severity=Severity.CRITICAL,
        category="organization",
        rule=_events("organizations.amazonaws.com", "LeaveOrganization"),
        metric_names=["LeaveOrganization", "OrganizationsLeave", "LeaveOrganizationCount"],
        supersedes=["organizations_changes"],
    ),
    Detection(
        id="iam_login_profile_changes",
        title="IAM user console password set",
        description="A console password (login profile) was created or changed for an IAM "
        "user: a way to persist or take over a user.",
        severity=Severity.ERROR,
        category="iam",
        rule=_events("iam.amazonaws.com", "CreateLoginProfile", "UpdateLoginProfile"),
        metric_names=["LoginProfileChanges", "IAMLoginProfileChanges"],
    ),
    Detection(
        id="iam_access_key_for_other_user",
        title="Access key created for another IAM user",
        description="Someone created a long-lived access key for a different IAM user: a "
        "classic backdoor. Keys users create for themselves are not reported.",
        severity=Severity.ERROR,
        category="iam",
        rule=_all(
            _is("eventSource", "iam.amazonaws.com"),
            _is("eventName", "CreateAccessKey"),
            _any(
                Condition(field="requestParameters.userName", differs_from="userIdentity.userName"),
                # Roles and root have no userName of their own: any named user is another.
                _all(
                    Condition(field="userIdentity.type", not_equals=["IAMUser"]),
                    Condition(field="requestParameters.userName", exists=True),
                ),
            ),
        ),
        metric_names=["AccessKeyCreatedForOtherUser", "IAMAccessKeyCreation"],
    ),
    Detection(
        id="iam_role_trust_policy_changes",
        title="IAM role trust policy changed",
        description="Who may assume a role changed (UpdateAssumeRolePolicy): an outside "
        "account may have been let in.",
        severity=Severity.ERROR,
        category="iam",
        rule=_events("iam.amazonaws.com", "UpdateAssumeRolePolicy"),
        metric_names=["RoleTrustPolicyChanges", "AssumeRolePolicyChanges"],
    ),
    Detection(
        id="sts_federation_token",
        title="Federation token issued",
        description="GetFederationToken turned an IAM user's credentials into temporary "
        "ones that survive the user's access key being deleted.",
        severity=Severity.WARNING,
        category="identity",
        rule=_events("sts.amazonaws.com", "GetFederationToken"),
        metric_names=["GetFederationToken", "FederationTokenCount"],
    ),
)


@functools.cache
def builtin_by_id() -> dict[str, Detection]:
    """The built-in detections by id."""
    return {detection.id: detection for detection in BUILTIN_DETECTIONS}


@functools.cache
def builtin_metric_index() -> dict[str, Detection]:
    """Normalized metric name -> built-in detection (first one wins). Do not mutate."""
    index: dict[str, Detection] = {}
    for detection in BUILTIN_DETECTIONS:
        for metric in (*detection.metric_names, detection.id):
            index.setdefault(normalize_metric_name(metric), detection)
    return index

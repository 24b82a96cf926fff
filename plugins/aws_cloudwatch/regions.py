"""AWS region codes, display names and partitions.

CloudWatch's SNS notifications name the region by its display name ("US East (N.
Virginia)") while ARNs, EventBridge events and consoles use the code (``us-east-1``).
alertgate keys everything on the code, so both directions are needed.
"""

from __future__ import annotations

import re

REGION_CODE_RE = re.compile(r"^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")
"""A syntactically valid region code: ``us-east-1``, ``us-gov-west-1``, ``cn-north-1``."""

REGION_NAMES: dict[str, str] = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "af-south-1": "Africa (Cape Town)",
    "ap-east-1": "Asia Pacific (Hong Kong)",
    "ap-east-2": "Asia Pacific (Taipei)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "ap-south-2": "Asia Pacific (Hyderabad)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-southeast-3": "Asia Pacific (Jakarta)",
    "ap-southeast-4": "Asia Pacific (Melbourne)",
    "ap-southeast-5": "Asia Pacific (Malaysia)",
    "ap-southeast-7": "Asia Pacific (Thailand)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-northeast-3": "Asia Pacific (Osaka)",
    "ca-central-1": "Canada (Central)",
    "ca-west-1": "Canada West (Calgary)",
    "eu-central-1": "Europe (Frankfurt)",
    "eu-central-2": "Europe (Zurich)",
    "eu-west-1": "Europe (Ireland)",
    "eu-west-2": "Europe (London)",
    "eu-west-3": "Europe (Paris)",
    "eu-south-1": "Europe (Milan)",
    "eu-south-2": "Europe (Spain)",
    "eu-north-1": "Europe (Stockholm)",
    "il-central-1": "Israel (Tel Aviv)",
    "me-south-1": "Middle East (Bahrain)",
    "me-central-1": "Middle East (UAE)",
    "mx-central-1": "Mexico (Central)",
    "sa-east-1": "South America (Sao Paulo)",
    "us-gov-east-1": "AWS GovCloud (US-East)",
    "us-gov-west-1": "AWS GovCloud (US-West)",
    "cn-north-1": "China (Beijing)",
    "cn-northwest-1": "China (Ningxia)",
}

# Older or alternative spellings seen in CloudWatch notifications over the years.
_ALIASES: dict[str, str] = {
    "EU (Ireland)": "eu-west-1",
    "EU (London)": "eu-west-2",
    "EU (Paris)": "eu-west-3",
    "EU (Frankfurt)": "eu-central-1",
    "EU (Zurich)": "eu-central-2",
    "EU (Milan)": "eu-south-1",
    "EU (Spain)": "eu-south-2",
    "EU (Stockholm)": "eu-north-1",
    "South America (São Paulo)": "sa-east-1",
    "AWS GovCloud (US)": "us-gov-west-1",
    "Middle East (UAE)": "me-central-1",
}

_BY_NAME: dict[str, str] = {
    **{name.casefold(): code for code, name in REGION_NAMES.items()},
    **{name.casefold(): code for name, code in _ALIASES.items()},
}


def is_region_code(value: object) -> bool:
    return isinstance(value, str) and REGION_CODE_RE.match(value) is not None


def region_code(value: object) -> str | None:
    """The region code for a code or a display name, or ``None`` if unrecognised."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if is_region_code(text):
        return text
    return _BY_NAME.get(text.casefold())


def region_name(code: str | None) -> str | None:
    """The display name of a region code, if known."""
    return REGION_NAMES.get(code) if code else None


def partition_of(code: str | None) -> str:
    """The ARN partition of a region code (``aws`` unless China or GovCloud)."""
    if code and code.startswith("cn-"):
        return "aws-cn"
    if code and code.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"

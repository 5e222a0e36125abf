"""The platform versions the local cloud offers: one Docker on Amazon Linux 2023 branch."""

import re

from moto.utilities.utils import get_partition

BRANCH = "Docker running on 64bit Amazon Linux 2023"
# Oldest first; the last one is the branch's recommended version.
VERSIONS = ("4.6.2", "4.7.0")


def arn(region, version):
    return "arn:%s:elasticbeanstalk:%s::platform/%s/%s" % (get_partition(region), region, BRANCH, version)


def solution_stack(version):
    return "64bit Amazon Linux 2023 v%s running Docker" % version


def summaries(region):
    result = []
    for version in VERSIONS:
        result.append({
            "PlatformArn": arn(region, version),
            "PlatformOwner": "AWSElasticBeanstalk",
            "PlatformStatus": "Ready",
            "PlatformCategory": "Docker",
            "OperatingSystemName": "Amazon Linux 2023",
            "OperatingSystemVersion": "2023",
            "SupportedTierList": ["WebServer/Standard", "Worker/SQS/HTTP"],
            "SupportedAddonList": ["Log/S3", "Monitoring/Healthd", "WorkerDaemon/SQSD"],
            "PlatformLifecycleState": "Recommended" if version == VERSIONS[-1] else "",
            "PlatformVersion": version,
            "PlatformBranchName": BRANCH,
            "PlatformBranchLifecycleState": "Supported",
        })
    return result


def describe(region, platform_arn):
    for summary in summaries(region):
        if summary["PlatformArn"] == platform_arn:
            description = dict(summary)
            description.pop("PlatformLifecycleState")
            description.update({
                "PlatformName": BRANCH,
                "SolutionStackName": solution_stack(summary["PlatformVersion"]),
                "Description": "Docker on Amazon Linux 2023 (run by the local cloud without Docker)",
                "ProgrammingLanguages": [],
                "Frameworks": [],
                "CustomAmiList": [],
            })
            return description
    return None


def resolve(region, platform_arn=None, stack_name=None):
    """(platform ARN, solution stack name) for what a request names, or None."""
    for version in VERSIONS:
        if platform_arn == arn(region, version) or stack_name == solution_stack(version):
            return arn(region, version), solution_stack(version)
    return None


def _version_key(text):
    return tuple(int(part) for part in re.findall(r"\d+", text))


def _compare(operator, actual, wanted, numeric):
    if numeric:
        actual, wanted = _version_key(actual), _version_key(wanted)
    return {
        "=": actual == wanted,
        "!=": actual != wanted,
        "<": actual < wanted,
        "<=": actual <= wanted,
        ">": actual > wanted,
        ">=": actual >= wanted,
        "contains": not numeric and wanted in actual,
        "begins_with": not numeric and actual.startswith(wanted),
        "ends_with": not numeric and actual.endswith(wanted),
    }.get(operator)


FILTER_FIELDS = {
    "PlatformName": "PlatformBranchName",
    "PlatformBranchName": "PlatformBranchName",
    "PlatformVersion": "PlatformVersion",
    "PlatformStatus": "PlatformStatus",
    "PlatformLifecycleState": "PlatformLifecycleState",
    "PlatformOwner": "PlatformOwner",
    "OperatingSystemName": "OperatingSystemName",
    "SupportedTier": "SupportedTierList",
    "SupportedAddon": "SupportedAddonList",
}


def matches(summary, filters):
    """Whether a summary passes every filter ({Type, Operator, Values}); raises ValueError."""
    for item in filters or []:
        kind, operator = item.get("Type"), item.get("Operator") or "="
        if kind not in FILTER_FIELDS and kind != "ProgrammingLanguageName":
            raise ValueError("Invalid filter type: %s" % kind)
        if _compare(operator, "a", "a", False) is None:
            raise ValueError("Invalid filter operator: %s" % operator)
        if kind == "ProgrammingLanguageName":
            return False
        actual = summary.get(FILTER_FIELDS[kind], "")
        candidates = actual if isinstance(actual, list) else [actual]
        numeric = kind == "PlatformVersion"
        if not any(_compare(operator, candidate, wanted, numeric) for candidate in candidates for wanted in item.get("Values") or []):
            return False
    return True

# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Platforms: a branch name resolved to its recommended version's ARN, and drift from what was asked."""

import re

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from .common import AnsibleEBError
from .common import EBErrorHandler


def platform_kind(platform):
    if platform.startswith("arn:"):
        return "arn"
    if re.match(r"^64bit .* running ", platform):
        return "solution_stack"
    return "branch"


def _version_key(version):
    return tuple(int(part) for part in re.findall(r"\d+", version or ""))


@EBErrorHandler.list_error_handler("list the platform branch's versions", default_value=[])
@AWSRetry.jittered_backoff()
def list_branch_versions(client, branch):
    """The summaries of the branch's platform versions, every page of them."""
    paginator = client.get_paginator("list_platform_versions")
    found = paginator.paginate(
        Filters=[{"Type": "PlatformBranchName", "Operator": "=", "Values": [branch]}]
    ).build_full_result()
    return found.get("PlatformSummaryList", [])


def resolve_platform(client, platform):
    """{'PlatformArn': ...} or {'SolutionStackName': ...} for what the user named; a branch name
    becomes its recommended (or else newest) ready version. A read, so fine in check mode."""
    kind = platform_kind(platform)
    if kind == "arn":
        return {"PlatformArn": platform}
    if kind == "solution_stack":
        return {"SolutionStackName": platform}
    summaries = [
        item for item in list_branch_versions(client, platform) if item.get("PlatformStatus", "Ready") == "Ready"
    ]
    if not summaries:
        raise AnsibleEBError(
            "platform: no platform branch named '%s' (for example 'Docker running on 64bit Amazon Linux 2023')"
            % platform
        )
    recommended = [item for item in summaries if item.get("PlatformLifecycleState") == "Recommended"]
    chosen = (
        recommended[0] if recommended else max(summaries, key=lambda item: _version_key(item.get("PlatformVersion")))
    )
    return {"PlatformArn": chosen["PlatformArn"]}


def branch_of(platform_arn):
    """'Docker running on 64bit Amazon Linux 2023' for .../platform/<branch>/<version>."""
    match = re.match(r"^arn:[^:]+:elasticbeanstalk:[^:]*:[^:]*:platform/(.+)/[^/]+$", platform_arn or "")
    return match.group(1) if match else None


def platform_drift(client, platform, environment):
    """The platform field of the update to send when the environment runs another platform than
    asked ({'PlatformArn': ...} or {'SolutionStackName': ...}), or {}.

    A branch name is satisfied by any version of that branch (managed updates move it); another
    branch is resolved to its recommended version's ARN here, while planning.
    """
    if not platform:
        return {}
    kind = platform_kind(platform)
    if kind == "branch":
        return {} if branch_of(environment.get("PlatformArn")) == platform else resolve_platform(client, platform)
    if kind == "arn":
        return {} if environment.get("PlatformArn") == platform else {"PlatformArn": platform}
    return {} if environment.get("SolutionStackName") == platform else {"SolutionStackName": platform}

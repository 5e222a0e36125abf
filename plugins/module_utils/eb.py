# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared logic of the Elastic Beanstalk modules: describing, normalising, waiting.

Every call goes through a client from `AnsibleAWSModule.client(..., retry_decorator=...)`
and passes `aws_retry=True`. Nothing here writes: the modules decide, in check mode too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import time
from datetime import datetime, timezone

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

ENV_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,38}[A-Za-z0-9]$")
CNAME_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$")
ENVIRONMENT_PROPERTIES = "aws:elasticbeanstalk:application:environment"
ENVIRONMENT_SECRETS = "aws:elasticbeanstalk:application:environmentsecrets"
ASG = "aws:autoscaling:asg"
IMMUTABLE_OPTIONS = (("aws:elasticbeanstalk:environment", "LoadBalancerType"), ("aws:elasticbeanstalk:environment", "EnvironmentType"))
# Tags EB sets itself: never compared, never purged.
SYSTEM_TAG = re.compile(r"^(elasticbeanstalk:|aws:|Name$)")
BUSY = ("Launching", "Updating", "Terminating", "Aborting", "LinkingFrom", "LinkingTo")
FIRST_DELAY, MAX_DELAY = 1.0, 10.0


class EBError(Exception):
    """A failure the module reports as is (no traceback, no AWS error code)."""

    def __init__(self, message, **details):
        super(EBError, self).__init__(message)
        self.message = message
        self.details = details


def utcnow():
    return datetime.now(timezone.utc)


# Describing -------------------------------------------------------------------------------


def describe_environment(client, application, name):
    """The live environment (not Terminated) of that name, or None."""
    found = client.describe_environments(ApplicationName=application, EnvironmentNames=[name], IncludeDeleted=False, aws_retry=True)
    live = [env for env in found.get("Environments", []) if env.get("Status") != "Terminated"]
    return live[0] if live else None


def describe_settings(client, application, name):
    """{(namespace, option, resource): value} of the deployed configuration."""
    sets = client.describe_configuration_settings(ApplicationName=application, EnvironmentName=name, aws_retry=True)["ConfigurationSettings"]
    deployed = [item for item in sets if item.get("DeploymentStatus") in (None, "deployed")] or sets
    return dict((option_key(item), item.get("Value") or "") for item in deployed[0].get("OptionSettings", []))


def describe_tags(client, arn):
    tags = client.list_tags_for_resource(ResourceArn=arn, aws_retry=True).get("ResourceTags", [])
    return dict((tag["Key"], tag.get("Value", "")) for tag in tags)


def user_tags(tags):
    return dict((key, value) for key, value in tags.items() if not SYSTEM_TAG.match(key))


def environment_view(env, tags):
    """An environment for a module's result: snake_case, its HTTPS url (when it has a CNAME), its tags."""
    if not env:
        return {}
    result = camel_dict_to_snake_dict(env)
    if env.get("CNAME"):
        result["url"] = "https://" + env["CNAME"]
    result["tags"] = tags
    return result


def describe_version(client, application, label):
    found = client.describe_application_versions(ApplicationName=application, VersionLabels=[label], aws_retry=True)
    versions = found.get("ApplicationVersions", [])
    return versions[0] if versions else None


def environments_using(client, application, label):
    found = client.describe_environments(ApplicationName=application, VersionLabel=label, IncludeDeleted=False, aws_retry=True)
    return [env["EnvironmentName"] for env in found.get("Environments", []) if env.get("Status") not in ("Terminated", "Terminating")]


# Platforms --------------------------------------------------------------------------------


def platform_kind(platform):
    if platform.startswith("arn:"):
        return "arn"
    if re.match(r"^64bit .* running ", platform):
        return "solution_stack"
    return "branch"


def _version_key(version):
    return tuple(int(part) for part in re.findall(r"\d+", version or ""))


def resolve_platform(client, platform):
    """{'PlatformArn': ...} or {'SolutionStackName': ...} for what the user named."""
    kind = platform_kind(platform)
    if kind == "arn":
        return {"PlatformArn": platform}
    if kind == "solution_stack":
        return {"SolutionStackName": platform}
    summaries = client.list_platform_versions(
        Filters=[{"Type": "PlatformBranchName", "Operator": "=", "Values": [platform]}], aws_retry=True
    ).get("PlatformSummaryList", [])
    summaries = [item for item in summaries if item.get("PlatformStatus", "Ready") == "Ready"]
    if not summaries:
        raise EBError("platform: no platform branch named '%s' (for example 'Docker running on 64bit Amazon Linux 2023')" % platform)
    recommended = [item for item in summaries if item.get("PlatformLifecycleState") == "Recommended"]
    chosen = recommended[0] if recommended else max(summaries, key=lambda item: _version_key(item.get("PlatformVersion")))
    return {"PlatformArn": chosen["PlatformArn"]}


def branch_of(platform_arn):
    """'Docker running on 64bit Amazon Linux 2023' for .../platform/<branch>/<version>."""
    match = re.match(r"^arn:[^:]+:elasticbeanstalk:[^:]*:[^:]*:platform/(.+)/[^/]+$", platform_arn or "")
    return match.group(1) if match else None


def platform_drift(platform, environment):
    """The update to send when the environment runs another platform than asked, or {}.

    A branch name is satisfied by any version of that branch (managed updates move it).
    """
    if not platform:
        return {}
    kind = platform_kind(platform)
    if kind == "branch":
        return {} if branch_of(environment.get("PlatformArn")) == platform else {"branch": platform}
    if kind == "arn":
        return {} if environment.get("PlatformArn") == platform else {"PlatformArn": platform}
    return {} if environment.get("SolutionStackName") == platform else {"SolutionStackName": platform}


# Option settings --------------------------------------------------------------------------


def option_key(item):
    return (item.get("Namespace") or item.get("namespace") or "",
            item.get("OptionName") or item.get("option_name") or "",
            item.get("ResourceName") or item.get("resource_name") or "")


def normalise(value):
    """A value as EB compares it: booleans' case, numbers, JSON, the order of comma lists."""
    text = "" if value is None else str(value).strip()
    if text.lower() in ("true", "false"):
        return text.lower()
    if re.match(r"^-?\d+(\.\d+)?$", text):
        number = float(text)
        return str(int(number)) if number == int(number) else repr(number)
    if text[:1] in ("{", "["):
        try:
            return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
        except ValueError:
            return text
    if "," in text:
        return ",".join(sorted(part.strip() for part in text.split(",")))
    return text


def desired_settings(option_settings):
    """The user's list as {(namespace, option, resource): value}; raises EBError on bad items."""
    desired = {}
    for index, item in enumerate(option_settings or []):
        key = option_key(item)
        if not key[0] or not key[1]:
            raise EBError("option_settings[%d]: namespace and option_name are required" % index)
        if key in desired:
            raise EBError("option_settings[%d]: %s %s is given twice" % (index, key[0], key[1]))
        desired[key] = "" if item.get("value") is None else str(item["value"])
    low, high = desired.get((ASG, "MinSize", "")), desired.get((ASG, "MaxSize", ""))
    for name, value in (("MinSize", low), ("MaxSize", high)):
        if value is not None and not re.match(r"^\d+$", value.strip()):
            raise EBError("option_settings: %s %s must be a whole number, not '%s'" % (ASG, name, value))
    if low is not None and high is not None and int(low) > int(high):
        raise EBError("option_settings: %s MinSize (%s) is greater than MaxSize (%s)" % (ASG, low, high))
    return desired


def settings_changes(desired, current, purge_namespaces):
    """(OptionSettings to send, OptionsToRemove to send) to get from current to desired."""
    to_set = []
    for key, value in sorted(desired.items()):
        if key not in current or normalise(current[key]) != normalise(value):
            to_set.append(setting_item(key, value))
    to_remove = []
    for key in sorted(current):
        if key[0] in purge_namespaces and key not in desired:
            item = {"Namespace": key[0], "OptionName": key[1]}
            if key[2]:
                item["ResourceName"] = key[2]
            to_remove.append(item)
    return to_set, to_remove


def setting_item(key, value):
    item = {"Namespace": key[0], "OptionName": key[1], "Value": value}
    if key[2]:
        item["ResourceName"] = key[2]
    return item


def immutable_conflicts(desired, current):
    problems = []
    for namespace, option in IMMUTABLE_OPTIONS:
        key = (namespace, option, "")
        if key in desired and key in current and normalise(desired[key]).lower() != normalise(current[key]).lower():
            problems.append("%s %s is '%s' and can't change after creation (asked: '%s')" % (namespace, option, current[key], desired[key]))
    return problems


def managed_view(settings, keys):
    """The settings the user manages, as a sorted list (for results and diffs)."""
    return [
        dict(namespace=key[0], option_name=key[1], value=settings[key], **({"resource_name": key[2]} if key[2] else {}))
        for key in sorted(keys) if key in settings
    ]


# Waiting ----------------------------------------------------------------------------------


def error_events(client, application, environment=None, since=None, request_id=None, version=None):
    params = {"ApplicationName": application, "Severity": "ERROR"}
    if environment:
        params["EnvironmentName"] = environment
    if version:
        params["VersionLabel"] = version
    if request_id:
        params["RequestId"] = request_id
    elif since:
        params["StartTime"] = since
    events = client.describe_events(aws_retry=True, **params).get("Events", [])
    return [event["Message"] for event in reversed(events)]


class Waiter:
    """Polls with a growing delay (1 s, then x1.5, at most 10 s) until a deadline."""

    def __init__(self, timeout, sleep=time.sleep, clock=time.monotonic):
        self.timeout = timeout
        self.sleep = sleep
        self.clock = clock

    def until(self, fetch, done, describe_wait):
        deadline = self.clock() + self.timeout
        delay = FIRST_DELAY
        while True:
            value = fetch()
            if done(value):
                return value
            if self.clock() + delay > deadline:
                raise EBError("timed out after %d s waiting for %s" % (self.timeout, describe_wait(value)), last=value)
            self.sleep(delay)
            delay = min(MAX_DELAY, delay * 1.5)


def wait_for_environment(client, waiter, application, name, statuses):
    """Waits until the environment's status is one of `statuses` (None: it is gone)."""

    def fetch():
        return describe_environment(client, application, name)

    def done(env):
        return (env is None and None in statuses) or (env is not None and env.get("Status") in statuses)

    def describe_wait(env):
        return "environment %s to be %s (it is %s)" % (name, " or ".join(s or "terminated" for s in statuses), env.get("Status") if env else "gone")

    return waiter.until(fetch, done, describe_wait)

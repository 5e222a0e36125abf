# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Describing environments: the live one of a name, its deployed settings and its tags."""

import re
from collections import namedtuple

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from .common import AnsibleEBError
from .common import EBErrorHandler
from .option_settings import option_key

ENV_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,38}[A-Za-z0-9]$")
CNAME_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$")
# Tags EB sets itself: never compared, never purged.
SYSTEM_TAG = re.compile(r"^(elasticbeanstalk:|aws:|Name$)")
GONE = ("Terminated",)


def validate_names(name, cname_prefix=None):
    """Raises AnsibleEBError unless the environment's name and CNAME prefix follow EB's rules."""
    if not ENV_NAME.match(name):
        raise AnsibleEBError(
            "name: '%s' must be 4 to 40 letters, digits and hyphens, not starting or ending with a hyphen" % name
        )
    if cname_prefix and not CNAME_PREFIX.match(cname_prefix):
        raise AnsibleEBError(
            "cname_prefix: '%s' must be 4 to 63 letters, digits and hyphens, not starting or ending with a hyphen"
            % cname_prefix
        )


# An environment as the modules compare it: EB's description (None when there is none), its
# deployed settings {(namespace, option, resource): value} and its user tags.
EnvironmentState = namedtuple("EnvironmentState", ["environment", "settings", "tags"])
ABSENT = EnvironmentState(None, {}, {})


@EBErrorHandler.list_error_handler("describe environments", default_value=[])
@AWSRetry.jittered_backoff()
def describe_environments(client, application, names=None, version_label=None):
    """The application's live environments (not Terminated), every page of them."""
    request = {"ApplicationName": application, "IncludeDeleted": False}
    if names:
        request["EnvironmentNames"] = names
    if version_label:
        request["VersionLabel"] = version_label
    found = client.get_paginator("describe_environments").paginate(**request).build_full_result()
    return [env for env in found.get("Environments", []) if env.get("Status") not in GONE]


def describe_environment(client, application, name):
    """The live environment of that name, or None."""
    found = describe_environments(client, application, [name])
    return found[0] if found else None


@EBErrorHandler.common_error_handler("describe the environment's configuration")
@AWSRetry.jittered_backoff()
def describe_settings(client, application, name):
    """{(namespace, option, resource): value} of the deployed configuration."""
    sets = client.describe_configuration_settings(ApplicationName=application, EnvironmentName=name)[
        "ConfigurationSettings"
    ]
    deployed = [item for item in sets if item.get("DeploymentStatus") in (None, "deployed")] or sets
    return {option_key(item): item.get("Value") or "" for item in deployed[0].get("OptionSettings", [])}


@EBErrorHandler.common_error_handler("list the environment's tags")
@AWSRetry.jittered_backoff()
def describe_tags(client, arn):
    tags = client.list_tags_for_resource(ResourceArn=arn).get("ResourceTags", [])
    return {tag["Key"]: tag.get("Value", "") for tag in tags}


def user_tags(tags):
    return {key: value for key, value in tags.items() if not SYSTEM_TAG.match(key)}


def describe_state(client, application, environment):
    """The EnvironmentState of an environment as described (ABSENT for None): its deployed
    settings and user tags read."""
    if environment is None:
        return ABSENT
    settings = describe_settings(client, application, environment["EnvironmentName"])
    return EnvironmentState(environment, settings, user_tags(describe_tags(client, environment["EnvironmentArn"])))


def environments_using(client, application, label):
    """The names of the environments that run or are getting that version."""
    return [
        env["EnvironmentName"]
        for env in describe_environments(client, application, version_label=label)
        if env.get("Status") != "Terminating"
    ]


def environment_view(env, tags):
    """An environment for a module's result: snake_case, its HTTPS url (when it has a CNAME), its tags."""
    if not env:
        return {}
    result = camel_dict_to_snake_dict(env)
    if env.get("CNAME"):
        result["url"] = "https://" + env["CNAME"]
    result["tags"] = tags
    return result

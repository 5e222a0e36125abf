#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: eb_environment
short_description: Create, update or terminate an Elastic Beanstalk environment
version_added: 0.1.0
description:
  - Creates an Elastic Beanstalk environment, or brings an existing one to the version, platform,
    option settings, description and tags asked for, or terminates it.
  - Only the option settings given are compared, after normalising values the way EB returns them
    (case of booleans, numbers, JSON, order of comma lists), so a second run changes nothing.
  - Settings missing from O(option_settings) in the namespaces of O(purge_option_namespaces)
    (by default the environment properties and secrets) are removed.
  - Before any change it waits for the environment to be C(Ready); after it, it waits again and
    fails with the C(ERROR) events of its own operation.
  - The tier, the CNAME prefix and the load balancer type can't change after creation; asking for
    another value is an error, never a replacement.
author:
  - mlflowops.beanstalk contributors (@mlflowops)
options:
  name:
    description: Name of the environment (4 to 40 letters, digits and hyphens, not starting or ending with a hyphen).
    required: true
    type: str
    aliases: [environment_name]
  application_name:
    description: The application the environment belongs to.
    required: true
    type: str
  state:
    description: Whether the environment should exist.
    choices: [present, absent]
    default: present
    type: str
  platform:
    description:
      - The platform, as a branch name (the branch's recommended version is used when creating;
        any version of that branch satisfies an existing environment), a platform ARN, or a
        solution stack name.
      - Required to create an environment.
    type: str
  version_label:
    description: The application version to deploy.
    type: str
  redeploy:
    description:
      - Deploy the application version again even when it is the one running, in the batches of
        the environment's deployment policy. Instances restart and fetch their environment
        secrets again (after a rotation in Secrets Manager or Parameter Store).
      - Always reports a change on an existing environment; ignored when creating one.
    type: bool
    default: false
  tier:
    description: The environment tier. Fixed at creation.
    choices: [WebServer, Worker]
    default: WebServer
    type: str
  cname_prefix:
    description: The CNAME prefix (4 to 63 letters, digits and hyphens). Fixed at creation; defaults to EB's choice.
    type: str
  description:
    description: A description of the environment.
    type: str
  option_settings:
    description: The option settings to manage.
    type: list
    elements: dict
    default: []
    suboptions:
      namespace:
        description: The option's namespace, for example V(aws:autoscaling:asg).
        required: true
        type: str
      option_name:
        description: The option's name, for example V(MinSize).
        required: true
        type: str
      value:
        description: The value, as a string.
        type: str
        default: ''
      resource_name:
        description: The resource the option applies to, when the namespace needs one.
        type: str
  purge_option_namespaces:
    description:
      - Namespaces whose settings are removed when they are not in O(option_settings).
    type: list
    elements: str
    default:
      - aws:elasticbeanstalk:application:environment
      - aws:elasticbeanstalk:application:environmentsecrets
  wait:
    description: Wait until the operation is over (C(Ready), or terminated for O(state=absent)).
    type: bool
    default: true
  wait_timeout:
    description: How long to wait, in seconds, for the environment to be C(Ready) before and after a change.
    type: int
    default: 1800
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags.modules
  - amazon.aws.boto3
seealso:
  - module: mlflowops.beanstalk.eb_environment_info
  - module: mlflowops.beanstalk.eb_application_version
  - name: Elastic Beanstalk environments
    description: What an environment is, and its life cycle.
    link: https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/concepts.html
  - name: Option settings
    description: The namespaces and options an environment takes.
    link: https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-general.html
"""

EXAMPLES = r"""
- name: An environment for the MLflow bundle
  mlflowops.beanstalk.eb_environment:
    name: mlflow-prod
    application_name: mlflow
    platform: Docker running on 64bit Amazon Linux 2023
    version_label: mlflow-3.17.2-0123456789abcdef
    cname_prefix: mlflow-prod
    option_settings:
      - {namespace: "aws:elasticbeanstalk:environment", option_name: LoadBalancerType, value: application}
      - {namespace: "aws:autoscaling:asg", option_name: MinSize, value: "2"}
      - {namespace: "aws:autoscaling:asg", option_name: MaxSize, value: "4"}
      - {namespace: "aws:elasticbeanstalk:application:environment", option_name: MLFLOW_DB_HOST, value: "{{ db_host }}"}
    tags:
      team: ml-platform

- name: Terminate it
  mlflowops.beanstalk.eb_environment:
    name: mlflow-prod
    application_name: mlflow
    state: absent
"""

RETURN = r"""
environment:
  description: The environment as DescribeEnvironments returns it (snake_case); empty when absent.
  returned: always
  type: dict
  contains:
    environment_name: {description: Its name., type: str, returned: when present}
    environment_id: {description: Its id., type: str, returned: when present, sample: e-abcdef1234}
    status: {description: Its status., type: str, returned: when present, sample: Ready}
    health: {description: Its health colour., type: str, returned: when present, sample: Green}
    cname: {description: Its CNAME., type: str, returned: when present}
    endpoint_url: {description: Its load balancer's DNS name (plain HTTP redirects to HTTPS there)., type: str, returned: when present}
    version_label: {description: The deployed version., type: str, returned: when present}
    platform_arn: {description: Its platform version., type: str, returned: when present}
    url: {description: The HTTPS address of its CNAME., type: str, returned: when present}
    tags: {description: Its tags (without the ones EB sets)., type: dict, returned: when present}
option_settings:
  description: The managed option settings as the environment has them (environment secrets' ARNs included).
  returned: when present
  type: list
  elements: dict
events:
  description: The ERROR events of the operation, when it failed.
  returned: on failure
  type: list
  elements: str
"""


from copy import deepcopy

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import common
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import environments
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import option_settings
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import platforms
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import waiters
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb.common import AnsibleEBError
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb.environments import ABSENT
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb.environments import EnvironmentState

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule


def validate(params):
    environments.validate_names(params["name"], params.get("cname_prefix"))
    return option_settings.desired_settings(params["option_settings"])


class Environment:
    """ensure_present / ensure_absent for one environment; each returns (changed, after), where
    after is the EnvironmentState predicted (check mode) or found once the change is made."""

    def __init__(self, client, params, check_mode, waiter):
        self.client = client
        self.params = params
        self.check_mode = check_mode
        self.waiter = waiter
        self.app = params["application_name"]
        self.name = params["name"]

    def describe(self, wait_terminating=True):
        """The EnvironmentState now. An environment on its way out counts as absent: once it is gone
        (waited for, unless in check mode or told not to)."""
        env = environments.describe_environment(self.client, self.app, self.name)
        if env is not None and env["Status"] == "Terminating":
            env = self.wait_gone() if wait_terminating and not self.check_mode else None
        return environments.describe_state(self.client, self.app, env)

    def wait_ready(self):
        return waiters.wait_for_environment(self.client, self.waiter, self.app, self.name, ("Ready",))

    def wait_gone(self):
        return waiters.wait_for_environment(self.client, self.waiter, self.app, self.name, (None,))

    def finish(self, request_id, since):
        """Waits for the operation's end; raises with its ERROR events if it failed."""
        env = self.wait_ready()
        errors = waiters.error_events(self.client, self.app, self.name, since=since, request_id=request_id)
        if errors:
            raise AnsibleEBError(
                "the operation on environment %s failed: %s" % (self.name, " | ".join(errors)), events=errors
            )
        return env

    def create(self, desired):
        params = self.params
        if not params.get("platform"):
            raise AnsibleEBError("platform: required to create environment %s" % self.name)
        request = {
            "ApplicationName": self.app,
            "EnvironmentName": self.name,
            "Tier": {"Name": params["tier"], "Type": "Standard" if params["tier"] == "WebServer" else "SQS/HTTP"},
            "OptionSettings": [option_settings.setting_item(key, value) for key, value in sorted(desired.items())],
        }
        request.update(platforms.resolve_platform(self.client, params["platform"]))
        for option, field in (
            ("version_label", "VersionLabel"),
            ("cname_prefix", "CNAMEPrefix"),
            ("description", "Description"),
        ):
            if params.get(option):
                request[field] = params[option]
        if params.get("tags"):
            request["Tags"] = ansible_dict_to_boto3_tag_list(params["tags"])
        if self.check_mode:
            fields = (
                "ApplicationName",
                "EnvironmentName",
                "VersionLabel",
                "Description",
                "PlatformArn",
                "SolutionStackName",
                "Tier",
            )
            predicted = {field: request[field] for field in fields if field in request}
            predicted["Status"] = "Launching"
            return True, EnvironmentState(predicted, dict(desired), dict(params.get("tags") or {}))
        since = common.utcnow()
        response = self.client.create_environment(aws_retry=True, **request)
        if params["wait"]:
            self.finish(response["ResponseMetadata"]["RequestId"], since)
        return True, self.describe()

    def changes(self, current, desired):
        """(the UpdateEnvironment request's fields, tags to set, tags to remove) from current to desired."""
        params, env = self.params, current.environment
        problems = option_settings.immutable_conflicts(desired, current.settings)
        if params["tier"] != env.get("Tier", {}).get("Name", "WebServer"):
            problems.append(
                "tier is %s and can't change after creation (asked: %s)" % (env["Tier"]["Name"], params["tier"])
            )
        cname = env.get("CNAME") or ""
        prefix = cname.split(".")[0]
        if (
            params.get("cname_prefix")
            and cname.endswith(".elasticbeanstalk.com")
            and prefix.lower() != params["cname_prefix"].lower()
        ):
            problems.append(
                "cname_prefix is %s and can't change after creation (asked: %s)" % (prefix, params["cname_prefix"])
            )
        if problems:
            raise AnsibleEBError("environment %s: %s" % (self.name, "; ".join(problems)))
        update = {}
        to_set, to_remove = option_settings.settings_changes(
            desired, current.settings, params["purge_option_namespaces"]
        )
        if to_set:
            update["OptionSettings"] = to_set
        if to_remove:
            update["OptionsToRemove"] = to_remove
        if params.get("version_label") and params["version_label"] != env.get("VersionLabel"):
            update["VersionLabel"] = params["version_label"]
        elif params["redeploy"] and (params.get("version_label") or env.get("VersionLabel")):
            update["VersionLabel"] = params.get("version_label") or env["VersionLabel"]
        if params.get("description") is not None and params["description"] != env.get("Description", ""):
            update["Description"] = params["description"]
        update.update(platforms.platform_drift(self.client, params.get("platform"), env))
        tags_to_set, tags_to_remove = {}, []
        if params.get("tags") is not None:
            tags_to_set, tags_to_remove = compare_aws_tags(current.tags, params["tags"], params["purge_tags"])
            tags_to_remove = [key for key in tags_to_remove if not environments.SYSTEM_TAG.match(key)]
        return update, tags_to_set, tags_to_remove

    def ensure_present(self, desired, current):
        if current.environment is None:
            return self.create(desired)
        env = current.environment
        update, tags_to_set, tags_to_remove = self.changes(current, desired)
        if not update and not tags_to_set and not tags_to_remove:
            if env["Status"] != "Ready" and self.params["wait"] and not self.check_mode:
                # An earlier run was interrupted mid-operation: let that operation finish.
                self.finish(None, env.get("DateUpdated"))
            return False, current
        if self.check_mode:
            return True, predict(current, update, tags_to_set, tags_to_remove)
        if env["Status"] != "Ready":
            env = self.wait_ready()
        if tags_to_set or tags_to_remove:
            self.client.update_tags_for_resource(
                ResourceArn=env["EnvironmentArn"],
                TagsToAdd=ansible_dict_to_boto3_tag_list(tags_to_set),
                TagsToRemove=tags_to_remove,
                aws_retry=True,
            )
        if update:
            since = common.utcnow()
            response = self.client.update_environment(
                ApplicationName=self.app, EnvironmentName=self.name, aws_retry=True, **update
            )
            if self.params["wait"]:
                self.finish(response["ResponseMetadata"]["RequestId"], since)
        return True, self.describe()

    def ensure_absent(self, current):
        """Terminates the environment described by current (from describe(), where one on its way
        out already counts as absent), and with wait waits until it is gone."""
        if current.environment is None:
            return False, ABSENT
        if self.check_mode:
            return True, ABSENT
        if current.environment["Status"] != "Ready":
            self.wait_ready()
        self.client.terminate_environment(EnvironmentName=self.name, aws_retry=True)
        if self.params["wait"]:
            self.wait_gone()
        return True, ABSENT


def predict(current, update, tags_to_set, tags_to_remove):
    """The EnvironmentState after the update (check mode, diff)."""
    env, settings, tags = deepcopy(current.environment), dict(current.settings), dict(current.tags)
    for item in update.get("OptionsToRemove", []):
        settings.pop(option_settings.option_key(item), None)
    for item in update.get("OptionSettings", []):
        settings[option_settings.option_key(item)] = item["Value"]
    for field in ("VersionLabel", "Description", "PlatformArn", "SolutionStackName"):
        if field in update:
            env[field] = update[field]
    for key in tags_to_remove:
        tags.pop(key, None)
    tags.update(tags_to_set)
    return EnvironmentState(env, settings, tags)


def diff_view(state, keys):
    if not state.environment:
        return {}
    return {
        "version_label": state.environment.get("VersionLabel"),
        "platform_arn": state.environment.get("PlatformArn"),
        "description": state.environment.get("Description", ""),
        "option_settings": option_settings.managed_view(state.settings, keys),
        "tags": state.tags,
    }


def main():
    argument_spec = dict(
        name=dict(required=True, aliases=["environment_name"]),
        application_name=dict(required=True),
        state=dict(choices=["present", "absent"], default="present"),
        platform=dict(),
        version_label=dict(),
        redeploy=dict(type="bool", default=False),
        tier=dict(choices=["WebServer", "Worker"], default="WebServer"),
        cname_prefix=dict(),
        description=dict(),
        option_settings=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                namespace=dict(required=True),
                option_name=dict(required=True),
                value=dict(default=""),
                resource_name=dict(),
            ),
        ),
        purge_option_namespaces=dict(
            type="list",
            elements="str",
            default=[option_settings.ENVIRONMENT_PROPERTIES, option_settings.ENVIRONMENT_SECRETS],
        ),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1800),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    client = module.client("elasticbeanstalk", retry_decorator=AWSRetry.jittered_backoff())
    manager = Environment(client, params, module.check_mode, waiters.Waiter(params["wait_timeout"]))
    try:
        desired = validate(params)
        before = manager.describe(wait_terminating=params["state"] == "present" or params["wait"])
        if params["state"] == "absent":
            changed, after = manager.ensure_absent(before)
        else:
            changed, after = manager.ensure_present(desired, before)
    except AnsibleEBError as error:
        common.fail(module, error)
    except (
        botocore.exceptions.ClientError,
        botocore.exceptions.BotoCoreError,
    ) as error:  # pylint: disable=duplicate-except
        module.fail_json_aws(error, msg="Elastic Beanstalk refused a call for environment %s" % params["name"])
    # What the user manages: the settings given, and those of the purged namespaces.
    purged = params["purge_option_namespaces"]
    keys = set(desired) | {key for key in list(before.settings) + list(after.settings) if key[0] in purged}
    result = {
        "changed": changed,
        "environment": environments.environment_view(after.environment, after.tags),
        "option_settings": option_settings.managed_view(after.settings, keys),
    }
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = {"before": diff_view(before, keys), "after": diff_view(after, keys)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()

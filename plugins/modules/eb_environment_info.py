#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: eb_environment_info
short_description: Describe Elastic Beanstalk environments
version_added: 0.1.0
description:
  - Describes the live (not terminated) environments of an application, or one of them, with their status,
    health, CNAME and URL, version, platform, tags, and optionally the option settings.
author:
  - mlflowops.beanstalk contributors (@mlflowops)
options:
  application_name:
    description: The application.
    required: true
    type: str
  name:
    description: Only this environment.
    type: str
    aliases: [environment_name]
  option_settings:
    description: Also return each environment's option settings (defaults included).
    type: bool
    default: false
  resources:
    description:
      - Also return each environment's resources (DescribeEnvironmentResources) as C(resources), for
        example its load balancer, whose name is its ARN for an application load balancer.
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
seealso:
  - module: mlflowops.beanstalk.eb_environment
  - name: DescribeEnvironments
    description: The Elastic Beanstalk API call behind this module.
    link: https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_DescribeEnvironments.html
"""

EXAMPLES = r"""
- name: Where is the tracking server, and how is it?
  mlflowops.beanstalk.eb_environment_info:
    application_name: mlflow
    name: mlflow-prod
  register: found

- name: Say it
  ansible.builtin.debug:
    msg: "{{ found.environments[0].url }} is {{ found.environments[0].health }}"
"""

RETURN = r"""
environments:
  description: >-
    The environments (snake_case), each with C(tags), C(url) when it has a CNAME, and C(option_settings) and
    C(resources) when asked.
  returned: always
  type: list
  elements: dict
"""


from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import common
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import environments
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import option_settings
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb.common import AnsibleEBError

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule


def describe(client, application, name, with_settings, with_resources=False):
    found = []
    for env in environments.describe_environments(client, application, [name] if name else None):
        item = environments.environment_view(
            env, environments.user_tags(environments.describe_tags(client, env["EnvironmentArn"]))
        )
        if with_settings:
            settings = environments.describe_settings(client, application, env["EnvironmentName"])
            item["option_settings"] = option_settings.managed_view(settings, settings)
        if with_resources:
            resources = client.describe_environment_resources(EnvironmentId=env["EnvironmentId"], aws_retry=True)[
                "EnvironmentResources"
            ]
            item["resources"] = camel_dict_to_snake_dict(resources)
        found.append(item)
    return found


def main():
    argument_spec = dict(
        application_name=dict(required=True),
        name=dict(aliases=["environment_name"]),
        option_settings=dict(type="bool", default=False),
        resources=dict(type="bool", default=False),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("elasticbeanstalk", retry_decorator=AWSRetry.jittered_backoff())
    try:
        environments = describe(
            client,
            module.params["application_name"],
            module.params["name"],
            module.params["option_settings"],
            module.params["resources"],
        )
    except AnsibleEBError as error:
        common.fail(module, error)
    except (
        botocore.exceptions.ClientError,
        botocore.exceptions.BotoCoreError,
    ) as error:  # pylint: disable=duplicate-except
        module.fail_json_aws(error, msg="Elastic Beanstalk refused to describe environments")
    module.exit_json(changed=False, environments=environments)


if __name__ == "__main__":
    main()

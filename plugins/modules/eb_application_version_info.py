#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: eb_application_version_info
short_description: Describe Elastic Beanstalk application versions
version_added: 0.1.0
description:
  - Describes an application's versions, or the ones named, with their labels, descriptions, source
    bundles and status, every page of them.
  - Read-only; the same in check mode.
author:
  - mlflowops.beanstalk contributors (@mlflowops)
options:
  application_name:
    description: The application.
    required: true
    type: str
  version_labels:
    description: Only these versions; all of them when empty. A label that doesn't exist is left out of the result.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
seealso:
  - module: mlflowops.beanstalk.eb_application_version
  - name: DescribeApplicationVersions
    description: The Elastic Beanstalk API call behind this module.
    link: https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_DescribeApplicationVersions.html
"""

EXAMPLES = r"""
- name: What does the running version hold?
  mlflowops.beanstalk.eb_application_version_info:
    application_name: mlflow
    version_labels: ["{{ found.environments[0].version_label }}"]
  register: running
"""

RETURN = r"""
application_versions:
  description: The versions (snake_case), newest first as Elastic Beanstalk lists them.
  returned: always
  type: list
  elements: dict
  contains:
    version_label: {description: Its label., type: str, sample: mlflow-3.17.2-0123456789ab}
    description: {description: Its description; empty when it has none., type: str, sample: MLflow 3.17.2}
    status: {description: Its status., type: str, sample: Processed}
    source_bundle:
      description: Where its bundle is.
      type: dict
      contains:
        s3_bucket: {description: The bucket., type: str}
        s3_key: {description: The key., type: str}
"""

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import common
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import versions
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb.common import AnsibleEBError


def describe(client, application, labels):
    """The versions (every page), each with a description, empty when it has none."""
    return [
        dict(camel_dict_to_snake_dict(version), description=version.get("Description", ""))
        for version in versions.describe_versions(client, application, labels)
    ]


def main():
    argument_spec = dict(
        application_name=dict(required=True),
        version_labels=dict(type="list", elements="str", default=[]),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("elasticbeanstalk")
    try:
        found = describe(client, module.params["application_name"], module.params["version_labels"])
    except AnsibleEBError as error:
        common.fail(module, error)
    module.exit_json(changed=False, application_versions=found)


if __name__ == "__main__":
    main()

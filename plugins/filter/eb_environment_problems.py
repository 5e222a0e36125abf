# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: eb_environment_problems
short_description: What the eb_environment module would refuse in an environment's name and settings
version_added: 0.1.0
author:
  - mlflowops.beanstalk contributors (@mlflowops)
description:
  - Checks an environment's name, CNAME prefix and option settings by the rules the
    M(mlflowops.beanstalk.eb_environment) module applies (the same code), without any call, so a
    playbook can refuse bad input before anything is created.
  - Returns the problems found, as the module's error messages; an empty list when there are none.
options:
  _input:
    description: The environment, as the module's options C(name), C(cname_prefix) and C(option_settings).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Check the environment's name and sizes before anything is created
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
  vars:
    _problems: >-
      {{ {'name': 'mlflow', 'option_settings': [
            {'namespace': 'aws:autoscaling:asg', 'option_name': 'MinSize', 'value': '2'},
            {'namespace': 'aws:autoscaling:asg', 'option_name': 'MaxSize', 'value': '4'}]}
         | mlflowops.beanstalk.eb_environment_problems }}
"""

RETURN = r"""
_value:
  description: The problems, each as the module's error message.
  type: list
  elements: str
"""

from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb.common import AnsibleEBError
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb.environments import validate_names
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb.option_settings import desired_settings


def eb_environment_problems(environment):
    problems = []
    for check in (
        lambda: validate_names(environment.get("name") or "", environment.get("cname_prefix")),
        lambda: desired_settings(environment.get("option_settings") or []),
    ):
        try:
            check()
        except AnsibleEBError as error:
            problems.append(error.message)
    return problems


class FilterModule:
    def filters(self):
        return {"eb_environment_problems": eb_environment_problems}

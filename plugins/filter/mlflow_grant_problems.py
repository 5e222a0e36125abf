# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: mlflow_grant_problems
short_description: What the mlflow_permissions module would refuse in a list of grants
version_added: 0.1.0
author:
  - mlflowops.beanstalk contributors (@mlflowops)
description:
  - Checks grants by the rules the M(mlflowops.beanstalk.mlflow_permissions) module applies (the same
    code), without any call, so a playbook can refuse bad input before anything is created.
  - Returns the problems found; an empty list when there are none.
options:
  _input:
    description: The grants, each C({user, experiment | registered_model, permission}).
    type: list
    elements: dict
    required: true
  users:
    description: The names of the server's users.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Check the grants before anything is created
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
  vars:
    _problems: "{{ [{'user': 'bob', 'experiment': 'churn', 'permission': 'EDIT'}] | mlflowops.beanstalk.mlflow_grant_problems(['alice', 'bob']) }}"
"""

RETURN = r"""
_value:
  description: The problems, each naming the grant's entry.
  type: list
  elements: str
"""

from ansible_collections.mlflowops.beanstalk.plugins.module_utils.grants import validate


def mlflow_grant_problems(grants, users):
    return validate(grants or [], users or [])


class FilterModule:
    def filters(self):
        return {"mlflow_grant_problems": mlflow_grant_problems}

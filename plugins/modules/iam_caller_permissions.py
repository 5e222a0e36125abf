#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: iam_caller_permissions
short_description: Check that the caller may do what a play needs, before it changes anything
version_added: 0.1.0
description:
  - Asks IAM's policy simulator (SimulatePrincipalPolicy) whether the caller's identity-based policies
    allow each action on each resource, and fails naming every action that isn't allowed, so a play
    lacking a permission stops before it leaves anything half-made.
  - The caller is the user, or the role of the assumed-role session, that the credentials belong to.
    The account's root user is allowed everything and isn't simulated.
  - The simulator needs C(iam:SimulatePrincipalPolicy) on the caller itself. Without it, or where a
    resource-based policy or an organisation's service control policy decides, the play learns of a
    missing permission from the call that needs it; the module then warns and returns C(simulated=false).
  - As the first call of a play, it fails with a plain message when AWS can't be reached at all.
  - Read-only; the same in check mode.
author:
  - mlflowops.beanstalk contributors (@mlflowops)
options:
  checks:
    description:
      - What the play needs. In resources, C({partition}), C({region}) and C({account}) are replaced by the
        caller's partition, the connection's region and the caller's account.
    required: true
    type: list
    elements: dict
    suboptions:
      actions:
        description: The actions, for example C(iam:PassRole).
        required: true
        type: list
        elements: str
      resources:
        description: The ARNs they act on; C(*) for actions that take none.
        type: list
        elements: str
        default: ["*"]
  purpose:
    description: What the play is about to do, for the error message.
    type: str
    default: this play
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
seealso:
  - name: SimulatePrincipalPolicy
    description: IAM's policy simulator API.
    link: https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
"""

EXAMPLES = r"""
- name: Check that the deployer may create the server's role and pass it to EC2
  mlflowops.beanstalk.iam_caller_permissions:
    purpose: deploy
    checks:
      - actions: [iam:CreateRole, iam:PassRole]
        resources: ["arn:{partition}:iam::{account}:role/mlflow-eb-instance"]
      - actions: [ec2:CreateSecurityGroup]
"""

RETURN = r"""
caller_arn:
  description: The caller's ARN, as GetCallerIdentity gives it.
  returned: always
  type: str
policy_source_arn:
  description: The user or role whose policies were simulated; empty for the root user.
  returned: always
  type: str
simulated:
  description: Whether the simulator answered (false for the root user, or when it refused or failed).
  returned: always
  type: bool
denied:
  description: What the caller may not do. The module fails when this isn't empty.
  returned: always
  type: list
  elements: dict
  contains:
    action:
      description: The action.
      type: str
    resource:
      description: The resource.
      type: str
    decision:
      description: C(implicitDeny) (no policy allows it) or C(explicitDeny).
      type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule


def policy_source(caller_arn):
    """The ARN whose policies decide for a caller: the user, or the role behind an assumed-role
    session; "" for the account's root user."""
    _arn, partition, service, _region, account, resource = caller_arn.split(":", 5)
    if service == "iam" and resource == "root":
        return ""
    if service == "sts" and resource.startswith("assumed-role/"):
        return "arn:%s:iam::%s:role/%s" % (partition, account, resource.split("/")[1])
    return caller_arn


def expand(resource, values):
    for name, value in values.items():
        resource = resource.replace("{%s}" % name, value)
    return resource


def simulate(client, source_arn, checks, values):
    """[{action, resource, decision}] of what isn't allowed."""
    denied = []
    paginator = client.get_paginator("simulate_principal_policy")
    for check in checks:
        for resource in check["resources"]:
            arn = expand(resource, values)
            found = paginator.paginate(
                PolicySourceArn=source_arn, ActionNames=check["actions"], ResourceArns=[arn]
            ).build_full_result()
            for result in found.get("EvaluationResults", []):
                if result["EvalDecision"] != "allowed":
                    denied.append(
                        {
                            "action": result["EvalActionName"],
                            "resource": result.get("EvalResourceName", arn),
                            "decision": result["EvalDecision"],
                        }
                    )
    return denied


def main():
    argument_spec = dict(
        checks=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                actions=dict(type="list", elements="str", required=True),
                resources=dict(type="list", elements="str", default=["*"]),
            ),
        ),
        purpose=dict(default="this play"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    retry = AWSRetry.jittered_backoff()
    try:
        caller_arn = module.client("sts", retry_decorator=retry).get_caller_identity(aws_retry=True)["Arn"]
    except botocore.exceptions.ConnectionError as error:
        # The first call of a play: say plainly that nothing answered (a wrong endpoint or
        # region, a proxy, or the local cloud not running), before any task depends on it.
        module.fail_json(
            msg="AWS could not be reached before %s (%s), so nothing was changed. Check the connection's "
            "endpoint, region and network." % (module.params["purpose"], error)
        )
    except (
        botocore.exceptions.ClientError,
        botocore.exceptions.BotoCoreError,
    ) as error:  # pylint: disable=duplicate-except
        module.fail_json_aws(error, msg="STS refused to say who the caller is")
    source_arn = policy_source(caller_arn)
    result = dict(changed=False, caller_arn=caller_arn, policy_source_arn=source_arn, simulated=False, denied=[])
    if not source_arn:
        module.exit_json(**result)
    values = {"partition": caller_arn.split(":")[1], "account": caller_arn.split(":")[4], "region": module.region or ""}
    client = module.client("iam", retry_decorator=retry)
    try:
        denied = simulate(client, source_arn, module.params["checks"], values)
    except is_boto3_error_code(["AccessDenied", "AccessDeniedException"]) as error:
        module.warn(
            "Permissions can't be checked before %s starts: %s. A missing permission will show in the call that needs it."
            % (module.params["purpose"], error.response["Error"].get("Message", error))
        )
        module.exit_json(**result)
    except (
        botocore.exceptions.ClientError,
        botocore.exceptions.BotoCoreError,
    ) as error:  # pylint: disable=duplicate-except
        module.fail_json_aws(error, msg="IAM's policy simulator failed")
    result.update(simulated=True, denied=denied)
    if denied:
        module.fail_json(
            msg="%s may not do what %s needs, so nothing was changed: %s. Give it docs/deployer-policy.json, or these "
            "permissions."
            % (
                caller_arn,
                module.params["purpose"],
                "; ".join("%s on %s (%s)" % (item["action"], item["resource"], item["decision"]) for item in denied),
            ),
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()

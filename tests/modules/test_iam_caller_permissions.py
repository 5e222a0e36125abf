"""iam_caller_permissions' logic with botocore's Stubber, no network."""

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.mlflowops.beanstalk.plugins.modules import iam_caller_permissions as module


@pytest.mark.parametrize("caller, source", [
    ("arn:aws:iam::123456789012:user/ops/deployer", "arn:aws:iam::123456789012:user/ops/deployer"),
    ("arn:aws-cn:sts::123456789012:assumed-role/Deployer/alice@example.com", "arn:aws-cn:iam::123456789012:role/Deployer"),
    ("arn:aws:iam::123456789012:root", ""),
])
def test_the_policies_that_decide_are_the_users_or_the_sessions_roles(caller, source):
    assert module.policy_source(caller) == source


def test_every_action_not_allowed_is_reported_with_its_resource():
    raw = boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(raw)
    source = "arn:aws:iam::123456789012:user/deployer"
    role = "arn:aws:iam::123456789012:role/mlflow-eb-instance"

    def result(action, resource, decision):
        return {"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": decision}

    stub.add_response("simulate_principal_policy",
                      {"EvaluationResults": [result("iam:CreateRole", role, "allowed"), result("iam:PassRole", role, "implicitDeny")],
                       "IsTruncated": False},
                      {"PolicySourceArn": source, "ActionNames": ["iam:CreateRole", "iam:PassRole"], "ResourceArns": [role]})
    stub.add_response("simulate_principal_policy", {"EvaluationResults": [result("ec2:CreateSecurityGroup", "*", "explicitDeny")],
                                                    "IsTruncated": False},
                      {"PolicySourceArn": source, "ActionNames": ["ec2:CreateSecurityGroup"], "ResourceArns": ["*"]})
    with stub:
        checks = [{"actions": ["iam:CreateRole", "iam:PassRole"], "resources": ["arn:{partition}:iam::{account}:role/mlflow-eb-instance"]},
                  {"actions": ["ec2:CreateSecurityGroup"], "resources": ["*"]}]
        denied = module.simulate(raw, source, checks, {"partition": "aws", "account": "123456789012", "region": "us-east-1"})
    stub.assert_no_pending_responses()
    assert denied == [{"action": "iam:PassRole", "resource": role, "decision": "implicitDeny"},
                      {"action": "ec2:CreateSecurityGroup", "resource": "*", "decision": "explicitDeny"}]

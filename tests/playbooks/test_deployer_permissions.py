"""The playbooks as a deployer holding docs/deployer-policy.json, and one lacking a permission."""

import json
from pathlib import Path

import boto3
import botocore.exceptions
import pytest

from test_deploy import recap

POLICY = json.loads((Path(__file__).resolve().parents[2] / "docs" / "deployer-policy.json").read_text())


def deployer(cloud, name, document):
    """An IAM user holding `document` as its only (managed) policy; its connection settings."""
    iam = cloud.client("iam")
    arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    iam.create_user(UserName=name)
    iam.attach_user_policy(UserName=name, PolicyArn=arn)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"endpoint_url": cloud.endpoint, "aws_ca_bundle": str(cloud.ca), "region": "us-east-1",
            "access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}


def without(document, action):
    statements = [dict(statement, Action=[name for name in statement["Action"] if name != action]) for statement in document["Statement"]]
    return dict(document, Statement=statements)


def test_the_deployer_policy_allows_what_each_playbook_checks_for(cloud, run_playbook):
    connection = deployer(cloud, "deployer", POLICY)
    result = run_playbook("tests/support/playbooks/permissions.yml",
                          {"mlflowops_aws_connection": connection, "permissions_for": ["deploy", "rotate", "teardown", "purge"]})
    assert recap(result)["failed"] == 0, result.stdout[-4000:]


def test_a_deployer_lacking_a_permission_is_stopped_before_anything_is_made(cloud, run_playbook):
    connection = deployer(cloud, "short-deployer", without(POLICY, "iam:PassRole"))
    result = run_playbook("deploy.yml", {"mlflowops_aws_connection": connection},
                          env={"LOCALCLOUD_PORT": str(cloud.port), "LOCALCLOUD_STATE_DIR": str(cloud.state_dir)})
    assert recap(result)["failed"] == 1
    assert "user/short-deployer may not do what deploy needs, so nothing was changed: iam:PassRole on " \
           "arn:aws:iam::123456789012:role/mlflow-eb-instance (implicitDeny)" in result.stdout, result.stdout[-4000:]
    assert [bucket["Name"] for bucket in cloud.client("s3").list_buckets()["Buckets"]] == []
    assert [role["RoleName"] for role in cloud.client("iam").list_roles()["Roles"]] == []
    # Without the preflight, AWS itself refuses the call, naming the action: the same local cloud
    # refuses the user's own call the way IAM does.
    iam = cloud.client("iam")
    iam.create_role(RoleName="mlflow-eb-instance", AssumeRolePolicyDocument=json.dumps(
        {"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    iam.create_instance_profile(InstanceProfileName="mlflow-eb-instance")
    as_user = boto3.client("iam", endpoint_url=cloud.endpoint, region_name="us-east-1", verify=str(cloud.ca),
                           aws_access_key_id=connection["access_key"], aws_secret_access_key=connection["secret_key"])
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        as_user.add_role_to_instance_profile(InstanceProfileName="mlflow-eb-instance", RoleName="mlflow-eb-instance")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert "is not authorized to perform: iam:PassRole on resource: arn:aws:iam::123456789012:role/mlflow-eb-instance" in \
        refused.value.response["Error"]["Message"]

"""The prerequisites role on the local cloud, outside the aws partition."""

import json

import botocore.exceptions
import pytest

from test_deploy import recap


def test_arns_are_built_in_the_callers_partition(cloud, run_playbook):
    # moto answers a China region from the aws-cn partition: there, AWS's managed policies and
    # every S3 resource are arn:aws-cn:..., and an arn:aws:... one does not exist.
    region = "cn-north-1"
    connection = {"endpoint_url": cloud.endpoint, "aws_ca_bundle": str(cloud.ca), "region": region, "access_key": "test", "secret_key": "test"}
    result = run_playbook("tests/support/playbooks/prerequisites.yml", {"mlflowops_aws_connection": connection, "prerequisites_db_multi_az": True},
                          env={"LOCALCLOUD_PORT": str(cloud.port), "LOCALCLOUD_STATE_DIR": str(cloud.state_dir)})
    assert recap(result)["failed"] == 0, result.stdout[-4000:]

    def client(service):
        return cloud.client(service, region)

    iam = client("iam")
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="mlflow-eb-instance")["AttachedPolicies"]]
    assert attached == ["arn:aws-cn:iam::aws:policy/AWSElasticBeanstalkWebTier"]
    service = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="mlflow-eb-service")["AttachedPolicies"]]
    assert service and all(arn.startswith("arn:aws-cn:iam::aws:policy/") for arn in service)
    inline = iam.get_role_policy(RoleName="mlflow-eb-instance", PolicyName="mlflow-artifacts-and-secrets")["PolicyDocument"]
    resources = [arn for statement in inline["Statement"]
                 for arn in ([statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"])]
    assert resources and all(arn.startswith("arn:aws-cn:") for arn in resources), resources
    # The instances may raise the metadata hop limit of their own environment's instances only.
    hop_limit = [statement for statement in inline["Statement"] if statement["Action"] == "ec2:ModifyInstanceMetadataOptions"]
    assert [statement["Resource"] for statement in hop_limit] == ["arn:aws-cn:ec2:%s:123456789012:instance/*" % region]
    assert hop_limit[0]["Condition"] == {"StringEquals": {"aws:ResourceTag/elasticbeanstalk:environment-name": "mlflow"}}
    # The database with a standby in a second zone, when asked for.
    assert client("rds").describe_db_instances(DBInstanceIdentifier="mlflow-db")["DBInstances"][0]["MultiAZ"] is True
    bucket_policy = json.loads(client("s3").get_bucket_policy(Bucket="mlflow-local-artifacts")["Policy"])
    assert all(arn.startswith("arn:aws-cn:s3:::") for statement in bucket_policy["Statement"] for arn in statement["Resource"])
    # The buckets take HTTPS only, from anyone: the same account's keys over plain HTTP are refused.
    client("s3").put_object(Bucket="mlflow-local-artifacts", Key="mlflow/probe", Body=b"over TLS")
    plain = cloud.client("s3", region, tls=False)
    for call in (lambda: plain.get_object(Bucket="mlflow-local-artifacts", Key="mlflow/probe"),
                 lambda: plain.put_object(Bucket="mlflow-local-bundles", Key="probe", Body=b"plain")):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "AccessDenied"

"""The local cloud's IAM check of the instances' calls (localcloud/iamcheck.py): what each request
asks for, and how policies decide it, as AWS's evaluation logic does."""

import io
import json
import re

import pytest

from localcloud import iamcheck

BUCKET = "arn:aws:s3:::artifacts"
POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET, "Condition": {"StringLike": {"s3:prefix": ["mlflow", "mlflow/*"]}}},
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": BUCKET + "/mlflow/*"},
    {"Effect": "Allow", "Action": "ec2:ModifyInstanceMetadataOptions", "Resource": "arn:aws:ec2:us-east-1:123456789012:instance/*",
     "Condition": {"StringEquals": {"aws:ResourceTag/elasticbeanstalk:environment-name": "mlflow"}}},
]}
TLS_ONLY = {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [BUCKET, BUCKET + "/*"],
                           "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}


@pytest.mark.parametrize("action, resource, context, outcome", [
    ("s3:GetObject", BUCKET + "/mlflow/1/a.txt", {}, "allow"),
    ("s3:getobject", BUCKET + "/mlflow/1/a.txt", {}, "allow"),  # actions are case-insensitive
    ("s3:GetObject", BUCKET + "/other/a.txt", {}, "no identity-based policy allows"),
    ("s3:DeleteObject", BUCKET + "/mlflow/1/a.txt", {}, "no identity-based policy allows"),
    ("s3:ListBucket", BUCKET, {"s3:prefix": "mlflow/1/"}, "allow"),
    ("s3:ListBucket", BUCKET, {"s3:prefix": "secrets/"}, "no identity-based policy allows"),
    ("s3:ListBucket", BUCKET, {}, "no identity-based policy allows"),  # a missing key fails a StringLike
    ("ec2:ModifyInstanceMetadataOptions", "arn:aws:ec2:us-east-1:123456789012:instance/i-1",
     {"aws:ResourceTag/elasticbeanstalk:environment-name": "mlflow"}, "allow"),
    ("ec2:ModifyInstanceMetadataOptions", "arn:aws:ec2:us-east-1:123456789012:instance/i-2",
     {"aws:ResourceTag/elasticbeanstalk:environment-name": "another"}, "no identity-based policy allows"),
    ("ec2:ModifyInstanceMetadataOptions", "arn:aws:ec2:us-east-1:123456789012:instance/i-3", {}, "no identity-based policy allows"),
])
def test_identity_policies_decide(action, resource, context, outcome):
    assert outcome in iamcheck.decide([POLICY], action, resource, context)


def test_a_deny_in_the_bucket_policy_wins_and_applies_only_when_its_condition_holds():
    resource = BUCKET + "/mlflow/1/a.txt"
    assert "explicit deny in a resource-based policy" in iamcheck.decide([POLICY], "s3:PutObject", resource, {"aws:SecureTransport": "false"},
                                                                         [TLS_ONLY])
    assert iamcheck.decide([POLICY], "s3:PutObject", resource, {"aws:SecureTransport": "true"}, [TLS_ONLY]) == "allow"
    # An Allow in a bucket policy grants nothing here (stricter than AWS within one account).
    grant = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:DeleteObject", "Resource": BUCKET + "/*"}]}
    assert iamcheck.decide([POLICY], "s3:DeleteObject", resource, {}, [grant]) != "allow"


def test_what_cant_be_evaluated_counts_against_the_caller():
    unknown = {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020"}}}]}
    assert iamcheck.decide([unknown], "s3:GetObject", BUCKET + "/x", {"aws:CurrentTime": "2030"}) != "allow"
    deny = {"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020"}}}]}
    assert "explicit deny" in iamcheck.decide([POLICY, deny], "s3:GetObject", BUCKET + "/mlflow/x", {})
    # ...IfExists passes on a missing key, NotAction excludes.
    if_exists = {"Statement": [{"Effect": "Allow", "NotAction": "s3:Delete*", "Resource": "*",
                                "Condition": {"StringEqualsIfExists": {"s3:prefix": "mlflow/"}}}]}
    assert iamcheck.decide([if_exists], "s3:GetObject", BUCKET + "/x", {}) == "allow"
    assert iamcheck.decide([if_exists], "s3:DeleteObject", BUCKET + "/x", {}) != "allow"


def environ(method, path, query="", body=b"", content_type="", target=None, service="s3", scheme="https"):
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "CONTENT_TYPE": content_type,
           "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": scheme,
           "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261201/us-east-1/%s/aws4_request, Signature=x" % service}
    if target:
        env["HTTP_X_AMZ_TARGET"] = target
    return env


@pytest.mark.parametrize("method, path, query, body, expected", [
    ("GET", "/artifacts/mlflow/a.txt", "", b"", [("s3:GetObject", BUCKET + "/mlflow/a.txt", {})]),
    ("HEAD", "/artifacts/mlflow/a.txt", "", b"", [("s3:GetObject", BUCKET + "/mlflow/a.txt", {})]),
    ("GET", "/artifacts/mlflow/a.txt", "response-content-disposition=attachment", b"", [("s3:GetObject", BUCKET + "/mlflow/a.txt", {})]),
    ("PUT", "/artifacts/mlflow/a.txt", "response-content-disposition=attachment", b"", None),
    ("PUT", "/artifacts/mlflow/a.txt", "", b"", [("s3:PutObject", BUCKET + "/mlflow/a.txt", {})]),
    ("POST", "/artifacts/mlflow/big", "uploads", b"", [("s3:PutObject", BUCKET + "/mlflow/big", {})]),
    ("PUT", "/artifacts/mlflow/big", "partNumber=2&uploadId=u", b"", [("s3:PutObject", BUCKET + "/mlflow/big", {})]),
    ("DELETE", "/artifacts/mlflow/big", "uploadId=u", b"", [("s3:AbortMultipartUpload", BUCKET + "/mlflow/big", {})]),
    ("GET", "/artifacts/mlflow/big", "uploadId=u", b"", [("s3:ListMultipartUploadParts", BUCKET + "/mlflow/big", {})]),
    ("DELETE", "/artifacts/mlflow/a.txt", "", b"", [("s3:DeleteObject", BUCKET + "/mlflow/a.txt", {})]),
    ("GET", "/artifacts", "list-type=2&prefix=mlflow%2F1%2F&delimiter=%2F", b"", [("s3:ListBucket", BUCKET, {"s3:prefix": "mlflow/1/"})]),
    ("POST", "/artifacts", "delete", b"<Delete><Object><Key>mlflow/a</Key></Object><Object><Key>x/b</Key></Object></Delete>",
     [("s3:DeleteObject", BUCKET + "/mlflow/a", {}), ("s3:DeleteObject", BUCKET + "/x/b", {})]),
    ("PUT", "/artifacts/mlflow/a.txt", "retention", b"", None),  # a request the check can't name: refused
    ("PUT", "/artifacts/mlflow/a.txt", "tagging", b"", [("s3:PutObjectTagging", BUCKET + "/mlflow/a.txt", {})]),
    ("DELETE", "/artifacts/mlflow/a.txt", "versionId=v1", b"", [("s3:DeleteObjectVersion", BUCKET + "/mlflow/a.txt", {})]),
    ("POST", "/artifacts", "delete", b"<Delete><Object><Key>a</Key><VersionId>v1</VersionId></Object></Delete>",
     [("s3:DeleteObjectVersion", BUCKET + "/a", {})]),
    # The deployer's bucket calls: configuration read and written as its own action; a DELETE of one as its Put.
    ("PUT", "/artifacts", "", b"", [("s3:CreateBucket", BUCKET, {})]),
    ("DELETE", "/artifacts", "", b"", [("s3:DeleteBucket", BUCKET, {})]),
    ("GET", "/artifacts", "versioning", b"", [("s3:GetBucketVersioning", BUCKET, {})]),
    ("PUT", "/artifacts", "policy", b"", [("s3:PutBucketPolicy", BUCKET, {})]),
    ("DELETE", "/artifacts", "lifecycle", b"", [("s3:PutLifecycleConfiguration", BUCKET, {})]),
    ("GET", "/artifacts", "versions&prefix=a", b"", [("s3:ListBucketVersions", BUCKET, {})]),
    ("DELETE", "/artifacts", "versioning", b"", None),
])
def test_s3_requests_name_their_actions_and_resources(method, path, query, body, expected):
    request = iamcheck.Request(environ(method, path, query, body), body)
    assert request.checks(lambda instance_id: {}) == expected


def test_other_services_name_the_resource_and_its_tags():
    body = b"Action=ModifyInstanceMetadataOptions&Version=2016-11-15&InstanceId=i-0abc&HttpPutResponseHopLimit=2"
    request = iamcheck.Request(environ("POST", "/", body=body, content_type="application/x-www-form-urlencoded", service="ec2"), body)
    assert request.checks(lambda instance_id: {"Name": instance_id}) == [
        ("ec2:ModifyInstanceMetadataOptions", "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc", {"aws:ResourceTag/Name": "i-0abc"})]
    body = json.dumps({"SecretId": "mlflow/flask-secret-key"}).encode()
    request = iamcheck.Request(environ("POST", "/", body=body, content_type="application/x-amz-json-1.1",
                                       target="secretsmanager.GetSecretValue", service="secretsmanager"), body)
    assert request.checks(lambda instance_id: {}) == [
        ("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:123456789012:secret:mlflow/flask-secret-key-*", {})]


def test_the_middleware_refuses_in_the_services_own_words_and_applies_bucket_policies_to_everyone():
    seen = []

    def app(env, start_response):
        seen.append(env["PATH_INFO"])
        start_response("200 OK", [])
        return [b"ok"]

    authorizer = iamcheck.Authorizer(app, lambda key: ("arn:aws:iam::123456789012:role/r", "i-1") if key == "ASIAEXAMPLE" else None,
                                     lambda role: [POLICY], lambda bucket: TLS_ONLY, lambda instance_id: {})
    statuses = []

    def start_response(status, headers):
        statuses.append(status)

    body = b"".join(authorizer(environ("PUT", "/artifacts/other/a.txt"), start_response))
    assert statuses[-1].startswith("403") and b"<Code>AccessDenied</Code>" in body
    assert b"assumed-role/r/i-1 is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::artifacts/other/a.txt" in body
    assert seen == []
    assert b"".join(authorizer(environ("PUT", "/artifacts/mlflow/a.txt"), start_response)) == b"ok" and statuses[-1] == "200 OK"
    # Over plain HTTP the bucket's TLS-only statement refuses what the role allows.
    body = b"".join(authorizer(environ("PUT", "/artifacts/mlflow/a.txt", scheme="http"), start_response))
    assert statuses[-1].startswith("403") and b"with an explicit deny in a resource-based policy" in body

    def deployer(*args, **kwargs):
        request = environ(*args, **kwargs)
        request["HTTP_AUTHORIZATION"] = request["HTTP_AUTHORIZATION"].replace("ASIAEXAMPLE", "AKIADEPLOYER")
        return b"".join(authorizer(request, start_response))

    # The account's root: its own permissions are everything, the bucket's Deny statements
    # apply, on requests the check can't name too (an object's retention, here).
    assert deployer("DELETE", "/artifacts/other/a.txt") == b"ok" and statuses[-1] == "200 OK"
    for method, path, query in (("DELETE", "/artifacts/other/a.txt", ""), ("PUT", "/artifacts", "policy"),
                                ("PUT", "/artifacts/a.txt", "retention")):
        body = deployer(method, path, query, scheme="http")
        assert statuses[-1].startswith("403") and b"123456789012:root is not authorized" in body, body
    assert deployer("POST", "/", body=b"Action=TerminateInstances&InstanceId.1=i-9", content_type="application/x-www-form-urlencoded",
                    service="ec2", scheme="http") == b"ok"
    ec2 = environ("POST", "/", body=b"Action=TerminateInstances&InstanceId.1=i-9", content_type="application/x-www-form-urlencoded", service="ec2")
    body = b"".join(authorizer(ec2, start_response))
    assert statuses[-1].startswith("403") and b"<Code>UnauthorizedOperation</Code>" in body


def test_a_presigned_url_is_checked_as_its_signer():
    query = ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLE%2F20261201%2Feu-west-1%2Fs3%2Faws4_request"
             "&X-Amz-Date=20261201T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=abc&partNumber=1&uploadId=u")
    request = environ("PUT", "/artifacts/mlflow/big", query)
    del request["HTTP_AUTHORIZATION"]
    assert iamcheck.credential_scope(request) == ["ASIAEXAMPLE", "20261201", "eu-west-1", "s3", "aws4_request"]
    assert iamcheck.Request(request, b"").checks(lambda instance_id: {}) == [("s3:PutObject", BUCKET + "/mlflow/big", {})]


def _form(action, service, **params):
    body = "&".join("%s=%s" % (name, value) for name, value in dict(Action=action, **params).items()).encode()
    return environ("POST", "/", body=body, content_type="application/x-www-form-urlencoded", service=service), body


def test_iam_and_rds_requests_name_the_resource_and_passing_a_role_needs_pass_role():
    env, body = _form("AddRoleToInstanceProfile", "iam", InstanceProfileName="mlflow-eb-instance", RoleName="mlflow-eb-instance")
    assert iamcheck.Request(env, body).checks(lambda instance_id: {}) == [
        ("iam:AddRoleToInstanceProfile", "arn:aws:iam::123456789012:instance-profile/mlflow-eb-instance", {}),
        ("iam:PassRole", "arn:aws:iam::123456789012:role/mlflow-eb-instance", {})]
    env, body = _form("DeleteDBInstance", "rds", DBInstanceIdentifier="mlflow-db")
    assert iamcheck.Request(env, body).checks(lambda instance_id: {}) == [("rds:DeleteDBInstance", "arn:aws:rds:us-east-1:123456789012:db:mlflow-db", {})]
    # An environment's instance profile and service role are passed to EC2 and Elastic Beanstalk,
    # and Elastic Beanstalk builds it with the caller's own permissions.
    settings = {"OptionSettings.member.1.Namespace": "aws:autoscaling:launchconfiguration", "OptionSettings.member.1.OptionName": "IamInstanceProfile",
                "OptionSettings.member.1.Value": "mlflow-eb-instance", "OptionSettings.member.2.Namespace": "aws:elasticbeanstalk:environment",
                "OptionSettings.member.2.OptionName": "ServiceRole", "OptionSettings.member.2.Value": "mlflow-eb-service"}
    env, body = _form("CreateEnvironment", "elasticbeanstalk", ApplicationName="mlflow", EnvironmentName="prod", **settings)
    checks = iamcheck.Request(env, body, lambda profile: ["arn:aws:iam::123456789012:role/" + profile]).checks(lambda instance_id: {})
    assert checks[0] == ("elasticbeanstalk:CreateEnvironment", "arn:aws:elasticbeanstalk:us-east-1:123456789012:environment/mlflow/prod", {})
    assert ("iam:PassRole", "arn:aws:iam::123456789012:role/mlflow-eb-instance", {"iam:PassedToService": "ec2.amazonaws.com"}) in checks
    assert ("iam:PassRole", "arn:aws:iam::123456789012:role/mlflow-eb-service", {"iam:PassedToService": "elasticbeanstalk.amazonaws.com"}) in checks
    assert ("cloudformation:CreateStack", "arn:aws:cloudformation:us-east-1:123456789012:stack/awseb-*", {}) in checks
    assert ("s3:PutObject", "arn:aws:s3:::elasticbeanstalk-us-east-1-123456789012/*", {}) in checks


def test_an_iam_users_calls_are_checked_against_its_policies_and_a_missing_action_is_named():
    seen = []

    def app(env, start_response):
        seen.append(env["PATH_INFO"])
        start_response("200 OK", [])
        return [b"ok"]

    deployer_policy = {"Statement": [
        {"Effect": "Allow", "Action": ["rds:DescribeDBInstances", "iam:GetRole"], "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:GetBucketVersioning", "Resource": "arn:aws:s3:::artifacts"}]}
    authorizer = iamcheck.Authorizer(app, lambda key: None, lambda role: [], lambda bucket: None, lambda instance_id: {},
                                     user_of_key=lambda key: ("arn:aws:iam::123456789012:user/deployer", [deployer_policy])
                                     if key == "ASIAEXAMPLE" else None)
    statuses = []

    def start_response(status, headers):
        statuses.append(status)

    def call(env):
        return b"".join(authorizer(env, start_response))

    assert call(_form("DescribeDBInstances", "rds")[0]) == b"ok"
    assert call(environ("GET", "/artifacts", "versioning")) == b"ok"
    body = call(environ("GET", "/other", "versioning"))
    assert statuses[-1].startswith("403") and b"user/deployer is not authorized to perform: s3:GetBucketVersioning on resource: " \
        b"arn:aws:s3:::other" in body
    body = call(_form("DeleteDBInstance", "rds", DBInstanceIdentifier="mlflow-db")[0])
    assert statuses[-1].startswith("403") and b"<Code>AccessDenied</Code>" in body and b"perform: rds:DeleteDBInstance" in body
    # What the check can't name is refused for a user too.
    body = call(environ("PUT", "/artifacts/a.txt", "retention"))
    assert statuses[-1].startswith("403") and b"can't tell which action" in body
    assert seen == ["/", "/artifacts"]


def test_policy_variables_and_the_policy_simulator():
    own = {"Statement": [{"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "arn:aws:iam::*:user/${aws:username}"},
                         {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
                         {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/secret"}]}
    assert iamcheck.decide([own], "iam:SimulatePrincipalPolicy", "arn:aws:iam::123456789012:user/d", {"aws:username": "d"}) == "allow"
    assert iamcheck.decide([own], "iam:SimulatePrincipalPolicy", "arn:aws:iam::123456789012:user/e", {"aws:username": "d"}) != "allow"
    # A variable the request doesn't carry matches nothing.
    assert iamcheck.decide([own], "iam:SimulatePrincipalPolicy", "arn:aws:iam::123456789012:user/d", {}) != "allow"
    user = "arn:aws:iam::123456789012:user/d"
    authorizer = iamcheck.Authorizer(lambda env, start_response: [b"moto"], lambda key: None, lambda role: [], lambda bucket: None,
                                     lambda instance_id: {}, user_of_key=lambda key: (user, [own]) if key == "ASIAEXAMPLE" else None,
                                     principal_documents=lambda arn: [own] if arn == user else None)
    statuses = []
    env, _body = _form("SimulatePrincipalPolicy", "iam", PolicySourceArn=user, **{
        "ActionNames.member.1": "s3:GetObject", "ActionNames.member.2": "s3:PutObject", "ResourceArns.member.1": "arn:aws:s3:::b/secret",
        "ResourceArns.member.2": "arn:aws:s3:::b/open"})
    body = b"".join(authorizer(env, lambda status, headers: statuses.append(status)))
    assert statuses == ["200 OK"]
    decisions = [(m.group(1), m.group(2), m.group(3)) for m in re.finditer(
        rb"<EvalActionName>(.*?)</EvalActionName><EvalResourceName>(.*?)</EvalResourceName><EvalDecision>(.*?)</EvalDecision>", body)]
    assert decisions == [(b"s3:GetObject", b"arn:aws:s3:::b/secret", b"explicitDeny"), (b"s3:GetObject", b"arn:aws:s3:::b/open", b"allowed"),
                         (b"s3:PutObject", b"arn:aws:s3:::b/secret", b"implicitDeny"), (b"s3:PutObject", b"arn:aws:s3:::b/open", b"implicitDeny")]
    # Simulating someone else needs the permission on them.
    env, _body = _form("SimulatePrincipalPolicy", "iam", PolicySourceArn="arn:aws:iam::123456789012:user/admin", **{"ActionNames.member.1": "s3:GetObject"})
    body = b"".join(authorizer(env, lambda status, headers: statuses.append(status)))
    assert statuses[-1].startswith("403") and b"perform: iam:SimulatePrincipalPolicy on resource: arn:aws:iam::123456789012:user/admin" in body


@pytest.mark.parametrize("action, params, resource", [
    ("CreateApplication", {"ApplicationName": "mlflow"}, "application/mlflow"),
    ("CreateApplicationVersion", {"ApplicationName": "mlflow", "VersionLabel": "v1"}, "applicationversion/mlflow/v1"),
    ("UpdateEnvironment", {"ApplicationName": "mlflow", "EnvironmentName": "prod"}, "environment/mlflow/prod"),
    # Named by the environment alone: its application is looked up.
    ("TerminateEnvironment", {"EnvironmentName": "prod"}, "environment/mlflow/prod"),
    ("TerminateEnvironment", {"EnvironmentId": "e-123"}, "environment/mlflow/prod"),
    ("DescribeEnvironments", {"ApplicationName": "mlflow"}, "*"),
])
def test_elastic_beanstalk_changes_name_their_application_version_or_environment(action, params, resource):
    env, body = _form(action, "elasticbeanstalk", **params)
    request = iamcheck.Request(env, body, eb_environment=lambda region, name: ("mlflow", "prod") if name in ("prod", "e-123") else None)
    expected = resource if resource == "*" else "arn:aws:elasticbeanstalk:us-east-1:123456789012:" + resource
    assert request.checks(lambda instance_id: {})[0] == ("elasticbeanstalk:" + action, expected, {})

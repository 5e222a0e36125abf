"""IAM enforced on what the instances and IAM users do, as AWS enforces it.

moto authorises every call unless told to check all of them, and then it ignores most of a
policy's conditions and resources (an Allow with any condition becomes a Deny). The local
cloud's deployed apps and hooks sign with their instance profile's credentials (handed out by
`localcloud.imds`), and a deployer with an IAM user's access key, so their calls are checked
here, before moto sees them, against the instance role's or the user's policies (inline and
attached, its groups' too, AWS managed ones included) and, for S3, the bucket's policy:
allowed only when an Allow statement matches the action, the resource and its conditions and
no Deny does, as in
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
What can't be evaluated here counts against the caller: a condition operator or key this module
doesn't know never satisfies an Allow and always satisfies a Deny, and a request whose action
it can't name is refused. The account's root credentials (the local cloud's own, "localcloud")
are allowed everything but a bucket policy's Deny, which applies to every caller.

The actions and resources of the calls instances make (AWS's service authorization reference):
  S3 objects: GetObject (GET/HEAD), PutObject (PUT, and the multipart upload's create, parts and
  complete), DeleteObject (DELETE, and each key of DeleteObjects), AbortMultipartUpload,
  ListMultipartUploadParts; buckets: ListBucket (with the s3:prefix key),
  ListBucketMultipartUploads, GetBucketLocation;
  other services: the Action parameter or X-Amz-Target, on the resource the request names
  (an EC2 instance with its tags as aws:ResourceTag/<key>, a secret's ARN, an IAM role,
  instance profile, policy or user, an RDS database, snapshot or subnet group), else "*";
  and what AWS checks besides (`Request._dependent_checks`: iam:PassRole, and what Elastic
  Beanstalk does with the caller's permissions).
"""

import io
import json
import re
from urllib.parse import parse_qs, unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from moto.utilities.utils import get_partition

ACCOUNT = "123456789012"
# The query parameters of ListObjects(V2) and HeadBucket: nothing else on a bucket is a listing.
_LIST_PARAMETERS = {"list-type", "prefix", "delimiter", "max-keys", "continuation-token", "start-after", "marker", "encoding-type",
                    "fetch-owner"}

# What Elastic Beanstalk does with the caller's own permissions when asked to build, change or
# remove an environment (its CloudFormation stack, Auto Scaling group, launch template, load
# balancer, security groups, alarms and its own S3 bucket). AWS names the services, not the
# actions; these are the actions those resources are made and changed with.
_EB_READS = ("cloudformation:DescribeStacks", "cloudformation:DescribeStackResource", "cloudformation:DescribeStackResources",
             "cloudformation:GetTemplate", "autoscaling:DescribeAutoScalingGroups", "elasticloadbalancing:DescribeLoadBalancers",
             "elasticloadbalancing:DescribeTargetGroups", "ec2:DescribeInstances", "ec2:DescribeSecurityGroups", "s3:GetObject")
EB_ON_BEHALF = {
    "elasticbeanstalk:CreateEnvironment": _EB_READS + (
        "cloudformation:CreateStack", "autoscaling:CreateAutoScalingGroup", "ec2:CreateLaunchTemplate", "ec2:RunInstances",
        "ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupIngress", "elasticloadbalancing:CreateLoadBalancer",
        "elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:CreateListener", "cloudwatch:PutMetricAlarm",
        "s3:CreateBucket", "s3:PutObject"),
    "elasticbeanstalk:UpdateEnvironment": _EB_READS + (
        "cloudformation:UpdateStack", "autoscaling:UpdateAutoScalingGroup", "autoscaling:SuspendProcesses",
        "autoscaling:ResumeProcesses", "ec2:CreateLaunchTemplateVersion", "ec2:RunInstances", "ec2:TerminateInstances",
        "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:RegisterTargets",
        "elasticloadbalancing:DeregisterTargets", "cloudwatch:PutMetricAlarm", "s3:PutObject"),
    "elasticbeanstalk:TerminateEnvironment": _EB_READS + (
        "cloudformation:DeleteStack", "autoscaling:DeleteAutoScalingGroup", "ec2:DeleteLaunchTemplate", "ec2:TerminateInstances",
        "ec2:DeleteSecurityGroup", "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:DeleteTargetGroup",
        "cloudwatch:DeleteAlarms"),
}

# S3's bucket subresources: {query parameter: (action for GET/HEAD, for PUT/POST, for DELETE)}.
# A DELETE of a configuration is authorised as its Put (AWS's service authorization reference).
_BUCKET_SUBRESOURCES = {
    "versioning": ("s3:GetBucketVersioning", "s3:PutBucketVersioning", None),
    "policy": ("s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"),
    "policyStatus": ("s3:GetBucketPolicyStatus", None, None),
    "encryption": ("s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration", "s3:PutEncryptionConfiguration"),
    "publicAccessBlock": ("s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
    "lifecycle": ("s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration", "s3:PutLifecycleConfiguration"),
    "tagging": ("s3:GetBucketTagging", "s3:PutBucketTagging", "s3:PutBucketTagging"),
    "acl": ("s3:GetBucketAcl", "s3:PutBucketAcl", None),
    "ownershipControls": ("s3:GetBucketOwnershipControls", "s3:PutBucketOwnershipControls", "s3:PutBucketOwnershipControls"),
    "requestPayment": ("s3:GetBucketRequestPayment", "s3:PutBucketRequestPayment", None),
    "object-lock": ("s3:GetBucketObjectLockConfiguration", "s3:PutBucketObjectLockConfiguration", None),
    "accelerate": ("s3:GetAccelerateConfiguration", "s3:PutAccelerateConfiguration", None),
    "cors": ("s3:GetBucketCORS", "s3:PutBucketCORS", "s3:PutBucketCORS"),
    "website": ("s3:GetBucketWebsite", "s3:PutBucketWebsite", "s3:DeleteBucketWebsite"),
    "logging": ("s3:GetBucketLogging", "s3:PutBucketLogging", None),
    "notification": ("s3:GetBucketNotification", "s3:PutBucketNotification", None),
    "replication": ("s3:GetReplicationConfiguration", "s3:PutReplicationConfiguration", "s3:PutReplicationConfiguration"),
    "versions": ("s3:ListBucketVersions", None, None),
    "inventory": ("s3:GetInventoryConfiguration", "s3:PutInventoryConfiguration", "s3:PutInventoryConfiguration"),
    "metrics": ("s3:GetMetricsConfiguration", "s3:PutMetricsConfiguration", "s3:PutMetricsConfiguration"),
    "analytics": ("s3:GetAnalyticsConfiguration", "s3:PutAnalyticsConfiguration", "s3:PutAnalyticsConfiguration"),
    "intelligent-tiering": ("s3:GetIntelligentTieringConfiguration", "s3:PutIntelligentTieringConfiguration",
                            "s3:PutIntelligentTieringConfiguration"),
}
# An object's subresources, the same way.
_OBJECT_SUBRESOURCES = {
    "tagging": ("s3:GetObjectTagging", "s3:PutObjectTagging", "s3:DeleteObjectTagging"),
    "acl": ("s3:GetObjectAcl", "s3:PutObjectAcl", None),
    "attributes": ("s3:GetObjectAttributes", None, None),
}


def _subresource_action(table, query, method):
    """The action of a request on one of `table`'s subresources; "" when it names none, None if unknown."""
    named = [name for name in query if name in table]
    if not named:
        return ""
    get, put, delete = table[named[0]]
    return {"GET": get, "HEAD": get, "PUT": put, "POST": put, "DELETE": delete}.get(method)


def credential_scope(environ):
    """A SigV4-signed request's credential scope: [access key id, date, region, service,
    "aws4_request"], from its Authorization header or, for a presigned URL, its query; [] when
    it isn't signed that way."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" in authorization:
        return authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
    presigned = parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential")
    return presigned[0].split("/") if presigned else []


def peek_body(environ):
    """The request's body, read here and put back for whatever reads it next."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    return body


class Request:
    """What a signed request asks for: action(s) on resource(s), with condition keys."""

    def __init__(self, environ, body, roles_of=lambda profile: [], eb_environment=lambda region, name_or_id: None):
        """`roles_of(instance profile name or ARN)`: the ARNs of its roles; `eb_environment(region,
        environment name or id)`: (application name, environment name) of a live environment, or None."""
        self.roles_of = roles_of
        self.eb_environment = eb_environment
        self.environ = environ
        self.body = body
        scope = credential_scope(environ)
        self.region = scope[2] if len(scope) > 2 else "us-east-1"
        self.service = scope[3] if len(scope) > 3 else "s3"
        self.partition = get_partition(self.region)
        # A presigned URL's signature parameters are not part of what it asks for.
        self.query = {name: values for name, values in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()
                      if not name.lower().startswith("x-amz-") and name not in ("AWSAccessKeyId", "Signature", "Expires")}
        self.form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True) \
            if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", "") else {}
        self.secure = environ.get("wsgi.url_scheme") == "https"

    def param(self, name):
        values = self.form.get(name) or self.query.get(name)
        return values[0] if values else None

    def checks(self, resource_tags):
        """[(action, resource ARN, {condition key: value})] that must all be allowed; None if unknown."""
        if self.service == "s3":
            return self._s3_checks()
        target = self.environ.get("HTTP_X_AMZ_TARGET")
        action = target.rsplit(".", 1)[-1] if target else self.param("Action")
        if not action:
            return None
        action = "%s:%s" % (self.service, action)
        context = {}
        resource = "*"
        instance_id = self.param("InstanceId") or self.param("InstanceId.1")
        if self.service == "ec2" and instance_id:
            resource = "arn:%s:ec2:%s:%s:instance/%s" % (self.partition, self.region, ACCOUNT, instance_id)
            context.update({"aws:ResourceTag/" + key: value for key, value in resource_tags(instance_id).items()})
        if target and self.service == "secretsmanager":
            try:
                body = json.loads(self.body or b"{}")
            except ValueError:
                body = {}
            secret = body.get("SecretId") or body.get("Name") or ""
            if secret:
                resource = secret if secret.startswith("arn:") else "arn:%s:secretsmanager:%s:%s:secret:%s-*" % (
                    self.partition, self.region, ACCOUNT, secret)
        if self.service == "iam":
            resource = self._iam_resource()
        if self.service == "rds":
            resource = self._rds_resource()
        if self.service == "elasticbeanstalk":
            resource = self._eb_resource(action)
        return [(action, resource, context)] + self._dependent_checks(action)

    def _eb_resource(self, action):
        """The application, version or environment an Elastic Beanstalk call changes (or whose tags
        it reads), as https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/AWSHowTo.iam.policies.actions.html
        lists them; "*" for the reads that name none."""
        if self.param("ResourceArn"):
            return self.param("ResourceArn")
        verb = action.split(":", 1)[1]
        if not verb.startswith(("Create", "Update", "Delete", "Terminate", "Rebuild", "Restart", "Swap", "Abort", "Compose")):
            return "*"
        application = self.param("ApplicationName")
        name = self.param("EnvironmentName")
        environment = name or self.param("EnvironmentId")
        if environment and not verb.startswith("CreateApplication"):
            if not (application and name):  # named by the environment alone, or by its id: looked up
                found_application, found_name = self.eb_environment(self.region, environment) or (None, None)
                application, name = application or found_application, name or found_name
            return self.eb_arn("environment", "%s/%s" % (application or "*", name or environment))
        if application and self.param("VersionLabel") and "ApplicationVersion" in verb:
            return self.eb_arn("applicationversion", "%s/%s" % (application, self.param("VersionLabel")))
        if application:
            return self.eb_arn("application", application)
        return "*"

    def eb_arn(self, kind, path):
        return "arn:%s:elasticbeanstalk:%s:%s:%s/%s" % (self.partition, self.region, ACCOUNT, kind, path)

    def _iam_resource(self):
        """The role, instance profile, policy or user an IAM request names ("*" for none)."""
        for parameter, kind in (("InstanceProfileName", "instance-profile"), ("RoleName", "role"), ("UserName", "user"),
                                ("GroupName", "group")):
            name = self.param(parameter)
            if name:
                return "arn:%s:iam::%s:%s/%s" % (self.partition, ACCOUNT, kind, name)
        if self.param("PolicyArn"):
            return self.param("PolicyArn")
        if self.param("PolicySourceArn"):
            return self.param("PolicySourceArn")  # SimulatePrincipalPolicy: on the user or role simulated
        if self.param("PolicyName") and self.param("Action") == "CreatePolicy":
            return "arn:%s:iam::%s:policy/%s" % (self.partition, ACCOUNT, self.param("PolicyName"))
        return "*"

    def _rds_resource(self):
        """The database instance, snapshot or subnet group an RDS request names ("*" for none)."""
        if (self.param("ResourceName") or "").startswith("arn:"):
            return self.param("ResourceName")  # the tagging calls
        for parameter, kind in (("DBInstanceIdentifier", "db"), ("DBSnapshotIdentifier", "snapshot"), ("DBSubnetGroupName", "subgrp")):
            name = self.param(parameter)
            if name:
                return "arn:%s:rds:%s:%s:%s:%s" % (self.partition, self.region, ACCOUNT, kind, name)
        return "*"

    def _dependent_checks(self, action):
        """What else AWS checks the caller may do when it asks for `action`.

        Passing a role to a service needs iam:PassRole on it: adding it to an instance profile,
        and naming an instance profile or service role in an Elastic Beanstalk environment.
        Elastic Beanstalk also "uses the permissions of the user to launch resources in an
        environment" (CloudFormation, Auto Scaling, EC2, Elastic Load Balancing, its S3 bucket:
        https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/concepts-roles-user.html), and the
        page doesn't list the actions: the local cloud requires those of `EB_ON_BEHALF`, the stricter reading.
        """
        checks = []
        if action == "iam:AddRoleToInstanceProfile" and self.param("RoleName"):
            checks.append(("iam:PassRole", "arn:%s:iam::%s:role/%s" % (self.partition, ACCOUNT, self.param("RoleName")), {}))
        if self.service != "elasticbeanstalk":
            return checks
        for namespace, option, service in (("aws:autoscaling:launchconfiguration", "IamInstanceProfile", "ec2.amazonaws.com"),
                                           ("aws:elasticbeanstalk:environment", "ServiceRole", "elasticbeanstalk.amazonaws.com")):
            value = self.option_setting(namespace, option)
            if value:
                if service == "ec2.amazonaws.com":
                    roles = self.roles_of(value)
                else:
                    roles = [value if value.startswith("arn:") else "arn:%s:iam::%s:role/%s" % (self.partition, ACCOUNT, value)]
                checks += [("iam:PassRole", arn, {"iam:PassedToService": service}) for arn in roles]
        eb_bucket = "arn:%s:s3:::elasticbeanstalk-%s-%s" % (self.partition, self.region, ACCOUNT)
        for needed in EB_ON_BEHALF.get(action, ()):
            resource = {"s3:CreateBucket": eb_bucket, "s3:PutObject": eb_bucket + "/*", "s3:GetObject": eb_bucket + "/*"}.get(needed, "*")
            if needed.startswith("cloudformation:"):
                resource = "arn:%s:cloudformation:%s:%s:stack/awseb-*" % (self.partition, self.region, ACCOUNT)
            checks.append((needed, resource, {}))
        if action.endswith(":CreateApplicationVersion") and self.param("SourceBundle.S3Bucket"):
            checks.append(("s3:GetObject", "arn:%s:s3:::%s/%s" % (self.partition, self.param("SourceBundle.S3Bucket"),
                                                                  self.param("SourceBundle.S3Key")), {}))
        return checks

    def option_setting(self, namespace, option):
        """The value an Elastic Beanstalk request's OptionSettings give `namespace`/`option`, or None."""
        fields = self.form or self.query
        for name, values in fields.items():
            match = re.fullmatch(r"OptionSettings\.member\.(\d+)\.Namespace", name)
            if match and values[0] == namespace and self.param("OptionSettings.member.%s.OptionName" % match.group(1)) == option:
                return self.param("OptionSettings.member.%s.Value" % match.group(1))
        return None

    def _s3_path(self):
        """(bucket, key) of an S3 request's path; either may be ""."""
        bucket, _slash, key = unquote(self.environ.get("PATH_INFO", "/")).lstrip("/").partition("/")
        return bucket, key

    def s3_resource(self):
        """The ARN of the bucket or object an S3 request's path names ("*" for none)."""
        bucket, key = self._s3_path()
        if not bucket:
            return "*"
        return "arn:%s:s3:::%s" % (self.partition, bucket) + ("/" + key if key else "")

    def _s3_checks(self):
        method = self.environ.get("REQUEST_METHOD", "GET")
        bucket, key = self._s3_path()
        if not bucket:
            return [("s3:ListAllMyBuckets", "*", {})]
        bucket_arn = "arn:%s:s3:::%s" % (self.partition, bucket)
        object_arn = "%s/%s" % (bucket_arn, key)
        query = self.query
        if not key:
            action = _subresource_action(_BUCKET_SUBRESOURCES, query, method)
            if action != "":
                return [(action, bucket_arn, {})] if action else None
            if not query and method == "PUT":
                return [("s3:CreateBucket", bucket_arn, {})]
            if not query and method == "DELETE":
                return [("s3:DeleteBucket", bucket_arn, {})]
            if method in ("GET", "HEAD") and "uploads" in query:
                return [("s3:ListBucketMultipartUploads", bucket_arn, {})]
            if method == "GET" and "location" in query:
                return [("s3:GetBucketLocation", bucket_arn, {})]
            if method == "POST" and "delete" in query:
                # Each key, or key version, is authorised as its own DeleteObject(Version).
                checks = []
                for element in ElementTree.fromstring(self.body).iter():
                    if element.tag.endswith("Object"):
                        fields = {child.tag.rsplit("}", 1)[-1]: child.text or "" for child in element}
                        checks.append(("s3:DeleteObjectVersion" if fields.get("VersionId") else "s3:DeleteObject",
                                       "%s/%s" % (bucket_arn, fields.get("Key", "")), {}))
                return checks or None
            if method in ("GET", "HEAD") and not set(query) - _LIST_PARAMETERS:
                return [("s3:ListBucket", bucket_arn, {"s3:prefix": query.get("prefix", [""])[0]})]
            return None
        if "uploadId" in query:
            action = {"PUT": "s3:PutObject", "POST": "s3:PutObject", "DELETE": "s3:AbortMultipartUpload",
                      "GET": "s3:ListMultipartUploadParts"}.get(method)
            return [(action, object_arn, {})] if action else None
        action = _subresource_action(_OBJECT_SUBRESOURCES, query, method)
        if action != "":
            return [(action, object_arn, {})] if action else None
        # GetObject's response-* overrides (a presigned download's Content-Disposition) need no more than GetObject.
        overrides = {name for name in query if name.startswith("response-")} if method in ("GET", "HEAD") else set()
        if set(query) - {"uploads", "partNumber", "versionId", "x-id"} - overrides:
            return None  # tagging, ACLs, retention...: not what the server does
        if method in ("GET", "HEAD"):
            return [("s3:GetObjectVersion" if "versionId" in query else "s3:GetObject", object_arn, {})]
        if method in ("PUT", "POST"):
            checks = [("s3:PutObject", object_arn, {})]
            source = self.environ.get("HTTP_X_AMZ_COPY_SOURCE")
            if source:
                checks.append(("s3:GetObject", "arn:%s:s3:::%s" % (self.partition, unquote(source).lstrip("/").split("?", 1)[0]), {}))
            return checks
        if method == "DELETE":
            return [("s3:DeleteObjectVersion" if "versionId" in query else "s3:DeleteObject", object_arn, {})]
        return None


# Policy evaluation ------------------------------------------------------------------------------

def _as_list(value):
    return value if isinstance(value, list) else [value]


def _glob(pattern, value):
    """IAM's wildcards: * any run of characters, ? one; nothing else is special."""
    return re.fullmatch(".*".join(".".join(re.escape(part) for part in piece.split("?")) for piece in pattern.split("*")), value, re.DOTALL) \
        is not None


def _matches(patterns, value, case_insensitive=False):
    if case_insensitive:
        return any(_glob(pattern.lower(), value.lower()) for pattern in _as_list(patterns))
    return any(_glob(pattern, value) for pattern in _as_list(patterns))


_OPERATORS = {
    "StringEquals": lambda wanted, actual: actual in wanted,
    "StringNotEquals": lambda wanted, actual: actual not in wanted,
    "StringEqualsIgnoreCase": lambda wanted, actual: actual.lower() in [item.lower() for item in wanted],
    "StringLike": lambda wanted, actual: any(_glob(item, actual) for item in wanted),
    "StringNotLike": lambda wanted, actual: not any(_glob(item, actual) for item in wanted),
    "ArnEquals": lambda wanted, actual: actual in wanted,
    "ArnLike": lambda wanted, actual: any(_glob(item, actual) for item in wanted),
    "Bool": lambda wanted, actual: actual.lower() in [str(item).lower() for item in wanted],
}


def _conditions_hold(conditions, context, effect):
    """Whether a statement's conditions hold; what can't be evaluated holds for a Deny only."""
    for operator, keys in (conditions or {}).items():
        if_exists = operator.endswith("IfExists")
        test = _OPERATORS.get(operator[:-len("IfExists")] if if_exists else operator)
        for key, wanted in keys.items():
            known = key.lower() in {name.lower() for name in context}
            if test is None:
                return effect == "Deny"
            if not known:
                if if_exists:
                    continue
                # A missing key: only negated operators match it (AWS), nothing else does.
                if operator.startswith(("StringNot", "ArnNot")):
                    continue
                return False
            actual = next(value for name, value in context.items() if name.lower() == key.lower())
            if not test([str(item) for item in _as_list(wanted)], str(actual)):
                return False
    return True


def _with_variables(patterns, context):
    """Resource patterns with their policy variables (${aws:username}...) replaced from the
    request's context; a pattern whose variable the request doesn't carry matches nothing."""
    known = {name.lower(): str(value) for name, value in context.items()}
    resolved = []
    for pattern in _as_list(patterns):
        names = re.findall(r"\$\{([^}]+)\}", pattern)
        if any(name.lower() not in known for name in names):
            continue
        for name in names:
            pattern = pattern.replace("${%s}" % name, known[name.lower()])
        resolved.append(pattern)
    return resolved


def statement_applies(statement, action, resource, context):
    if "Action" in statement and not _matches(statement["Action"], action, case_insensitive=True):
        return False
    if "NotAction" in statement and _matches(statement["NotAction"], action, case_insensitive=True):
        return False
    if "Resource" in statement and not _matches(_with_variables(statement["Resource"], context), resource):
        return False
    if "NotResource" in statement and _matches(_with_variables(statement["NotResource"], context), resource):
        return False
    return _conditions_hold(statement.get("Condition"), context, statement.get("Effect"))


def decide(documents, action, resource, context, resource_documents=()):
    """'allow', or why not: 'explicit deny in ...' / 'no identity-based policy allows ...'."""
    allowed = False
    for source, documents_of in (("an identity-based policy", documents), ("a resource-based policy", resource_documents)):
        for document in documents_of:
            for statement in _as_list(document.get("Statement", [])):
                if not statement_applies(statement, action, resource, context):
                    continue
                if statement.get("Effect") == "Deny":
                    return "with an explicit deny in %s" % source
                if source == "an identity-based policy":
                    allowed = True
    return "allow" if allowed else "because no identity-based policy allows the %s action" % action


# The WSGI middleware ----------------------------------------------------------------------------

# The deployer's own permissions, as moto grants them: everything.
_EVERYTHING = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


class Authorizer:
    def __init__(self, app, role_of_key, role_documents, bucket_document, resource_tags, user_of_key=lambda key: None,
                 roles_of=lambda profile: [], principal_documents=lambda arn: None, eb_environment=lambda region, name_or_id: None):
        """`role_of_key(access key id)`: (role ARN, session name) of an instance's credentials, or
        None; `role_documents(role ARN)`: its policy documents; `bucket_document(bucket)`: a
        bucket's policy document or None; `resource_tags(instance id)`: an EC2 instance's tags;
        `user_of_key(access key id)`: (user ARN, policy documents) of an IAM user's active access
        key, or None; `roles_of(instance profile)`: the ARNs of its roles;
        `principal_documents(user or role ARN)`: its policy documents, None when there is no such
        principal (IAM's policy simulator, which moto lacks, is answered here from them);
        `eb_environment(region, name or id)`: (application, environment name) of a live environment."""
        self.app = app
        self.role_of_key = role_of_key
        self.role_documents = role_documents
        self.bucket_document = bucket_document
        self.resource_tags = resource_tags
        self.user_of_key = user_of_key
        self.roles_of = roles_of
        self.principal_documents = principal_documents
        self.eb_environment = eb_environment

    def __call__(self, environ, start_response):
        scope = credential_scope(environ)
        identity = self.role_of_key(scope[0]) if scope else None
        user = self.user_of_key(scope[0]) if scope and identity is None else None
        root = identity is None and user is None  # the account's root credentials, or anonymous
        # Unsigned or SigV2-signed requests (anonymous, and S3's older presigned URLs) are S3's.
        s3 = scope[3] == "s3" if len(scope) > 3 else not environ.get("PATH_INFO", "").startswith("/moto-api")
        if root and not s3 and not (len(scope) > 3 and scope[3] in ("iam", "sts")):
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        content_type = environ.get("CONTENT_TYPE", "")
        # Only small control bodies are read (forms, JSON, DeleteObjects' XML); object data streams on.
        control = "form-urlencoded" in content_type or "json" in content_type or "delete" in environ.get("QUERY_STRING", "")
        body = peek_body(environ) if length and length <= 1024 * 1024 and control else b""
        request = Request(environ, body, self.roles_of, self.eb_environment)
        checks = request.checks(self.resource_tags)
        if root and request.service == "sts" and request.param("Action") == "GetCallerIdentity":
            return _root_identity(start_response, request.partition)
        if root:
            # The account's root credentials (the local cloud's own): allowed everything, but a
            # bucket policy's Deny applies to every caller of the account too. A request this module
            # can't name still meets the Deny statements that cover every S3 action.
            principal = "arn:%s:iam::%s:root" % (request.partition, ACCOUNT) if scope else "anonymous"
            documents = [_EVERYTHING]
            checks = checks if checks and all(action for action, _resource, _context in checks) else [("s3:*", request.s3_resource(), {})]
        else:
            if identity is not None:
                role_arn, session = identity
                principal = "arn:%s:sts::%s:assumed-role/%s/%s" % (request.partition, ACCOUNT, role_arn.rsplit("/", 1)[-1], session)
                documents = self.role_documents(role_arn)
            else:
                principal, documents = user
                username = {"aws:username": principal.rsplit("/", 1)[-1]}
                checks = [(action, resource, dict(context, **username)) for action, resource, context in checks] if checks else checks
            if not checks or any(action is None for action, _resource, _context in checks):
                return _denied(start_response, request, principal, "%s %s" % (environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")), "*",
                               "because the local cloud can't tell which action this request needs")
        for action, resource, context in checks:
            if action.lower() == "sts:getcalleridentity":
                continue  # needs no permission (AWS: "no permissions are required")
            # Every request carries it: whether it came over TLS.
            context = dict(context, **{"aws:SecureTransport": "true" if request.secure else "false"})
            bucket_documents = []
            if action.startswith("s3:") and resource.startswith("arn:"):
                document = self.bucket_document(resource.split(":::", 1)[1].split("/", 1)[0])
                bucket_documents = [document] if document else []
            outcome = decide(documents, action, resource, context, bucket_documents)
            if outcome != "allow":
                return _denied(start_response, request, principal, action, resource, outcome)
        if request.service == "iam" and request.param("Action") == "SimulatePrincipalPolicy":
            return self._simulate(request, start_response)
        return self.app(environ, start_response)

    def _simulate(self, request, start_response):
        """IAM's SimulatePrincipalPolicy: each action on each resource, decided by the principal's
        identity-based policies alone, as the API does without a ResourcePolicy; context keys not
        given are missing, so conditions on them don't hold."""
        source = request.param("PolicySourceArn") or ""
        documents = self.principal_documents(source)
        if documents is None:
            return _error(start_response, "400 Bad Request", "NoSuchEntity", "The principal %s does not exist." % source)
        fields = request.form or request.query

        def members(prefix):
            names = [name for name in fields if name.startswith(prefix + ".member.")]
            return [fields[name][0] for name in sorted(names, key=lambda name: int(name.rsplit(".", 1)[1]))]

        results = []
        context = {"aws:username": source.rsplit("/", 1)[-1]} if ":user/" in source else {}
        for action in members("ActionNames"):
            for resource in members("ResourceArns") or ["*"]:
                outcome = decide(documents, action, resource, context)
                decision = "allowed" if outcome == "allow" else "explicitDeny" if "explicit deny" in outcome else "implicitDeny"
                results.append("<member><EvalActionName>%s</EvalActionName><EvalResourceName>%s</EvalResourceName>"
                               "<EvalDecision>%s</EvalDecision><MatchedStatements/><MissingContextValues/></member>"
                               % (escape(action), escape(resource), decision))
        return _respond(start_response, "200 OK", "text/xml",
                        '<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><SimulatePrincipalPolicyResult>'
                        "<IsTruncated>false</IsTruncated><EvaluationResults>%s</EvaluationResults></SimulatePrincipalPolicyResult>"
                        "<ResponseMetadata><RequestId>localcloud</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>"
                        % "".join(results))


def _root_identity(start_response, partition):
    """GetCallerIdentity for the account's root credentials, as AWS answers it (moto would name
    a user "moto" that IAM doesn't have)."""
    return _respond(start_response, "200 OK", "text/xml",
                    '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
                    "<Arn>arn:%s:iam::%s:root</Arn><UserId>%s</UserId><Account>%s</Account></GetCallerIdentityResult>"
                    "<ResponseMetadata><RequestId>localcloud</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
                    % (partition, ACCOUNT, ACCOUNT, ACCOUNT))


def _respond(start_response, status, kind, body):
    data = body.encode()
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(data)))])
    return [data]


def _query_error(code, message):
    """The error body of the query-protocol services (IAM, STS, RDS, Elastic Beanstalk...)."""
    return ("<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
            "<RequestId>localcloud</RequestId></ErrorResponse>" % (code, escape(message)))


def _error(start_response, status, code, message):
    return _respond(start_response, status, "text/xml", _query_error(code, message))


def _denied(start_response, request, principal, action, resource, why):
    message = "User: %s is not authorized to perform: %s on resource: %s %s" % (principal, action, resource, why)
    if request.service == "s3":
        body, status, kind = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>%s</Message></Error>"
                              % escape(message)), "403 Forbidden", "application/xml"
    elif request.environ.get("HTTP_X_AMZ_TARGET"):
        body, status, kind = json.dumps({"__type": "AccessDeniedException", "Message": message}), "400 Bad Request", "application/x-amz-json-1.1"
    elif request.service == "ec2":
        body, status, kind = ("<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform "
                              "this operation. %s</Message></Error></Errors><RequestID>localcloud</RequestID></Response>" % escape(message)), \
            "403 Forbidden", "text/xml"
    else:
        body, status, kind = _query_error("AccessDenied", message), "403 Forbidden", "text/xml"
    return _respond(start_response, status, kind, body)


def moto_role_documents(role_arn):
    """The inline and attached policy documents of a role in moto's IAM."""
    from moto.iam.models import iam_backends  # pylint: disable=import-outside-toplevel

    partition = role_arn.split(":")[1]
    return _documents_of(iam_backends[ACCOUNT][partition].get_role_by_arn(role_arn))


def _documents_of(entity):
    """The inline and attached policy documents of a moto IAM role, user or group."""
    documents = [json.loads(document) if isinstance(document, str) else document for document in entity.policies.values()]
    for policy in entity.managed_policies.values():
        document = next(version.document for version in policy.versions if version.version_id == policy.default_version_id)
        documents.append(json.loads(document) if isinstance(document, str) else document)
    return documents


def moto_user_of_key(access_key_id):
    """(user ARN, policy documents: the user's and its groups') of an IAM user's active access key, else None."""
    from moto.iam.models import iam_backends  # pylint: disable=import-outside-toplevel

    for backend in list(iam_backends[ACCOUNT].values()):
        for user in list(backend.users.values()):
            if any(key.access_key_id == access_key_id and key.status == "Active" for key in user.access_keys):
                return user.arn, _user_documents(backend, user)
    return None


def _user_documents(backend, user):
    documents = _documents_of(user)
    for group in backend.get_groups_for_user(user.name):
        documents += _documents_of(group)
    return documents


def moto_principal_documents(arn):
    """The policy documents of the IAM user or role an ARN names (a user's groups' too); None if there is none."""
    from moto.iam.models import iam_backends  # pylint: disable=import-outside-toplevel

    for backend in list(iam_backends[ACCOUNT].values()):
        for user in list(backend.users.values()):
            if user.arn == arn:
                return _user_documents(backend, user)
        for role in list(backend.roles.values()):
            if role.arn == arn:
                return _documents_of(role)
    return None


def local_eb_environment(region, name_or_id):
    """(application, environment name) of a live environment of the local Elastic Beanstalk, by name or id."""
    from localcloud.eb.models import eb_backends  # pylint: disable=import-outside-toplevel

    backend = eb_backends[ACCOUNT][region]
    for env in backend.live_environments():
        if name_or_id in (env.name, env.id):
            return env.application_name, env.name
    return None


def moto_roles_of(profile):
    """The ARNs of the roles of an instance profile, by name or ARN ([] when there is none)."""
    from moto.iam.models import iam_backends  # pylint: disable=import-outside-toplevel

    name = profile.rsplit("/", 1)[-1]
    for backend in list(iam_backends[ACCOUNT].values()):
        for instance_profile in list(backend.instance_profiles.values()):
            if instance_profile.name == name:
                return [role.arn for role in instance_profile.roles]
    return []


def moto_bucket_document(bucket):
    from moto.s3.models import s3_backends  # pylint: disable=import-outside-toplevel

    for backend in s3_backends[ACCOUNT].values():
        found = backend.buckets.get(bucket)
        if found is not None:
            return json.loads(found.policy) if found.policy else None
    return None


def moto_instance_tags(instance_id):
    """An EC2 instance's tags, from whichever region of moto holds it ({} when none does)."""
    from moto.ec2.models import ec2_backends  # pylint: disable=import-outside-toplevel

    for backend in ec2_backends[ACCOUNT].values():
        tags = backend.describe_tags(filters={"resource-id": [instance_id]})
        if tags:
            return {tag["key"]: tag["value"] for tag in tags}
    return {}

"""IAM enforced on what the instances do, as AWS enforces it.

moto authorises every call unless told to check all of them, and then it ignores most of a
policy's conditions and resources (an Allow with any condition becomes a Deny). The local
cloud's deployed apps and hooks sign with their instance profile's credentials (handed out by
`localcloud.imds`), so their calls are checked here, before moto sees them, against the
instance role's policies (inline and attached, AWS managed ones included) and, for S3, the
bucket's policy: allowed only when an Allow statement matches the action, the resource and its
conditions and no Deny does, as in
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
What can't be evaluated here counts against the caller: a condition operator or key this module
doesn't know never satisfies an Allow and always satisfies a Deny, and a request whose action
it can't name is refused. The deployer's calls are checked against bucket policies only (their
Deny statements apply to every caller); its own permissions are moto's, everything.

The actions and resources of the calls instances make (AWS's service authorization reference):
  S3 objects: GetObject (GET/HEAD), PutObject (PUT, and the multipart upload's create, parts and
  complete), DeleteObject (DELETE, and each key of DeleteObjects), AbortMultipartUpload,
  ListMultipartUploadParts; buckets: ListBucket (with the s3:prefix key),
  ListBucketMultipartUploads, GetBucketLocation;
  other services: the Action parameter or X-Amz-Target, on the resource the request names
  (an EC2 instance with its tags as aws:ResourceTag/<key>, a secret's ARN), else "*".
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

    def __init__(self, environ, body):
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
                secret = json.loads(self.body or b"{}").get("SecretId", "")
            except ValueError:
                secret = ""
            resource = secret if secret.startswith("arn:") else "arn:%s:secretsmanager:%s:%s:secret:%s-*" % (
                self.partition, self.region, ACCOUNT, secret)
        return [(action, resource, context)]

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
            if method in ("GET", "HEAD") and "uploads" in query:
                return [("s3:ListBucketMultipartUploads", bucket_arn, {})]
            if method == "GET" and "location" in query:
                return [("s3:GetBucketLocation", bucket_arn, {})]
            if method == "POST" and "delete" in query:
                keys = [element.text or "" for element in ElementTree.fromstring(self.body).iter() if element.tag.endswith("Key")]
                return [("s3:DeleteObject", "%s/%s" % (bucket_arn, name), {}) for name in keys] or None
            if method in ("GET", "HEAD") and not set(query) - _LIST_PARAMETERS:
                return [("s3:ListBucket", bucket_arn, {"s3:prefix": query.get("prefix", [""])[0]})]
            return None
        if "uploadId" in query:
            action = {"PUT": "s3:PutObject", "POST": "s3:PutObject", "DELETE": "s3:AbortMultipartUpload",
                      "GET": "s3:ListMultipartUploadParts"}.get(method)
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
            return [("s3:DeleteObject", object_arn, {})]
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


def statement_applies(statement, action, resource, context):
    if "Action" in statement and not _matches(statement["Action"], action, case_insensitive=True):
        return False
    if "NotAction" in statement and _matches(statement["NotAction"], action, case_insensitive=True):
        return False
    if "Resource" in statement and not _matches(statement["Resource"], resource):
        return False
    if "NotResource" in statement and _matches(statement["NotResource"], resource):
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


class InstanceAuthorizer:
    def __init__(self, app, role_of_key, role_documents, bucket_document, resource_tags):
        """`role_of_key(access key id)`: (role ARN, session name) of an instance's credentials, or
        None; `role_documents(role ARN)`: its policy documents; `bucket_document(bucket)`: a
        bucket's policy document or None; `resource_tags(instance id)`: an EC2 instance's tags."""
        self.app = app
        self.role_of_key = role_of_key
        self.role_documents = role_documents
        self.bucket_document = bucket_document
        self.resource_tags = resource_tags

    def __call__(self, environ, start_response):
        scope = credential_scope(environ)
        identity = self.role_of_key(scope[0]) if scope else None
        # Unsigned or SigV2-signed requests (anonymous, and S3's older presigned URLs) are S3's.
        s3 = scope[3] == "s3" if len(scope) > 3 else not environ.get("PATH_INFO", "").startswith("/moto-api")
        if identity is None and not s3:
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        content_type = environ.get("CONTENT_TYPE", "")
        # Only small control bodies are read (forms, JSON, DeleteObjects' XML); object data streams on.
        control = "form-urlencoded" in content_type or "json" in content_type or "delete" in environ.get("QUERY_STRING", "")
        body = peek_body(environ) if length and length <= 1024 * 1024 and control else b""
        request = Request(environ, body)
        checks = request.checks(self.resource_tags)
        if identity is None:
            # Anyone else (the deployer): allowed by their own policies as moto allows them, but a
            # bucket policy's Deny applies to every caller of the account too. A request this module
            # can't name still meets the Deny statements that cover every S3 action.
            principal = "arn:%s:iam::%s:user/%s" % (request.partition, ACCOUNT, scope[0]) if scope else "anonymous"
            documents = [_EVERYTHING]
            checks = checks if checks and all(action for action, _resource, _context in checks) else [("s3:*", request.s3_resource(), {})]
        else:
            role_arn, session = identity
            principal = "arn:%s:sts::%s:assumed-role/%s/%s" % (request.partition, ACCOUNT, role_arn.rsplit("/", 1)[-1], session)
            if not checks or any(action is None for action, _resource, _context in checks):
                return _denied(start_response, request, principal, "%s %s" % (environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")), "*",
                               "because the local cloud can't tell which action this request needs")
            documents = self.role_documents(role_arn)
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
        return self.app(environ, start_response)


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
        body, status, kind = ("<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>%s</Message></Error>"
                              "<RequestId>localcloud</RequestId></ErrorResponse>" % escape(message)), "403 Forbidden", "text/xml"
    data = body.encode()
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(data)))])
    return [data]


def moto_role_documents(role_arn):
    """The inline and attached policy documents of a role in moto's IAM."""
    from moto.iam.models import iam_backends  # pylint: disable=import-outside-toplevel

    partition = role_arn.split(":")[1]
    backend = iam_backends[ACCOUNT][partition]
    role = backend.get_role_by_arn(role_arn)
    documents = [json.loads(document) if isinstance(document, str) else document for document in role.policies.values()]
    for policy in role.managed_policies.values():
        document = next(version.document for version in policy.versions if version.version_id == policy.default_version_id)
        documents.append(json.loads(document) if isinstance(document, str) else document)
    return documents


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

"""S3 bucket policies on the local cloud.

moto evaluates a bucket policy's statements without their conditions: the usual TLS-only
statement (Deny s3:* when aws:SecureTransport is false) then denies every request, over TLS or
not. The local cloud's endpoint is plain HTTP on 127.0.0.1, so it can't honour that condition
either way: it evaluates statements without conditions as moto does, and leaves out those
with conditions (on AWS they apply as written).
"""

import json

from moto.s3 import models as s3_models


def install():
    def get_permission(self, action, resource):
        from moto.iam.access_control import IAMPolicy, PermissionResult  # pylint: disable=import-outside-toplevel

        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy.decode())
        statements = document.get("Statement", [])
        statements = [statement for statement in (statements if isinstance(statements, list) else [statements]) if "Condition" not in statement]
        if not statements:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps(dict(document, Statement=statements))).is_action_permitted(action, resource)

    s3_models.FakeBucket.get_permission = get_permission

"""S3 bucket policies on the local cloud: evaluated in one place, `localcloud.iamcheck`.

moto evaluates a bucket policy's statements for some object requests only, and without their
conditions: the usual TLS-only statement (Deny s3:* when aws:SecureTransport is false) would then
deny every request, over TLS or not. Its check is turned off here; `iamcheck` evaluates the
whole policy, conditions included, for every S3 request of every caller (its Deny statements
apply to the account's own users too, as on AWS).
"""

from moto.s3 import models as s3_models


def install():
    def get_permission(_self, _action, _resource):
        from moto.iam.access_control import PermissionResult  # pylint: disable=import-outside-toplevel

        return PermissionResult.NEUTRAL

    s3_models.FakeBucket.get_permission = get_permission

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: eb_application_version
short_description: Create or delete an Elastic Beanstalk application version
version_added: 0.1.0
description:
  - Creates an application version from a source bundle in S3 and waits until EB has processed it,
    or deletes a version that no environment uses.
  - A label names one bundle for good. An existing label with the same bundle is left as it is;
    with another bundle it is an error (choose a new label, for example from the bundle's hash).
  - A version that fails processing fails the task with EB's reason.
author:
  - mlflowops.beanstalk contributors (@mlflowops)
options:
  application_name:
    description: The application.
    required: true
    type: str
  version_label:
    description: The version's label (1 to 100 characters).
    required: true
    type: str
    aliases: [label]
  s3_bucket:
    description: The bucket holding the source bundle. Required with O(state=present).
    type: str
  s3_key:
    description: The source bundle's key in O(s3_bucket). Required with O(state=present).
    type: str
  description:
    description: A description of the version (set at creation).
    type: str
  state:
    description: Whether the version should exist.
    choices: [present, absent]
    default: present
    type: str
  delete_source_bundle:
    description: With O(state=absent), also delete the bundle from S3.
    type: bool
    default: false
  wait:
    description: Wait until the version is processed.
    type: bool
    default: true
  wait_timeout:
    description: How long to wait, in seconds.
    type: int
    default: 600
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
seealso:
  - module: mlflowops.beanstalk.eb_application_version_info
  - module: mlflowops.beanstalk.bundle_archive
  - name: CreateApplicationVersion
    description: The Elastic Beanstalk API call behind this module.
    link: https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_CreateApplicationVersion.html
"""

EXAMPLES = r"""
- name: The bundle built by the bundle role, as a version
  mlflowops.beanstalk.eb_application_version:
    application_name: mlflow
    version_label: "{{ bundle_archive.version_label }}"
    s3_bucket: my-eb-bundles
    s3_key: "mlflow/{{ bundle_archive.version_label }}.zip"

- name: Remove an old version
  mlflowops.beanstalk.eb_application_version:
    application_name: mlflow
    version_label: mlflow-3.17.1-0123456789abcdef
    state: absent
"""

RETURN = r"""
application_version:
  description: The version as DescribeApplicationVersions returns it (snake_case); empty when absent.
  returned: always
  type: dict
  contains:
    version_label: {description: Its label., type: str, returned: when present}
    status: {description: Its status., type: str, returned: when present, sample: Processed}
    source_bundle: {description: Where its bundle is., type: dict, returned: when present}
"""

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import common
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import environments
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import versions
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import waiters
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb.common import AnsibleEBError

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule


def wait_processed(client, waiter, application, label):
    def fetch():
        return versions.describe_version(client, application, label)

    def done(version):
        return version is None or version.get("Status") in ("Processed", "Failed", "Unprocessed")

    version = waiter.until(
        fetch, done, lambda version: "version %s to be processed (it is %s)" % (label, (version or {}).get("Status"))
    )
    if version is not None and version.get("Status") == "Failed":
        reasons = waiters.error_events(client, application, version=label)
        raise AnsibleEBError(
            "application version %s failed processing: %s" % (label, " | ".join(reasons) or "no reason given"),
            events=reasons,
        )
    return version


def ensure_present(client, s3, params, check_mode, waiter):
    app, label = params["application_name"], params["version_label"]
    bucket, key = params["s3_bucket"], params["s3_key"]
    version = versions.describe_version(client, app, label)
    if version is not None:
        source = version.get("SourceBundle", {})
        if (source.get("S3Bucket"), source.get("S3Key")) != (bucket, key):
            raise AnsibleEBError(
                "version_label: %s already exists with another bundle (s3://%s/%s, asked: s3://%s/%s); a label names one bundle: "
                "choose a new label" % (label, source.get("S3Bucket"), source.get("S3Key"), bucket, key)
            )
        if version.get("Status") == "Failed":
            wait_processed(client, waiter, app, label)
        if version.get("Status") in ("Processing", "Building") and params["wait"] and not check_mode:
            version = wait_processed(client, waiter, app, label)
        return False, version
    try:
        s3.head_object(Bucket=bucket, Key=key, aws_retry=True)
    except is_boto3_error_code(["404", "NoSuchKey", "NoSuchBucket", "403", "AccessDenied"]):
        # In check mode an earlier task of the same run may be what uploads it.
        if not check_mode:
            raise AnsibleEBError("s3_bucket/s3_key: no source bundle at s3://%s/%s" % (bucket, key)) from None
    predicted = {
        "ApplicationName": app,
        "VersionLabel": label,
        "SourceBundle": {"S3Bucket": bucket, "S3Key": key},
        "Status": "Processed",
    }
    if check_mode:
        return True, predicted
    request = {
        "ApplicationName": app,
        "VersionLabel": label,
        "SourceBundle": {"S3Bucket": bucket, "S3Key": key},
        "Process": True,
    }
    if params.get("description"):
        request["Description"] = params["description"]
    version = client.create_application_version(aws_retry=True, **request)["ApplicationVersion"]
    if params["wait"]:
        version = wait_processed(client, waiter, app, label)
    return True, version


def ensure_absent(client, params, check_mode):
    app, label = params["application_name"], params["version_label"]
    if versions.describe_version(client, app, label) is None:
        return False
    users = environments.environments_using(client, app, label)
    if users:
        raise AnsibleEBError(
            "version_label: %s is deployed to %s; deploy another version there first" % (label, ", ".join(users))
        )
    if not check_mode:
        client.delete_application_version(
            ApplicationName=app, VersionLabel=label, DeleteSourceBundle=params["delete_source_bundle"], aws_retry=True
        )
    return True


def main():
    argument_spec = dict(
        application_name=dict(required=True),
        version_label=dict(required=True, aliases=["label"]),
        s3_bucket=dict(),
        s3_key=dict(no_log=False),
        description=dict(),
        state=dict(choices=["present", "absent"], default="present"),
        delete_source_bundle=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ["s3_bucket", "s3_key"])],
    )
    params = module.params
    if not 1 <= len(params["version_label"]) <= 100:
        module.fail_json(msg="version_label: must be 1 to 100 characters long")
    client = module.client("elasticbeanstalk", retry_decorator=AWSRetry.jittered_backoff())
    try:
        if params["state"] == "absent":
            before = versions.describe_version(client, params["application_name"], params["version_label"])
            changed = ensure_absent(client, params, module.check_mode)
            result = {"changed": changed, "application_version": {}}
            after = None
        else:
            s3 = module.client("s3", retry_decorator=AWSRetry.jittered_backoff())
            before = versions.describe_version(client, params["application_name"], params["version_label"])
            changed, after = ensure_present(
                client, s3, params, module.check_mode, waiters.Waiter(params["wait_timeout"])
            )
            result = {"changed": changed, "application_version": camel_dict_to_snake_dict(after or {})}
    except AnsibleEBError as error:
        common.fail(module, error)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        module.fail_json_aws(error, msg="Elastic Beanstalk refused a call for version %s" % params["version_label"])
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = {
            "before": camel_dict_to_snake_dict(before or {}),
            "after": camel_dict_to_snake_dict(after or {}),
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()

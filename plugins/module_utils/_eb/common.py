# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The errors of the Elastic Beanstalk helpers, in amazon.aws's AnsibleAWSError pattern."""

from datetime import datetime
from datetime import timezone

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError


class AnsibleEBError(AnsibleAWSError):
    """A failure the module reports: the message, with the AWS error when a call failed, and details
    (for example the operation's ERROR events) as extra fields of the result."""


class EBErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleEBError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("ResourceNotFoundException")


def fail(module, error):
    """Ends the module with the error: AWS's code and message when a call failed, else the message
    and its details."""
    if error.exception is not None:
        module.fail_json_aws(error.exception, msg=error.message, **error.kwargs)
    module.fail_json(msg=error.message, **error.kwargs)


def utcnow():
    return datetime.now(timezone.utc)

# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Describing application versions."""

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from .common import EBErrorHandler


@EBErrorHandler.list_error_handler("describe application versions", default_value=[])
@AWSRetry.jittered_backoff()
def describe_versions(client, application, labels=None):
    """The application's versions, or the ones named (those that exist), every page of them."""
    request = {"ApplicationName": application}
    if labels:
        request["VersionLabels"] = labels
    return (
        client.get_paginator("describe_application_versions")
        .paginate(**request)
        .build_full_result()
        .get("ApplicationVersions", [])
    )


def describe_version(client, application, label):
    """The version of that label, or None."""
    found = describe_versions(client, application, [label])
    return found[0] if found else None

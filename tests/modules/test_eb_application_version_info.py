"""eb_application_version_info with botocore's Stubber: every page, descriptions always present."""

import boto3
from botocore.stub import Stubber

from ansible_collections.mlflowops.beanstalk.plugins.modules import eb_application_version_info as module


def version(label, description=None):
    found = {"ApplicationName": "app", "VersionLabel": label, "Status": "Processed",
             "SourceBundle": {"S3Bucket": "bundles", "S3Key": label + ".zip"}}
    if description is not None:
        found["Description"] = description
    return found


def test_every_page_is_read_and_a_version_without_a_description_gets_an_empty_one():
    raw = boto3.client("elasticbeanstalk", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(raw) as stub:
        stub.add_response("describe_application_versions", {"ApplicationVersions": [version("v2", "MLflow 3.17.2")], "NextToken": "t"},
                          {"ApplicationName": "app"})
        stub.add_response("describe_application_versions", {"ApplicationVersions": [version("v1")]},
                          {"ApplicationName": "app", "NextToken": "t"})
        found = module.describe(raw, "app", [])
        stub.assert_no_pending_responses()
    assert [(item["version_label"], item["description"]) for item in found] == [("v2", "MLflow 3.17.2"), ("v1", "")]
    assert found[0]["source_bundle"] == {"s3_bucket": "bundles", "s3_key": "v2.zip"}


def test_only_the_labels_asked_for_are_asked_for():
    raw = boto3.client("elasticbeanstalk", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(raw) as stub:
        stub.add_response("describe_application_versions", {"ApplicationVersions": []}, {"ApplicationName": "app", "VersionLabels": ["gone"]})
        assert module.describe(raw, "app", ["gone"]) == []

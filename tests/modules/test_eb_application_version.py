"""eb_application_version's logic with botocore's Stubber (EB and S3), no network."""

from datetime import datetime, timezone

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import waiters
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb.common import AnsibleEBError
from ansible_collections.mlflowops.beanstalk.plugins.modules import eb_application_version as module

NOW = datetime(2026, 11, 26, tzinfo=timezone.utc)
PARAMS = {"application_name": "app", "version_label": "v1", "s3_bucket": "bundles", "s3_key": "v1.zip", "description": None,
          "wait": True, "wait_timeout": 60, "delete_source_bundle": False}


def client(service):
    raw = boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(raw)
    stubber.activate()
    return stubber, RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff(retries=1))


@pytest.fixture
def aws():
    eb_stub, eb_client = client("elasticbeanstalk")
    s3_stub, s3_client = client("s3")
    yield eb_stub, eb_client, s3_stub, s3_client
    eb_stub.assert_no_pending_responses()
    s3_stub.assert_no_pending_responses()


def version(status, key="v1.zip"):
    return {"ApplicationName": "app", "VersionLabel": "v1", "Status": status, "SourceBundle": {"S3Bucket": "bundles", "S3Key": key}}


def expect_version(stub, found):
    stub.add_response("describe_application_versions", {"ApplicationVersions": [found] if found else []},
                      {"ApplicationName": "app", "VersionLabels": ["v1"]})


def waiter():
    return waiters.Waiter(60, sleep=lambda seconds: None)


def test_create_checks_the_object_then_waits_until_processed(aws):
    eb_stub, eb_client, s3_stub, s3_client = aws
    expect_version(eb_stub, None)
    s3_stub.add_response("head_object", {}, {"Bucket": "bundles", "Key": "v1.zip"})
    eb_stub.add_response("create_application_version", {"ApplicationVersion": version("Processing")}, {
        "ApplicationName": "app", "VersionLabel": "v1", "SourceBundle": {"S3Bucket": "bundles", "S3Key": "v1.zip"}, "Process": True})
    expect_version(eb_stub, version("Processing"))
    expect_version(eb_stub, version("Processed"))
    changed, result = module.ensure_present(eb_client, s3_client, PARAMS, False, waiter())
    assert changed and result["Status"] == "Processed"


def test_same_label_same_bundle_is_unchanged(aws):
    eb_stub, eb_client, _s3_stub, s3_client = aws
    expect_version(eb_stub, version("Processed"))
    assert module.ensure_present(eb_client, s3_client, PARAMS, False, waiter()) == (False, version("Processed"))


def test_same_label_other_bundle_is_an_error(aws):
    eb_stub, eb_client, _s3_stub, s3_client = aws
    expect_version(eb_stub, version("Processed", key="other.zip"))
    with pytest.raises(AnsibleEBError) as failed:
        module.ensure_present(eb_client, s3_client, PARAMS, False, waiter())
    assert "already exists with another bundle (s3://bundles/other.zip, asked: s3://bundles/v1.zip)" in failed.value.message


def test_failed_processing_fails_with_the_reason(aws):
    eb_stub, eb_client, s3_stub, s3_client = aws
    expect_version(eb_stub, None)
    s3_stub.add_response("head_object", {}, {"Bucket": "bundles", "Key": "v1.zip"})
    eb_stub.add_response("create_application_version", {"ApplicationVersion": version("Processing")}, None)
    expect_version(eb_stub, version("Failed"))
    eb_stub.add_response("describe_events", {"Events": [{"Message": "the bundle has no Dockerfile", "Severity": "ERROR", "EventDate": NOW}]},
                         {"ApplicationName": "app", "Severity": "ERROR", "VersionLabel": "v1"})
    with pytest.raises(AnsibleEBError) as failed:
        module.ensure_present(eb_client, s3_client, PARAMS, False, waiter())
    assert failed.value.message == "application version v1 failed processing: the bundle has no Dockerfile"


def test_missing_bundle_fails_before_any_write(aws):
    eb_stub, eb_client, s3_stub, s3_client = aws
    expect_version(eb_stub, None)
    s3_stub.add_client_error("head_object", service_error_code="404", http_status_code=404)
    with pytest.raises(AnsibleEBError) as failed:
        module.ensure_present(eb_client, s3_client, PARAMS, False, waiter())
    assert failed.value.message == "s3_bucket/s3_key: no source bundle at s3://bundles/v1.zip"


def test_check_mode_predicts_without_creating(aws):
    eb_stub, eb_client, s3_stub, s3_client = aws
    expect_version(eb_stub, None)
    s3_stub.add_response("head_object", {}, {"Bucket": "bundles", "Key": "v1.zip"})
    changed, predicted = module.ensure_present(eb_client, s3_client, PARAMS, True, waiter())
    assert changed and predicted["VersionLabel"] == "v1"


def test_absent_refuses_a_version_in_use(aws):
    eb_stub, eb_client, _s3_stub, _s3_client = aws
    expect_version(eb_stub, version("Processed"))
    eb_stub.add_response("describe_environments", {"Environments": [{"EnvironmentName": "env-one", "Status": "Ready"}]},
                         {"ApplicationName": "app", "VersionLabel": "v1", "IncludeDeleted": False})
    with pytest.raises(AnsibleEBError) as failed:
        module.ensure_absent(eb_client, PARAMS, False)
    assert failed.value.message == "version_label: v1 is deployed to env-one; deploy another version there first"


def test_absent_deletes_then_is_unchanged(aws):
    eb_stub, eb_client, _s3_stub, _s3_client = aws
    expect_version(eb_stub, version("Processed"))
    eb_stub.add_response("describe_environments", {"Environments": []}, {"ApplicationName": "app", "VersionLabel": "v1", "IncludeDeleted": False})
    eb_stub.add_response("delete_application_version", {}, {"ApplicationName": "app", "VersionLabel": "v1", "DeleteSourceBundle": False})
    assert module.ensure_absent(eb_client, PARAMS, False)
    expect_version(eb_stub, None)
    assert not module.ensure_absent(eb_client, PARAMS, False)

"""acm_certificate_request's logic with botocore's Stubber, no network."""

import boto3
import pytest
from botocore.stub import ANY, Stubber

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import waiters
from ansible_collections.mlflowops.beanstalk.plugins.modules import acm_certificate_request as module

ARN = "arn:aws:acm:us-east-1:123456789012:certificate/1111"
OTHER = "arn:aws:acm:us-east-1:123456789012:certificate/2222"
PARAMS = {"domain_name": "mlflow.example.com", "subject_alternative_names": [], "tags": {"team": "ml"}, "wait": False, "wait_timeout": 60}
RECORD = {"Name": "_x.mlflow.example.com.", "Type": "CNAME", "Value": "_y.acm-validations.aws."}


@pytest.fixture
def acm():
    raw = boto3.client("acm", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(raw)
    stub.activate()
    yield stub, RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff(retries=1))
    stub.assert_no_pending_responses()


def certificate(status, arn=ARN, names=("mlflow.example.com",), record=True, kind="AMAZON_ISSUED", **extra):
    options = [dict({"DomainName": name, "ValidationMethod": "DNS"}, **({"ResourceRecord": RECORD} if record else {})) for name in names]
    return {"Certificate": dict({"CertificateArn": arn, "DomainName": names[0], "SubjectAlternativeNames": list(names), "Status": status,
                                 "Type": kind, "DomainValidationOptions": options}, **extra)}


def expect_list(stub, *arns_and_names):
    stub.add_response("list_certificates", {"CertificateSummaryList": [{"CertificateArn": arn, "DomainName": name} for arn, name in arns_and_names]},
                      {"CertificateStatuses": ["PENDING_VALIDATION", "ISSUED"], "Includes": ANY})


def waiter():
    return waiters.Waiter(60, sleep=lambda seconds: None)


def test_requests_with_dns_validation_then_waits_for_the_validation_records(acm):
    stub, client = acm
    expect_list(stub, (OTHER, "other.example.com"))
    stub.add_response("request_certificate", {"CertificateArn": ARN}, {
        "DomainName": "mlflow.example.com", "ValidationMethod": "DNS", "IdempotencyToken": ANY, "Tags": [{"Key": "team", "Value": "ml"}]})
    stub.add_response("describe_certificate", certificate("PENDING_VALIDATION", record=False), {"CertificateArn": ARN})
    stub.add_response("describe_certificate", certificate("PENDING_VALIDATION", record=False), {"CertificateArn": ARN})
    stub.add_response("describe_certificate", certificate("PENDING_VALIDATION"), {"CertificateArn": ARN})
    changed, found = module.ensure_present(client, PARAMS, False, waiter())
    assert changed and module.view(found)["validation_records"] == [{"name": RECORD["Name"], "type": "CNAME", "value": RECORD["Value"]}]


def test_the_certificate_for_exactly_these_names_is_found_again_issued_before_pending(acm):
    stub, client = acm
    expect_list(stub, (OTHER, "mlflow.example.com"), (ARN, "mlflow.example.com"), ("arn:aws:acm:us-east-1:123456789012:certificate/3333", "mlflow.example.com"))
    stub.add_response("describe_certificate", certificate("PENDING_VALIDATION", arn=OTHER), {"CertificateArn": OTHER})
    stub.add_response("describe_certificate", certificate("ISSUED"), {"CertificateArn": ARN})
    # Same domain, another set of names: not this one.
    stub.add_response("describe_certificate", certificate("ISSUED", arn="arn:aws:acm:us-east-1:123456789012:certificate/3333",
                                                          names=("mlflow.example.com", "www.example.com")),
                      {"CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/3333"})
    changed, found = module.ensure_present(client, PARAMS, False, waiter())
    assert not changed and found["CertificateArn"] == ARN


def test_check_mode_predicts_a_request_without_making_it(acm):
    stub, client = acm
    expect_list(stub)
    changed, found = module.ensure_present(client, PARAMS, True, waiter())
    assert changed and module.view(found)["certificate_arn"] == "(requested by this run)" and found["Status"] == "PENDING_VALIDATION"


def test_wait_returns_once_issued_and_fails_with_acms_reason(acm):
    stub, client = acm
    expect_list(stub, (ARN, "mlflow.example.com"))
    stub.add_response("describe_certificate", certificate("PENDING_VALIDATION"), {"CertificateArn": ARN})
    stub.add_response("describe_certificate", certificate("PENDING_VALIDATION"), {"CertificateArn": ARN})
    stub.add_response("describe_certificate", certificate("PENDING_VALIDATION"), {"CertificateArn": ARN})
    stub.add_response("describe_certificate", certificate("ISSUED"), {"CertificateArn": ARN})
    changed, found = module.ensure_present(client, dict(PARAMS, wait=True), False, waiter())
    assert not changed and found["Status"] == "ISSUED"

    expect_list(stub, (ARN, "mlflow.example.com"))
    stub.add_response("describe_certificate", certificate("PENDING_VALIDATION"), {"CertificateArn": ARN})
    stub.add_response("describe_certificate", certificate("PENDING_VALIDATION"), {"CertificateArn": ARN})
    stub.add_response("describe_certificate", certificate("FAILED", FailureReason="CAA_ERROR"), {"CertificateArn": ARN})
    with pytest.raises(module.AnsibleACMError, match="is FAILED: CAA_ERROR"):
        module.ensure_present(client, dict(PARAMS, wait=True), False, waiter())


def test_absent_deletes_unless_in_use(acm):
    stub, client = acm
    expect_list(stub, (ARN, "mlflow.example.com"))
    stub.add_response("describe_certificate", certificate("ISSUED", InUseBy=["arn:aws:elasticloadbalancing:lb"]), {"CertificateArn": ARN})
    with pytest.raises(module.AnsibleACMError, match="in use by arn:aws:elasticloadbalancing:lb"):
        module.ensure_absent(client, PARAMS, False)
    expect_list(stub, (ARN, "mlflow.example.com"))
    stub.add_response("describe_certificate", certificate("ISSUED"), {"CertificateArn": ARN})
    stub.add_response("delete_certificate", {}, {"CertificateArn": ARN})
    changed, deleted = module.ensure_absent(client, PARAMS, False)
    assert changed and deleted["CertificateArn"] == ARN

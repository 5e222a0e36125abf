#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: acm_certificate_request
short_description: Request a public ACM certificate validated by DNS, and wait until it is issued
version_added: 0.2.0
description:
  - Requests a public certificate from AWS Certificate Manager for a domain name (and more names)
    with DNS validation, or finds the one requested before for exactly these names
    (C(community.aws.acm_certificate) only imports certificates).
  - Returns the CNAME records that prove control of each name. Publish them (for example with
    C(amazon.aws.route53)), then run the module again with O(wait=true) to wait until ACM has issued
    the certificate.
  - A certificate that failed or timed out validation is reported with ACM's reason.
author:
  - mlflowops.beanstalk contributors (@mlflowops)
options:
  domain_name:
    description: The certificate's domain name, for example V(mlflow.example.com).
    required: true
    type: str
  subject_alternative_names:
    description: More names the certificate covers.
    type: list
    elements: str
    default: []
  state:
    description: Whether a certificate for exactly these names should exist.
    choices: [present, absent]
    default: present
    type: str
  tags:
    description: Tags set on a certificate this module requests.
    type: dict
    default: {}
  wait:
    description: Wait until the certificate is issued.
    type: bool
    default: false
  wait_timeout:
    description: How long to wait, in seconds (for the validation records, and with O(wait=true) for issuance).
    type: int
    default: 900
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
seealso:
  - module: community.aws.acm_certificate
    description: Imports certificates; this module requests ACM-issued ones, validated by DNS.
  - name: DNS validation
    description: How ACM validates a requested certificate.
    link: https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html
"""

EXAMPLES = r"""
- name: Request a certificate for the tracking server's hostname
  mlflowops.beanstalk.acm_certificate_request:
    domain_name: mlflow.example.com
  register: requested

- name: Publish the validation records
  amazon.aws.route53:
    zone: example.com
    record: "{{ item.name }}"
    type: CNAME
    ttl: 300
    value: "{{ item.value }}"
    overwrite: true
  loop: "{{ requested.certificate.validation_records }}"

- name: Wait until it is issued
  mlflowops.beanstalk.acm_certificate_request:
    domain_name: mlflow.example.com
    wait: true
"""

RETURN = r"""
certificate:
  description: The certificate; with O(state=absent), the one deleted (empty when there was none).
  returned: always
  type: dict
  contains:
    certificate_arn: {description: Its ARN., type: str, returned: when present}
    status: {description: ACM's status., type: str, returned: when present, sample: ISSUED}
    domain_name: {description: Its domain name., type: str, returned: when present}
    subject_alternative_names: {description: Every name it covers., type: list, elements: str, returned: when present}
    validation_records:
      description: The CNAME record that proves control of each name (ACM shares one between a name and its wildcard).
      type: list
      elements: dict
      returned: when present
      contains:
        name: {description: The record's name., type: str}
        type: {description: CNAME., type: str}
        value: {description: The record's value., type: str}
"""

import hashlib

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import common
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb.waiters import Waiter

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

LIVE = ["PENDING_VALIDATION", "ISSUED"]
FAILED = ("FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED", "INACTIVE")
PENDING_ARN = "(requested by this run)"


class AnsibleACMError(AnsibleAWSError):
    """A certificate that can't be had or removed, as the module reports it."""


def names_of(params):
    return sorted(set([params["domain_name"].lower()] + [name.lower() for name in params["subject_alternative_names"]]))


def describe(client, arn):
    return client.describe_certificate(CertificateArn=arn, aws_retry=True)["Certificate"]


def find(client, params):
    """The certificate requested for exactly these names (issued before pending), or None."""
    wanted = names_of(params)
    paginator = client.get_paginator("list_certificates")
    # Without Includes, ListCertificates returns RSA-2048 certificates only.
    pages = paginator.paginate(
        CertificateStatuses=LIVE,
        Includes={"keyTypes": ["RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1"]},
    )
    found = []
    for summary in pages.build_full_result().get("CertificateSummaryList", []):
        if summary.get("DomainName", "").lower() not in wanted:
            continue
        certificate = describe(client, summary["CertificateArn"])
        names = sorted(
            set(
                name.lower()
                for name in [certificate.get("DomainName", "")] + certificate.get("SubjectAlternativeNames", [])
            )
        )
        if certificate.get("Type") == "AMAZON_ISSUED" and names == wanted and certificate.get("Status") in LIVE:
            found.append(certificate)
    found.sort(key=lambda certificate: LIVE.index(certificate["Status"]), reverse=True)
    return found[0] if found else None


def validation_records(certificate):
    records = []
    for option in certificate.get("DomainValidationOptions", []):
        record = option.get("ResourceRecord")
        if record:
            item = {"name": record["Name"], "type": record["Type"], "value": record["Value"]}
            if item not in records:
                records.append(item)
    return records


def view(certificate):
    if not certificate:
        return {}
    return {
        "certificate_arn": certificate.get("CertificateArn", PENDING_ARN),
        "status": certificate.get("Status"),
        "domain_name": certificate.get("DomainName"),
        "subject_alternative_names": certificate.get("SubjectAlternativeNames", []),
        "validation_records": validation_records(certificate),
    }


def with_records(client, waiter, certificate):
    """ACM adds each name's validation record a few seconds after the request."""

    def complete(current):
        options = current.get("DomainValidationOptions", [])
        return current.get("Status") != "PENDING_VALIDATION" or (
            options and all(option.get("ResourceRecord") for option in options)
        )

    arn = certificate["CertificateArn"]
    return waiter.until(lambda: describe(client, arn), complete, lambda current: "the validation records of %s" % arn)


def wait_issued(client, waiter, certificate):
    arn = certificate["CertificateArn"]

    def done(current):
        return current.get("Status") != "PENDING_VALIDATION"

    def describe_wait(current):
        records = ", ".join("%s CNAME %s" % (record["name"], record["value"]) for record in validation_records(current))
        return "certificate %s to be issued: ACM issues it once DNS answers %s" % (arn, records)

    current = waiter.until(lambda: describe(client, arn), done, describe_wait)
    if current.get("Status") != "ISSUED":
        raise AnsibleACMError(
            "certificate %s is %s: %s" % (arn, current.get("Status"), current.get("FailureReason", "no reason given"))
        )
    return current


def idempotency_token(names):
    return hashlib.sha256(",".join(names).encode()).hexdigest()[:32]


def ensure_present(client, params, check_mode, waiter):
    certificate = find(client, params)
    changed = certificate is None
    if certificate is None:
        names = names_of(params)
        predicted = {
            "DomainName": params["domain_name"].lower(),
            "SubjectAlternativeNames": names,
            "Status": "PENDING_VALIDATION",
        }
        if check_mode:
            return True, predicted
        request = {
            "DomainName": params["domain_name"].lower(),
            "ValidationMethod": "DNS",
            "IdempotencyToken": idempotency_token(names),
        }
        if len(names) > 1:
            request["SubjectAlternativeNames"] = names
        if params["tags"]:
            request["Tags"] = [{"Key": key, "Value": str(value)} for key, value in sorted(params["tags"].items())]
        arn = client.request_certificate(aws_retry=True, **request)["CertificateArn"]
        certificate = describe(client, arn)
    if certificate.get("Status") in FAILED:
        raise AnsibleACMError(
            "certificate %s is %s: %s"
            % (certificate["CertificateArn"], certificate["Status"], certificate.get("FailureReason", ""))
        )
    if certificate.get("Status") == "PENDING_VALIDATION" and not check_mode:
        certificate = with_records(client, waiter, certificate)
        if params["wait"]:
            certificate = wait_issued(client, waiter, certificate)
    return changed, certificate


def ensure_absent(client, params, check_mode):
    certificate = find(client, params)
    if certificate is None:
        return False, None
    if certificate.get("InUseBy"):
        raise AnsibleACMError(
            "certificate %s is in use by %s" % (certificate["CertificateArn"], ", ".join(certificate["InUseBy"]))
        )
    if not check_mode:
        client.delete_certificate(CertificateArn=certificate["CertificateArn"], aws_retry=True)
    return True, certificate


def main():
    argument_spec = dict(
        domain_name=dict(required=True),
        subject_alternative_names=dict(type="list", elements="str", default=[]),
        state=dict(choices=["present", "absent"], default="present"),
        tags=dict(type="dict", default={}),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=900),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    client = module.client("acm", retry_decorator=AWSRetry.jittered_backoff())
    try:
        if params["state"] == "absent":
            changed, before = ensure_absent(client, params, module.check_mode)
            after = None
        else:
            before = None
            changed, after = ensure_present(client, params, module.check_mode, Waiter(params["wait_timeout"]))
            before = None if changed else after
    except AnsibleAWSError as error:
        common.fail(module, error)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        module.fail_json_aws(error, msg="ACM refused a call for the certificate of %s" % params["domain_name"])
    # With state=absent the result names what was deleted (its validation records can then go too).
    result = {"changed": changed, "certificate": view(after if params["state"] == "present" else before)}
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = {
            "before": {"names": names_of(params)} if before else {},
            "after": {"names": names_of(params)} if after else {},
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()

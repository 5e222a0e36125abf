"""The hostname's certificate: requested from ACM and validated by DNS in a Route 53 zone, as on AWS."""

import json

import pytest

from support.cloud import wait_for, wait_ready
from test_deploy import client_writes, recap

HOSTNAME = "mlflow.example.test"


def run_endpoint(cloud, run_playbook, extra, args=()):
    outputs = cloud.state_dir / "endpoint-outputs.json"
    outputs.unlink(missing_ok=True)
    result = run_playbook("tests/support/playbooks/endpoint.yml",
                          dict({"mlflowops_hostname": HOSTNAME, "mlflowops_certificate_arn": "", "outputs_file": str(outputs)}, **extra),
                          env={"LOCALCLOUD_PORT": str(cloud.port), "LOCALCLOUD_STATE_DIR": str(cloud.state_dir)}, args=args)
    return result, json.loads(outputs.read_text()) if outputs.exists() else None


def public_zone(cloud, name, private=False):
    route53 = cloud.client("route53")
    kwargs = {"VPC": {"VPCRegion": "us-east-1", "VPCId": cloud.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]}} if private else {}
    return route53.create_hosted_zone(Name=name, CallerReference=name + str(private), HostedZoneConfig={"PrivateZone": private}, **kwargs)["HostedZone"]["Id"]


def test_acm_issues_a_requested_certificate_only_once_dns_answers_its_validation_record(cloud):
    zone = public_zone(cloud, "example.test")
    acm = cloud.client("acm")
    arn = acm.request_certificate(DomainName="other.example.test", ValidationMethod="DNS")["CertificateArn"]
    option = acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainValidationOptions"][0]
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "PENDING_VALIDATION"
    record = option["ResourceRecord"]
    cloud.client("route53").change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
        "Name": record["Name"], "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": record["Value"]}]}}]})
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "ISSUED"


def test_a_certificate_is_requested_validated_in_the_zone_and_found_again(cloud, run_playbook):
    public_zone(cloud, "example.test")
    mark = len(cloud.requests())
    dry, _outputs = run_endpoint(cloud, run_playbook, {"mlflowops_hosted_zone": "example.test"}, args=["--check"])
    assert recap(dry)["failed"] == 0 and recap(dry)["changed"] > 0, dry.stdout[-3000:]
    assert client_writes(cloud, mark) == []

    first, outputs = run_endpoint(cloud, run_playbook, {"mlflowops_hosted_zone": "example.test"})
    assert recap(first)["failed"] == 0, first.stdout[-3000:]
    certificate = cloud.client("acm").describe_certificate(CertificateArn=outputs["certificate_arn"])["Certificate"]
    assert (certificate["Status"], certificate["DomainName"]) == ("ISSUED", HOSTNAME)
    assert outputs["hostname"] == HOSTNAME and outputs["allowed_hosts"] == [HOSTNAME, HOSTNAME + ":*"]

    mark = len(cloud.requests())
    again, outputs_again = run_endpoint(cloud, run_playbook, {"mlflowops_hosted_zone": "example.test."})
    assert recap(again)["changed"] == 0 and recap(again)["failed"] == 0, again.stdout[-3000:]
    assert outputs_again == outputs and client_writes(cloud, mark) == []
    assert len(cloud.client("acm").list_certificates()["CertificateSummaryList"]) == 2  # the standing localhost one too


@pytest.mark.parametrize("zones, asked, message", [
    (["example.test"], "other.test", "No public Route 53 hosted zone named other.test was found"),
    (["other.test"], "other.test", "The hosted zone other.test does not hold mlflow.example.test"),
    ([("example.test", "private")], "example.test", "(only a private one, which ACM can't use to validate)"),
])
def test_a_zone_that_cant_validate_the_hostname_stops_before_anything_is_created(cloud, run_playbook, zones, asked, message):
    for zone in zones:
        public_zone(cloud, zone[0], private=True) if isinstance(zone, tuple) else public_zone(cloud, zone)
    mark = len(cloud.requests())
    result, _outputs = run_endpoint(cloud, run_playbook, {"mlflowops_hosted_zone": asked})
    assert result.returncode != 0
    assert message in " ".join(result.stdout.split()), result.stdout[-3000:]
    assert client_writes(cloud, mark) == []


def test_the_hostname_gets_an_alias_to_the_environments_load_balancer(cloud, run_playbook):
    zone = public_zone(cloud, "example.test")
    eb = cloud.client("elasticbeanstalk")
    eb.create_application(ApplicationName="mlflow")
    branch = "Docker running on 64bit Amazon Linux 2023"
    platform = eb.list_platform_versions(Filters=[{"Type": "PlatformBranchName", "Operator": "=", "Values": [branch]}])["PlatformSummaryList"][0]
    eb.create_environment(ApplicationName="mlflow", EnvironmentName="mlflow", PlatformArn=platform["PlatformArn"], OptionSettings=[
        {"Namespace": "aws:elasticbeanstalk:environment", "OptionName": "LoadBalancerType", "Value": "application"}])
    wait_ready(eb, "mlflow")
    resources = eb.describe_environment_resources(EnvironmentName="mlflow")["EnvironmentResources"]
    balancer = cloud.client("elbv2").describe_load_balancers(LoadBalancerArns=[resources["LoadBalancers"][0]["Name"]])["LoadBalancers"][0]

    first, _outputs = run_endpoint(cloud, run_playbook, {"mlflowops_hosted_zone": "example.test", "record": True})
    assert recap(first)["failed"] == 0, first.stdout[-3000:]
    records = cloud.client("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    aliases = {(r["Type"], r["AliasTarget"]["DNSName"].rstrip("."), r["AliasTarget"]["HostedZoneId"]) for r in records if r["Name"] == HOSTNAME + "."}
    assert aliases == {(kind, balancer["DNSName"], balancer["CanonicalHostedZoneId"]) for kind in ("A", "AAAA")}

    mark = len(cloud.requests())
    again, _outputs = run_endpoint(cloud, run_playbook, {"mlflowops_hosted_zone": "example.test", "record": True})
    assert recap(again)["changed"] == 0 and recap(again)["failed"] == 0, again.stdout[-3000:]
    assert client_writes(cloud, mark) == []

    # Teardown: the aliases go; a purge also deletes the requested certificate and its validation record.
    removed, _outputs = run_endpoint(cloud, run_playbook, {"mlflowops_hosted_zone": "example.test", "remove": True, "purge": True})
    assert recap(removed)["failed"] == 0, removed.stdout[-3000:]
    left = cloud.client("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    assert sorted(r["Type"] for r in left) == ["NS", "SOA"], left
    assert [c["DomainName"] for c in cloud.client("acm").list_certificates()["CertificateSummaryList"]] == ["localhost"]
    eb.terminate_environment(EnvironmentName="mlflow")
    wait_for(lambda: not cloud.client("elbv2").describe_load_balancers()["LoadBalancers"], 60, 0.5)

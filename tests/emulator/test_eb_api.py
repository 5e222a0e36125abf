"""The emulated Elastic Beanstalk API, driven with boto3 as AWS documents it.

These tests need no running instance: environments without a version start nothing, and
application versions are checked against what lies in the emulated S3.
"""

import re
import time
import urllib.error
import urllib.request

import boto3
import botocore.config
import botocore.exceptions
import pytest

from support.cloud import toy_bundle, wait_for, wait_ready

BRANCH = "Docker running on 64bit Amazon Linux 2023"
ASG = "aws:autoscaling:asg"


def error_of(call, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]


@pytest.fixture
def eb(cloud):
    client = cloud.client("elasticbeanstalk")
    client.create_application(ApplicationName="app")
    return client


@pytest.fixture
def bundles(cloud):
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket="bundles")
    s3.put_object(Bucket="bundles", Key="good.zip", Body=toy_bundle())
    s3.put_object(Bucket="bundles", Key="not-a-zip.zip", Body=b"this is not a zip file")
    s3.put_object(Bucket="bundles", Key="no-dockerfile.zip", Body=toy_bundle(omit=("Dockerfile",)))
    return s3


def version_status(eb, label):
    return eb.describe_application_versions(ApplicationName="app", VersionLabels=[label])["ApplicationVersions"][0]["Status"]


def platform_arn(eb):
    return eb.list_platform_versions(Filters=[
        {"Type": "PlatformBranchName", "Operator": "=", "Values": [BRANCH]},
        {"Type": "PlatformLifecycleState", "Operator": "=", "Values": ["Recommended"]},
    ])["PlatformSummaryList"][0]["PlatformArn"]


def create_env(eb, name="env-one", **kwargs):
    kwargs.setdefault("PlatformArn", platform_arn(eb))
    return eb.create_environment(ApplicationName="app", EnvironmentName=name, **kwargs)


def test_applications_update_and_filter_by_name(eb):
    eb.create_application(ApplicationName="other", Description="first")
    assert [app["ApplicationName"] for app in eb.describe_applications(ApplicationNames=["other"])["Applications"]] == ["other"]
    assert eb.update_application(ApplicationName="other", Description="second")["Application"]["Description"] == "second"
    assert eb.describe_applications(ApplicationNames=["other"])["Applications"][0]["Description"] == "second"
    assert error_of(eb.create_application, ApplicationName="other")["Code"] == "InvalidParameterValue"
    eb.delete_application(ApplicationName="other")
    assert eb.describe_applications(ApplicationNames=["other"])["Applications"] == []


def test_platform_branch_lists_one_recommended_version(eb):
    every = eb.list_platform_versions(Filters=[{"Type": "PlatformBranchName", "Operator": "=", "Values": [BRANCH]}])["PlatformSummaryList"]
    assert len(every) >= 2
    recommended = [summary for summary in every if summary["PlatformLifecycleState"] == "Recommended"]
    assert len(recommended) == 1 and recommended[0]["PlatformArn"].startswith("arn:aws:elasticbeanstalk:us-east-1::platform/" + BRANCH + "/")
    assert eb.list_platform_versions(Filters=[{"Type": "PlatformBranchName", "Operator": "=", "Values": ["Tomcat"]}])["PlatformSummaryList"] == []
    newer = eb.list_platform_versions(Filters=[{"Type": "PlatformVersion", "Operator": ">", "Values": [every[0]["PlatformVersion"]]}])
    assert every[0]["PlatformVersion"] not in [summary["PlatformVersion"] for summary in newer["PlatformSummaryList"]]
    described = eb.describe_platform_version(PlatformArn=recommended[0]["PlatformArn"])["PlatformDescription"]
    assert described["SolutionStackName"] in eb.list_available_solution_stacks()["SolutionStacks"]


def test_version_is_processed_when_the_bundle_is_a_docker_zip(eb, bundles):
    created = eb.create_application_version(ApplicationName="app", VersionLabel="v1", Process=True,
                                            SourceBundle={"S3Bucket": "bundles", "S3Key": "good.zip"})["ApplicationVersion"]
    assert created["Status"] == "Processing"
    assert wait_for(lambda: version_status(eb, "v1") == "Processed", 10, 0.2)
    assert "v1" in eb.describe_applications(ApplicationNames=["app"])["Applications"][0]["Versions"]


@pytest.mark.parametrize("key, reason", [("not-a-zip.zip", "not a valid ZIP"), ("no-dockerfile.zip", "no Dockerfile")])
def test_version_fails_with_the_reason_for_a_bad_bundle(eb, bundles, key, reason):
    eb.create_application_version(ApplicationName="app", VersionLabel="bad", Process=True, SourceBundle={"S3Bucket": "bundles", "S3Key": key})
    assert wait_for(lambda: version_status(eb, "bad") != "Processing", 10, 0.2) and version_status(eb, "bad") == "Failed"
    errors = eb.describe_events(ApplicationName="app", VersionLabel="bad", Severity="ERROR")["Events"]
    assert errors and reason in errors[0]["Message"]
    # A failed version can't be deployed.
    assert error_of(create_env, eb=eb, VersionLabel="bad")["Code"] == "InvalidParameterValue"


def test_version_errors(eb, bundles):
    source = {"S3Bucket": "bundles", "S3Key": "good.zip"}
    eb.create_application_version(ApplicationName="app", VersionLabel="v1", SourceBundle=source)
    duplicate = error_of(eb.create_application_version, ApplicationName="app", VersionLabel="v1", SourceBundle=source)
    assert duplicate["Code"] == "InvalidParameterValue" and "already exists" in duplicate["Message"]
    missing = error_of(eb.create_application_version, ApplicationName="app", VersionLabel="v2", SourceBundle={"S3Bucket": "bundles", "S3Key": "nope.zip"})
    assert missing["Code"] == "InvalidParameterCombination" and "Unable to download from S3" in missing["Message"]
    no_app = error_of(eb.create_application_version, ApplicationName="ghost", VersionLabel="v1", SourceBundle=source)
    assert "No Application named 'ghost'" in no_app["Message"]
    # Without Process the version is not checked, as on AWS.
    assert eb.describe_application_versions(ApplicationName="app", VersionLabels=["v1"])["ApplicationVersions"][0]["Status"] == "Unprocessed"


def test_version_in_use_cannot_be_deleted(eb, bundles, cloud):
    eb.create_application_version(ApplicationName="app", VersionLabel="v1", Process=True, SourceBundle={"S3Bucket": "bundles", "S3Key": "good.zip"})
    eb.create_application_version(ApplicationName="app", VersionLabel="v2", SourceBundle={"S3Bucket": "bundles", "S3Key": "good.zip"})
    wait_for(lambda: version_status(eb, "v1") == "Processed", 10, 0.2)
    create_env(eb, VersionLabel="v1")
    wait_ready(eb, "env-one")
    refused = error_of(eb.delete_application_version, ApplicationName="app", VersionLabel="v1")
    assert refused["Code"] == "InvalidParameterValue" and "env-one" in refused["Message"]
    eb.delete_application_version(ApplicationName="app", VersionLabel="v2")
    assert [v["VersionLabel"] for v in eb.describe_application_versions(ApplicationName="app")["ApplicationVersions"]] == ["v1"]


def test_environment_lifecycle_ids_cname_and_filters(eb):
    created = create_env(eb, CNAMEPrefix="my-prefix", Tags=[{"Key": "team", "Value": "ml"}])
    assert created["Status"] == "Launching" and created["Health"] == "Grey"
    assert created["EnvironmentId"].startswith("e-") and len(created["EnvironmentId"]) == 12
    ready = wait_ready(eb, "env-one")
    assert ready["CNAME"].startswith("localhost:")
    assert eb.describe_environments(EnvironmentIds=[created["EnvironmentId"]])["Environments"][0]["EnvironmentName"] == "env-one"
    assert eb.describe_environments(EnvironmentNames=["other"])["Environments"] == []
    assert eb.describe_environments(ApplicationName="ghost")["Environments"] == []
    assert not eb.check_dns_availability(CNAMEPrefix="my-prefix")["Available"]
    free = eb.check_dns_availability(CNAMEPrefix="free-prefix")
    assert free["Available"] and free["FullyQualifiedCNAME"] == "free-prefix.us-east-1.elasticbeanstalk.com"
    assert error_of(eb.check_dns_availability, CNAMEPrefix="bad_prefix")["Code"] == "InvalidParameterValue"
    taken = error_of(create_env, eb=eb, name="env-two", CNAMEPrefix="my-prefix")
    assert "is not available" in taken["Message"]

    tags = {tag["Key"]: tag["Value"] for tag in eb.list_tags_for_resource(ResourceArn=ready["EnvironmentArn"])["ResourceTags"]}
    assert tags == {"team": "ml", "Name": "env-one", "elasticbeanstalk:environment-name": "env-one", "elasticbeanstalk:environment-id": ready["EnvironmentId"]}
    eb.update_tags_for_resource(ResourceArn=ready["EnvironmentArn"], TagsToAdd=[{"Key": "cost", "Value": "1"}], TagsToRemove=["team"])
    tags = {tag["Key"] for tag in eb.list_tags_for_resource(ResourceArn=ready["EnvironmentArn"])["ResourceTags"]}
    assert "cost" in tags and "team" not in tags
    reserved = error_of(eb.update_tags_for_resource, ResourceArn=ready["EnvironmentArn"], TagsToAdd=[{"Key": "elasticbeanstalk:x", "Value": "1"}])
    assert reserved["Code"] == "InvalidParameterValue"

    terminating = eb.terminate_environment(EnvironmentName="env-one")
    assert terminating["Status"] == "Terminating"
    wait_for(lambda: eb.describe_environments(EnvironmentNames=["env-one"])["Environments"][0]["Status"] == "Terminated", 30, 0.2)
    assert eb.describe_environments(EnvironmentNames=["env-one"], IncludeDeleted=False)["Environments"] == []
    gone = error_of(eb.terminate_environment, EnvironmentName="env-one")
    assert "No Environment found" in gone["Message"]
    # The name and the CNAME prefix are free again.
    assert eb.check_dns_availability(CNAMEPrefix="my-prefix")["Available"]
    create_env(eb)


def settings(*items):
    return {"EnvironmentName": "env-one", "OptionSettings": [{"Namespace": ns, "OptionName": name, "Value": value} for ns, name, value in items]}


def test_environment_errors(eb):
    arn = platform_arn(eb)
    cases = [
        (dict(EnvironmentName="bad_name!"), "EnvironmentName"),
        (dict(EnvironmentName="-leading"), "EnvironmentName"),
        (dict(EnvironmentName="env-one", PlatformArn=arn.replace(BRANCH, "Tomcat 9")), "No Platform named"),
        (dict(EnvironmentName="env-one", PlatformArn=None, SolutionStackName="64bit Amazon Linux 2 v9 running Cobol"), "No Solution Stack"),
        (dict(EnvironmentName="env-one", VersionLabel="ghost"), "No Application Version named 'ghost'"),
        (settings((ASG, "MinSize", "5"), (ASG, "MaxSize", "2")), "MinSize (5) must be less than or equal to MaxSize (2)"),
        (settings((ASG, "MinSize", "two")), "Value is not an integer"),
        (settings(("aws:nothing", "X", "1")), "Unknown configuration setting"),
        (settings(("aws:elasticbeanstalk:command", "DeploymentPolicy", "Sometimes")), "Value is not one of"),
    ]
    for params, message in cases:
        params = dict(params)
        platform = params.pop("PlatformArn", arn)
        if platform:
            params["PlatformArn"] = platform
        error = error_of(eb.create_environment, ApplicationName="app", **params)
        assert error["Code"] == "InvalidParameterValue" and message in error["Message"], (params, error)
    assert eb.describe_environments()["Environments"] == []
    assert "No Application named 'ghost'" in error_of(eb.create_environment, ApplicationName="ghost", EnvironmentName="env-one", PlatformArn=arn)["Message"]


def test_settings_are_kept_reported_with_defaults_and_checked_on_update(eb):
    create_env(eb, OptionSettings=[
        {"Namespace": "aws:elasticbeanstalk:environment", "OptionName": "LoadBalancerType", "Value": "application"},
        {"Namespace": "aws:elasticbeanstalk:application:environment", "OptionName": "GREETING", "Value": "hello"},
    ])
    wait_ready(eb, "env-one")

    def settings():
        sets = eb.describe_configuration_settings(ApplicationName="app", EnvironmentName="env-one")["ConfigurationSettings"]
        assert [s["DeploymentStatus"] for s in sets] == ["deployed"]
        return {(o["Namespace"], o["OptionName"]): o["Value"] for o in sets[0]["OptionSettings"]}

    first = settings()
    assert first[("aws:elasticbeanstalk:environment", "LoadBalancerType")] == "application"
    assert first[("aws:elasticbeanstalk:application:environment", "GREETING")] == "hello"
    assert first[(ASG, "MinSize")] == "1" and first[(ASG, "MaxSize")] == "4"  # EB's defaults
    assert first[("aws:elasticbeanstalk:command", "DeploymentPolicy")] == "AllAtOnce"
    assert first[("aws:elbv2:loadbalancer", "IdleTimeout")] == "60"  # the ALB's default

    immutable = error_of(eb.update_environment, EnvironmentName="env-one", OptionSettings=[
        {"Namespace": "aws:elasticbeanstalk:environment", "OptionName": "LoadBalancerType", "Value": "network"}])
    assert "load balancer type" in immutable["Message"]
    too_big = error_of(eb.update_environment, EnvironmentName="env-one", OptionSettings=[{"Namespace": ASG, "OptionName": "MinSize", "Value": "7"}])
    assert "MinSize (7)" in too_big["Message"]
    for namespace, option, value, reason in (
        ("aws:elbv2:loadbalancer", "IdleTimeout", "4001", "between 1 and 4000"),
        ("aws:autoscaling:launchconfiguration", "RootVolumeSize", "9", "between 10 and 16384"),  # 8 is for magnetic volumes only
    ):
        refused = error_of(eb.update_environment, EnvironmentName="env-one", OptionSettings=[{"Namespace": namespace, "OptionName": option, "Value": value}])
        assert reason in refused["Message"] and option in refused["Message"], refused
    assert settings() == first

    updated = eb.update_environment(EnvironmentName="env-one", OptionSettings=[{"Namespace": ASG, "OptionName": "MaxSize", "Value": "6"}],
                                    OptionsToRemove=[{"Namespace": "aws:elasticbeanstalk:application:environment", "OptionName": "GREETING"}])
    assert updated["Status"] == "Updating"
    wait_ready(eb, "env-one")
    second = settings()
    assert second[(ASG, "MaxSize")] == "6"
    assert ("aws:elasticbeanstalk:application:environment", "GREETING") not in second


def test_instances_security_groups_are_reported_with_ebs_own_group_unless_it_is_disabled(eb):
    launch = "aws:autoscaling:launchconfiguration"

    def groups(name):
        sets = eb.describe_configuration_settings(ApplicationName="app", EnvironmentName=name)["ConfigurationSettings"]
        return {(o["Namespace"], o["OptionName"]): o["Value"] for o in sets[0]["OptionSettings"]}[(launch, "SecurityGroups")].split(",")

    create_env(eb, OptionSettings=[{"Namespace": launch, "OptionName": "SecurityGroups", "Value": "sg-mine"}])
    env_id = wait_ready(eb, "env-one")["EnvironmentId"]
    mine, own = groups("env-one")
    assert mine == "sg-mine" and own.startswith("awseb-%s-stack-AWSEBSecurityGroup-" % env_id)

    disabled = {"Namespace": launch, "OptionName": "DisableDefaultEC2SecurityGroup", "Value": "true"}
    refused = error_of(create_env, eb=eb, name="env-two", OptionSettings=[disabled])
    assert refused["Code"] == "InvalidParameterValue" and "SecurityGroups" in refused["Message"]
    eb.update_environment(EnvironmentName="env-one", OptionSettings=[disabled])
    wait_ready(eb, "env-one")
    assert groups("env-one") == ["sg-mine"]


def test_events_filter_by_request_severity_and_time(eb):
    before = time.time()
    created = create_env(eb)
    request_id = created["ResponseMetadata"]["RequestId"]
    wait_ready(eb, "env-one")
    updated = eb.update_environment(EnvironmentName="env-one", OptionSettings=[{"Namespace": ASG, "OptionName": "MaxSize", "Value": "3"}])
    wait_ready(eb, "env-one")
    mine = eb.describe_events(RequestId=request_id)["Events"]
    assert mine and all(event["RequestId"] == request_id for event in mine)
    assert [event["Message"] for event in mine][-1] == "createEnvironment is starting."
    assert "Successfully launched environment: env-one" in [event["Message"] for event in mine]
    update_events = eb.describe_events(RequestId=updated["ResponseMetadata"]["RequestId"])["Events"]
    assert update_events[0]["Message"] == "Environment update completed successfully."
    assert eb.describe_events(EnvironmentName="env-one", Severity="ERROR")["Events"] == []
    newest_first = eb.describe_events(EnvironmentName="env-one")["Events"]
    assert [e["EventDate"] for e in newest_first] == sorted((e["EventDate"] for e in newest_first), reverse=True)
    later = newest_first[0]["EventDate"]
    assert all(e["EventDate"] >= later for e in eb.describe_events(EnvironmentName="env-one", StartTime=later)["Events"])
    assert newest_first[-1]["EventDate"].timestamp() >= before - 1
    assert len(eb.describe_events(EnvironmentName="env-one", MaxRecords=2)["Events"]) == 2


def test_reset_forgets_everything(cloud, eb):
    create_env(eb)
    wait_ready(eb, "env-one")
    cloud.reset()
    assert eb.describe_applications()["Applications"] == []
    assert eb.describe_environments()["Environments"] == []


def test_a_presigned_url_signed_for_another_region_than_its_buckets_is_refused(cloud):
    """As S3 refuses it (a server whose S3 client has no region signs for us-east-1)."""

    cloud.client("s3").create_bucket(Bucket="far-away", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})

    def put(region):
        # Signed as MLflow's S3 client signs (SigV4); a client without a region signs for none.
        signer = boto3.client("s3", endpoint_url=cloud.http_endpoint, region_name=region, aws_access_key_id="test", aws_secret_access_key="test",
                              config=botocore.config.Config(signature_version="s3v4"))
        url = signer.generate_presigned_url("put_object", Params={"Bucket": "far-away", "Key": "k"})
        try:
            request = urllib.request.Request(url, data=b"v", method="PUT", headers={"Content-Type": "application/octet-stream"})
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    status, body = put("us-east-1")
    assert status == 400 and "AuthorizationQueryParametersError" in body
    assert "the region 'us-east-1' is wrong; expecting 'eu-west-1'" in body
    assert put("")[0] == 400
    assert put("eu-west-1")[0] == 200
    assert cloud.client("s3", "eu-west-1").get_object(Bucket="far-away", Key="k")["Body"].read() == b"v"


def test_a_tls_only_bucket_policy_refuses_plain_http_to_everyone_and_allows_https(cloud):
    import json  # pylint: disable=import-outside-toplevel

    s3, plain = cloud.client("s3"), cloud.client("s3", tls=False)
    s3.create_bucket(Bucket="tls-only")
    tls_only = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": ["arn:aws:s3:::tls-only", "arn:aws:s3:::tls-only/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    s3.put_bucket_policy(Bucket="tls-only", Policy=json.dumps(tls_only))
    s3.put_object(Bucket="tls-only", Key="k", Body=b"v")
    assert s3.get_object(Bucket="tls-only", Key="k")["Body"].read() == b"v"
    # The same account's keys over plain HTTP: the Deny applies to every caller, whatever the call.
    for call in (lambda: plain.get_object(Bucket="tls-only", Key="k"), lambda: plain.put_object(Bucket="tls-only", Key="k", Body=b"x"),
                 lambda: plain.list_objects_v2(Bucket="tls-only"), lambda: plain.delete_bucket_policy(Bucket="tls-only")):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "AccessDenied", refused.value.response
        assert "explicit deny in a resource-based policy" in refused.value.response["Error"]["Message"]
    # A presigned URL too: valid, but for plain HTTP.
    url = plain.generate_presigned_url("get_object", Params={"Bucket": "tls-only", "Key": "k"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)  # pylint: disable=consider-using-with
    assert refused.value.code == 403
    assert s3.get_object(Bucket="tls-only", Key="k")["Body"].read() == b"v"
    # A statement without a condition applies over HTTPS too.
    deny_get = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::tls-only/*"}]}
    s3.put_bucket_policy(Bucket="tls-only", Policy=json.dumps(deny_get))
    with pytest.raises(botocore.exceptions.ClientError):
        s3.get_object(Bucket="tls-only", Key="k")
    assert s3.list_objects_v2(Bucket="tls-only")["KeyCount"] == 1


def test_rds_reports_the_full_engine_version_of_a_major_and_refuses_a_bare_major_as_a_modification(cloud):
    rds = cloud.client("rds")
    created = rds.create_db_instance(DBInstanceIdentifier="db", Engine="postgres", EngineVersion="16", DBInstanceClass="db.t3.micro",
                                     MasterUsername="owner", MasterUserPassword="Pg-pass-0001", AllocatedStorage=20)["DBInstance"]
    assert re.fullmatch(r"16\.\d+", created["EngineVersion"])
    assert rds.describe_db_instances(DBInstanceIdentifier="db")["DBInstances"][0]["EngineVersion"] == created["EngineVersion"]
    refused = error_of(rds.modify_db_instance, DBInstanceIdentifier="db", EngineVersion="16", ApplyImmediately=True)
    assert refused["Code"] == "InvalidParameterCombination"
    unknown = error_of(rds.create_db_instance, DBInstanceIdentifier="db2", Engine="postgres", EngineVersion="9", DBInstanceClass="db.t3.micro",
                       MasterUsername="owner", MasterUserPassword="Pg-pass-0001", AllocatedStorage=20)
    assert "Cannot find version 9" in unknown["Message"]


def test_managed_platform_updates_need_enhanced_health_a_window_a_level_and_a_role(eb):
    managed, update = "aws:elasticbeanstalk:managedactions", "aws:elasticbeanstalk:managedactions:platformupdate"
    enhanced = {"Namespace": "aws:elasticbeanstalk:healthreporting:system", "OptionName": "SystemType", "Value": "enhanced"}
    complete = [
        {"Namespace": managed, "OptionName": "ManagedActionsEnabled", "Value": "true"},
        {"Namespace": managed, "OptionName": "PreferredStartTime", "Value": "Sun:03:00"},
        {"Namespace": managed, "OptionName": "ServiceRoleForManagedUpdates", "Value": "arn:aws:iam::123456789012:role/eb-service"},
        {"Namespace": update, "OptionName": "UpdateLevel", "Value": "minor"},
    ]
    basic_health = error_of(create_env, eb=eb, OptionSettings=complete)
    assert "enhanced health" in basic_health["Message"]
    for index, missing in ((1, "PreferredStartTime"), (2, "ServiceRoleForManagedUpdates"), (3, "UpdateLevel")):
        refused = error_of(create_env, eb=eb, OptionSettings=[enhanced] + complete[:index] + complete[index + 1:])
        assert missing in refused["Message"], refused
    bad_window = error_of(create_env, eb=eb, OptionSettings=[enhanced, complete[0], dict(complete[1], Value="Sunday 3am")] + complete[2:])
    assert "day:hour:minute" in bad_window["Message"]
    bad_level = error_of(create_env, eb=eb, OptionSettings=[enhanced] + complete[:3] + [dict(complete[3], Value="major")])
    assert "patch, minor" in bad_level["Message"]
    create_env(eb, OptionSettings=[enhanced] + complete)
    wait_ready(eb, "env-one")


def test_an_application_load_balancer_takes_one_subnet_per_zone_in_at_least_two_zones(cloud, eb):
    ec2 = cloud.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    defaults = sorted(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"], key=lambda s: s["AvailabilityZone"])
    assert len({s["AvailabilityZone"] for s in defaults}) == len(defaults) >= 2  # the default VPC: one subnet per zone
    private = ec2.create_subnet(VpcId=vpc, CidrBlock="172.31.200.0/24", AvailabilityZone=defaults[0]["AvailabilityZone"])["Subnet"]["SubnetId"]

    def elb_subnets(*subnets):
        return [{"Namespace": "aws:elasticbeanstalk:environment", "OptionName": "LoadBalancerType", "Value": "application"},
                {"Namespace": "aws:ec2:vpc", "OptionName": "ELBSubnets", "Value": ",".join(subnets)}]

    same_zone = error_of(create_env, eb=eb, OptionSettings=elb_subnets(defaults[0]["SubnetId"], private, defaults[1]["SubnetId"]))
    assert "multiple subnets in the same Availability Zone" in same_zone["Message"]
    one_zone = error_of(create_env, eb=eb, OptionSettings=elb_subnets(defaults[0]["SubnetId"]))
    assert "two different Availability Zones" in one_zone["Message"]
    unknown = error_of(create_env, eb=eb, OptionSettings=elb_subnets(defaults[0]["SubnetId"], "subnet-00000000"))
    assert "subnet-00000000" in unknown["Message"]
    create_env(eb, OptionSettings=elb_subnets(defaults[0]["SubnetId"], defaults[1]["SubnetId"]))
    wait_ready(eb, "env-one")
    refused = error_of(eb.update_environment, EnvironmentName="env-one", OptionSettings=elb_subnets(defaults[0]["SubnetId"], private)[1:])
    assert "same Availability Zone" in refused["Message"]

"""The local platform runs bundles the way EB's Docker platform would, on this machine.

A small bundle (tests/support/cloud.py) serves JSON about itself: its version, the
forwarded headers it sees and some of its environment.
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import ssl
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest

from support.cloud import events, instance_policy, instance_profile, toy_bundle, wait_for, wait_ready

ENV_NS = "aws:elasticbeanstalk:application:environment"
PROCESS = "aws:elasticbeanstalk:environment:process:default"
COMMAND = "aws:elasticbeanstalk:command"
ASG = "aws:autoscaling:asg"
LAUNCH = "aws:autoscaling:launchconfiguration"
SOME_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:toy/none-AbCdEf"
HOP_LIMIT_HOOK = Path(__file__).resolve().parents[2] / "roles" / "bundle" / "files" / "imds-hop-limit.sh"
INSECURE = ssl._create_unverified_context()  # the front door's certificate is self-signed


def option(namespace, name, value):
    return {"Namespace": namespace, "OptionName": name, "Value": value}


def get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=INSECURE) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


class Toy:
    """Puts bundles in S3 as application versions and runs environments of them."""

    def __init__(self, cloud):
        self.cloud = cloud
        self.eb = cloud.client("elasticbeanstalk")
        self.s3 = cloud.client("s3")
        self.s3.create_bucket(Bucket="bundles")
        self.eb.create_application(ApplicationName="toy")
        self.platform = self.eb.list_platform_versions()["PlatformSummaryList"][-1]["PlatformArn"]

    def version(self, label, **kwargs):
        self.s3.put_object(Bucket="bundles", Key=label + ".zip", Body=toy_bundle(label, **kwargs))
        self.eb.create_application_version(ApplicationName="toy", VersionLabel=label, Process=True,
                                           SourceBundle={"S3Bucket": "bundles", "S3Key": label + ".zip"})
        wait_for(lambda: self.status(label) == "Processed", 10, 0.2)
        return label

    def status(self, label):
        return self.eb.describe_application_versions(ApplicationName="toy", VersionLabels=[label])["ApplicationVersions"][0]["Status"]

    def launch(self, name, label, settings=(), instances=1):
        settings = [option(ASG, "MinSize", str(instances)), option(PROCESS, "HealthCheckPath", "/health")] + list(settings)
        created = self.eb.create_environment(ApplicationName="toy", EnvironmentName=name, PlatformArn=self.platform,
                                             VersionLabel=label, OptionSettings=settings)
        return created, wait_ready(self.eb, name)

    def instance_dirs(self, env_id):
        return sorted((self.cloud.state_dir / "envs" / env_id / "instances").iterdir())


@pytest.fixture
def toy(cloud):
    return Toy(cloud)


def test_bundle_runs_behind_nginx_and_the_front_door(toy):
    label = toy.version("v1")
    created, env = toy.launch("toy-env", label, [option(ENV_NS, "TOY_GREETING", "hello")], instances=2)
    assert env["Health"] == "Green" and env["HealthStatus"] == "Ok" and env["VersionLabel"] == "v1"
    https = "https://%s" % env["CNAME"]
    status, headers, body = get(https + "/whoami")
    answer = json.loads(body)
    assert status == 200 and answer["version"] == "v1" and answer["greeting"] == "hello"
    # The front door tells the app how the client came in, as an ALB does.
    assert answer["proto"] == "https" and answer["port"] == env["CNAME"].split(":")[1]
    assert json.loads(get("http://%s/whoami" % env["EndpointURL"])[2])["proto"] == "http"
    # The bundle's server-level nginx snippet is in force on the instance's nginx.
    assert headers["X-Toy-Snippet"] == "on"
    # Its http-level snippet too: a body over 2 MB is refused by the instance's nginx.
    request = urllib.request.Request(https + "/upload", data=b"x" * (3 * 1024 * 1024), method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, context=INSECURE, timeout=10)
    assert refused.value.code == 413
    # Both instances serve, each ran its predeploy hook, and the platform's stand-ins reached the app.
    pids = {json.loads(get(https + "/whoami")[2])["pid"] for _attempt in range(20)}
    assert len(pids) == 2
    dirs = toy.instance_dirs(env["EnvironmentId"])
    assert len(dirs) == 2 and all((d / "nginx" / "hook-ran").read_text().strip() == "predeploy" for d in dirs)
    assert answer["endpoint"] == toy.cloud.endpoint
    resources = toy.eb.describe_environment_resources(EnvironmentName="toy-env")["EnvironmentResources"]
    assert sorted(i["Id"] for i in resources["Instances"]) == [d.name for d in dirs]
    messages = [e["Message"] for e in events(toy.eb, "toy-env", RequestId=created["ResponseMetadata"]["RequestId"])]
    assert messages[0] == "createEnvironment is starting." and messages[-1] == "Successfully launched environment: toy-env"


def test_instances_of_a_new_environment_start_together(toy):
    # Each app listens only once all three have started (a barrier, not a clock): started one
    # after the other, the first would never listen and the launch would fail.
    barrier = Path(tempfile.mkdtemp(prefix="toy-barrier-"))
    barrier.chmod(0o777)  # whichever user the apps run as
    try:
        label = toy.version("v1")
        _created, env = toy.launch("toy-env", label, [option(ENV_NS, "TOY_BARRIER", "3"), option(ENV_NS, "TOY_BARRIER_DIR", str(barrier))],
                                   instances=3)
        assert env["Health"] == "Green" and len(list(barrier.iterdir())) == 3
    finally:
        shutil.rmtree(barrier, ignore_errors=True)


def test_secrets_come_from_secrets_manager_and_rds_is_the_local_postgresql(toy):
    secrets = toy.cloud.client("secretsmanager")
    arn = secrets.create_secret(Name="toy/secret", SecretString="s3cr3t-value")["ARN"]
    label = toy.version("v1")
    # EB reads the secret with the instance profile: without a role that may, the launch fails.
    instance_profile(toy.cloud, "no-secrets", instance_policy("toy-artifacts", "mlflow", [SOME_SECRET], "toy-env"))
    toy.launch("toy-denied", label, [option("aws:elasticbeanstalk:application:environmentsecrets", "TOY_SECRET", arn),
                                     option(LAUNCH, "IamInstanceProfile", "no-secrets")])
    errors = " ".join(e["Message"] for e in events(toy.eb, "toy-denied", Severity="ERROR"))
    assert "is not authorized to perform: secretsmanager:GetSecretValue on resource: %s" % arn in errors, errors
    instance_profile(toy.cloud, "toy-profile", instance_policy("toy-artifacts", "mlflow", [arn], "toy-env"))
    _created, env = toy.launch("toy-env", label, [option("aws:elasticbeanstalk:application:environmentsecrets", "TOY_SECRET", arn),
                                                  option(LAUNCH, "IamInstanceProfile", "toy-profile")])
    answer = json.loads(get("https://%s/" % env["CNAME"])[2])
    assert answer["secret_sha256"] == hashlib.sha256(b"s3cr3t-value").hexdigest()
    # The secret is in no option setting the API returns.
    settings = toy.eb.describe_configuration_settings(ApplicationName="toy", EnvironmentName="toy-env")["ConfigurationSettings"][0]
    assert "s3cr3t-value" not in json.dumps(settings, default=str)

    rds = toy.cloud.client("rds")
    endpoint = rds.create_db_instance(DBInstanceIdentifier="db", Engine="postgres", DBInstanceClass="db.t3.micro",
                                      MasterUsername="owner", MasterUserPassword="Pg-pass-0001", DBName="appdb",
                                      AllocatedStorage=20)["DBInstance"]["Endpoint"]
    assert endpoint["Address"] == "127.0.0.1"
    psql = sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))[-1]

    def query(password, sslmode="verify-full", statement="select current_user", database="appdb"):
        return subprocess.run([str(psql), "-h", "127.0.0.1", "-p", str(endpoint["Port"]), "-U", "owner", "-d", database, "-Atc", statement],
                              env={"PGPASSWORD": password, "PATH": "/usr/bin:/bin", "PGSSLMODE": sslmode, "PGSSLROOTCERT": str(toy.cloud.ca)},
                              capture_output=True, text=True, check=False)

    # Over TLS, its certificate verified with the CA the platform gives images as RDS's; never without TLS.
    assert query("Pg-pass-0001").stdout.strip() == "owner"
    refused = query("Pg-pass-0001", sslmode="disable")
    assert refused.returncode != 0 and "no encryption" in refused.stderr
    assert query("wrong").returncode != 0
    rds.modify_db_instance(DBInstanceIdentifier="db", MasterUserPassword="Pg-pass-0002", ApplyImmediately=True)
    assert query("Pg-pass-0001").returncode != 0 and query("Pg-pass-0002").stdout.strip() == "owner"
    # The master user may create databases (RDS gives it CREATEDB); they belong to the instance.
    assert query("Pg-pass-0002", statement="create database appdb_auth").returncode == 0
    assert query("Pg-pass-0002", database="appdb_auth").stdout.strip() == "owner"
    rds.delete_db_instance(DBInstanceIdentifier="db", SkipFinalSnapshot=True)
    assert query("Pg-pass-0002").returncode != 0
    # Deleting the instance deletes every database on it, as on RDS.
    rds.create_db_instance(DBInstanceIdentifier="db", Engine="postgres", DBInstanceClass="db.t3.micro",
                           MasterUsername="owner", MasterUserPassword="Pg-pass-0003", DBName="appdb", AllocatedStorage=20)
    gone = query("Pg-pass-0003", database="appdb_auth")
    assert gone.returncode != 0 and 'database "appdb_auth" does not exist' in gone.stderr, gone.stderr
    rds.delete_db_instance(DBInstanceIdentifier="db", SkipFinalSnapshot=True)


def test_instances_are_ec2_instances_whose_container_is_one_hop_from_the_metadata_service(toy):
    role = instance_profile(toy.cloud, "toy-profile")
    label = toy.version("v1")
    _created, env = toy.launch("toy-env", label, [option(LAUNCH, "IamInstanceProfile", "toy-profile")])
    https = "https://%s" % env["CNAME"]
    instance_id = toy.eb.describe_environment_resources(EnvironmentName="toy-env")["EnvironmentResources"]["Instances"][0]["Id"]
    ec2 = toy.cloud.client("ec2")
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    tags = {tag["Key"]: tag["Value"] for tag in instance["Tags"]}
    assert tags == {"elasticbeanstalk:environment-name": "toy-env", "elasticbeanstalk:environment-id": env["EnvironmentId"], "Name": "toy-env"}
    assert instance["IamInstanceProfile"]["Arn"].endswith(":instance-profile/toy-profile")
    # EB's launch template: IMDSv1 off (DisableIMDSv1 defaults to true), EC2's default hop limit.
    assert instance["MetadataOptions"]["HttpTokens"] == "required" and instance["MetadataOptions"]["HttpPutResponseHopLimit"] == 1

    # The app gets no keys: only the metadata service, which the container can't get a token
    # from while the hop limit is 1, and which refuses it any read without one.
    whoami = json.loads(get(https + "/whoami")[2])
    assert "AWS_ACCESS_KEY_ID" not in whoami["aws_variables"] and "AWS_SECRET_ACCESS_KEY" not in whoami["aws_variables"]
    seen = json.loads(get(https + "/imds")[2])
    assert seen["token"] is None and seen["without_token"] == 401, seen

    # On the instance itself (one hop) it answers, with the instance profile role's credentials.
    on_instance = seen["endpoint"].replace("/%s/2" % instance_id, "/%s/1" % instance_id)
    assert on_instance != seen["endpoint"]
    token = urllib.request.urlopen(urllib.request.Request(on_instance + "/latest/api/token", method="PUT",
                                                          headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}), timeout=5).read().decode()

    def read(path, with_token=token):
        request = urllib.request.Request(on_instance + path, headers={"X-aws-ec2-metadata-token": with_token})
        return urllib.request.urlopen(request, timeout=5).read().decode()

    assert read("/latest/meta-data/instance-id") == instance_id
    assert read("/latest/meta-data/iam/security-credentials/") == role["RoleName"]
    credentials = json.loads(read("/latest/meta-data/iam/security-credentials/" + role["RoleName"]))
    sts = boto3.client("sts", endpoint_url=toy.cloud.endpoint, verify=str(toy.cloud.ca), region_name="us-east-1", aws_access_key_id=credentials["AccessKeyId"],
                       aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["Token"])
    assert sts.get_caller_identity()["Arn"].endswith(":assumed-role/%s/%s" % (role["RoleName"], instance_id))
    with pytest.raises(urllib.error.HTTPError) as refused:
        read("/latest/meta-data/instance-id", with_token="not-a-token")
    assert refused.value.code == 401

    # Raised to 2 (what the collection's hook asks for), the container's token arrives; leaving
    # HttpTokens out of the call keeps IMDSv1 off, as on EC2.
    ec2.modify_instance_metadata_options(InstanceId=instance_id, HttpPutResponseHopLimit=2)
    options = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["MetadataOptions"]
    assert options["HttpTokens"] == "required" and options["HttpPutResponseHopLimit"] == 2
    seen = json.loads(get(https + "/imds")[2])
    assert seen["token"] and seen["role"] == role["RoleName"] and seen["instance_id"] == instance_id and seen["without_token"] == 401


def test_the_collections_hook_raises_the_hop_limit_on_its_own_instances(toy):
    instance_profile(toy.cloud, "toy-profile", instance_policy("toy-artifacts", "mlflow", [SOME_SECRET], "toy-env"))
    hook = (0o755, HOP_LIMIT_HOOK.read_text())
    label = toy.version("v1", extra={".platform/hooks/prebuild/01_hop_limit.sh": hook, ".platform/confighooks/prebuild/01_hop_limit.sh": hook})
    _created, env = toy.launch("toy-env", label, [option(LAUNCH, "IamInstanceProfile", "toy-profile")], instances=2)
    ec2 = toy.cloud.client("ec2")
    instance_ids = [i["Id"] for i in toy.eb.describe_environment_resources(EnvironmentName="toy-env")["EnvironmentResources"]["Instances"]]
    for reservation in ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]:
        for instance in reservation["Instances"]:
            assert instance["MetadataOptions"]["HttpPutResponseHopLimit"] == 2 and instance["MetadataOptions"]["HttpTokens"] == "required"
    seen = {json.loads(get("https://%s/imds" % env["CNAME"])[2])["instance_id"] for _attempt in range(20)}
    assert seen == set(instance_ids)
    # The hook made its call with the instance profile's credentials, not the local cloud's.
    calls = [line for line in toy.cloud.requests() if line.get("action") == "ModifyInstanceMetadataOptions"]
    assert len(calls) == 2 and all(call["caller"] == "instance" for call in calls), calls

    # The role may do it on its own environment's instances only (EB's tag), and only if its policy says so.
    toy.launch("toy-other", label, [option(LAUNCH, "IamInstanceProfile", "toy-profile")])
    instance_profile(toy.cloud, "bare-profile", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::toy-artifacts/*"}]})
    toy.launch("toy-bare", label, [option(LAUNCH, "IamInstanceProfile", "bare-profile")])
    for name, role in (("toy-other", "toy-profile-role"), ("toy-bare", "bare-profile-role")):
        errors = " ".join(e["Message"] for e in events(toy.eb, name, Severity="ERROR"))
        assert "prebuild/01_hop_limit.sh failed" in errors and "UnauthorizedOperation" in errors, errors
        assert ":assumed-role/%s/i-" % role in errors and "ec2:ModifyInstanceMetadataOptions" in errors, errors


def test_an_instance_profile_that_does_not_exist_fails_the_launch(toy):
    label = toy.version("v1")
    _created, env = toy.launch("toy-env", label, [option(LAUNCH, "IamInstanceProfile", "no-such-profile")])
    assert env["Health"] in ("Red", "Grey")
    errors = " ".join(e["Message"] for e in events(toy.eb, "toy-env", Severity="ERROR"))
    assert "The instance profile no-such-profile associated with the environment does not exist." in errors, errors


def test_a_bundle_that_exits_at_start_fails_with_its_log_in_error_events(toy):
    label = toy.version("v1")
    _created, env = toy.launch("toy-env", label, [option(ENV_NS, "TOY_MODE", "exit")])
    assert env["Health"] == "Red"
    errors = [e["Message"] for e in events(toy.eb, "toy-env", Severity="ERROR")]
    assert any("failing on purpose" in message and "code 3" in message for message in errors), errors
    assert "Create environment operation is complete, but with errors." in " ".join(errors)
    assert get("https://%s/" % env["CNAME"])[0] == 503


def test_an_app_that_never_answers_ends_red(toy):
    label = toy.version("v1")
    _created, env = toy.launch("toy-env", label, [option(ENV_NS, "TOY_MODE", "sleep"), option(COMMAND, "Timeout", "4")])
    assert env["Health"] == "Red" and env["HealthStatus"] == "Severe"
    errors = " ".join(e["Message"] for e in events(toy.eb, "toy-env", Severity="ERROR"))
    assert "health check on /health did not pass within 4 seconds" in errors and "never listening" in errors


def test_busy_environment_refuses_changes_until_ready(toy):
    label = toy.version("v1")
    toy.launch("toy-env", label)
    toy.eb.update_environment(EnvironmentName="toy-env", OptionSettings=[option(ENV_NS, "TOY_DELAY", "2")])
    for call in (lambda: toy.eb.update_environment(EnvironmentName="toy-env", OptionSettings=[option(ENV_NS, "X", "1")]),
                 lambda: toy.eb.terminate_environment(EnvironmentName="toy-env")):
        with pytest.raises(toy.eb.exceptions.ClientError) as busy:
            call()
        assert busy.value.response["Error"]["Message"] == "Environment named toy-env is in an invalid state for this operation. Must be Ready."
    sets = toy.eb.describe_configuration_settings(ApplicationName="toy", EnvironmentName="toy-env")["ConfigurationSettings"]
    assert sorted(s["DeploymentStatus"] for s in sets) == ["deployed", "pending"]
    env = wait_ready(toy.eb, "toy-env")
    assert env["Health"] == "Green"
    # A configuration deployment runs the confighooks.
    dirs = toy.instance_dirs(env["EnvironmentId"])
    assert (dirs[0] / "nginx" / "hook-ran").read_text().strip() == "confighook"


def test_rolling_update_keeps_serving(toy):
    toy.version("v1")
    toy.version("v2")
    rolling = [option(COMMAND, "DeploymentPolicy", "Rolling"), option(COMMAND, "BatchSizeType", "Fixed"), option(COMMAND, "BatchSize", "1")]
    _created, env = toy.launch("toy-env", "v1", rolling, instances=2)
    url = "https://%s/" % env["CNAME"]
    # What the poller saw in each phase: events mark the phases, no clock or count of polls does.
    seen, failures, stop, phase = [], [], threading.Event(), ["before"]
    answered = {"before": threading.Event(), "during": threading.Event(), "after": threading.Event()}

    def poll():
        while not stop.is_set():
            current = phase[0]
            status, _headers, body = get(url, timeout=5)
            if status == 200:
                seen.append((current, json.loads(body)["version"]))
                answered[current].set()
            else:
                failures.append(status)
            time.sleep(0.02)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        assert answered["before"].wait(30)
        phase[0] = "during"
        toy.eb.update_environment(EnvironmentName="toy-env", VersionLabel="v2")
        env = wait_ready(toy.eb, "toy-env")
        phase[0] = "after"
        assert answered["after"].wait(30)
    finally:
        stop.set()
        poller.join()
    assert env["VersionLabel"] == "v2" and env["Health"] == "Green"
    assert failures == [] and answered["during"].is_set(), "the front door must answer throughout the update"
    assert seen[0] == ("before", "v1") and seen[-1] == ("after", "v2")
    batches = [e["Message"] for e in events(toy.eb, "toy-env") if e["Message"].startswith("Batch ")]
    assert len(batches) == 2


def test_scaling_and_a_crashed_app_is_restarted_and_routed_around(toy):
    label = toy.version("v1")
    _created, env = toy.launch("toy-env", label, instances=2)
    url = "https://%s/" % env["CNAME"]
    first = toy.instance_dirs(env["EnvironmentId"])[0]
    pid = int((first / "app.pid").read_text())

    os.killpg(pid, signal.SIGKILL)
    # As behind an ALB, requests routed to the dead app fail (502) until the health checks
    # take it out or the platform has restarted it: within seconds, every request succeeds.
    wait_for(lambda: all(get(url)[0] == 200 for _attempt in range(20)), 15)
    wait_for(lambda: (first / "app.pid").exists() and int((first / "app.pid").read_text()) != pid, 30)
    wait_for(lambda: any("the platform restarted it" in e["Message"] for e in events(toy.eb, "toy-env")), 10)
    wait_for(lambda: len({json.loads(get(url)[2])["pid"] for _attempt in range(10)}) == 2, 30)

    toy.eb.update_environment(EnvironmentName="toy-env", OptionSettings=[option(ASG, "MinSize", "3")])
    env = wait_ready(toy.eb, "toy-env")
    assert len(toy.instance_dirs(env["EnvironmentId"])) == 3 and env["Health"] == "Green"
    toy.eb.update_environment(EnvironmentName="toy-env", OptionSettings=[option(ASG, "MinSize", "1")])
    env = wait_ready(toy.eb, "toy-env")
    assert len(toy.instance_dirs(env["EnvironmentId"])) == 1 and get(url)[0] == 200


def test_terminate_stops_every_process_of_the_environment(toy):
    label = toy.version("v1")
    _created, env = toy.launch("toy-env", label, instances=2)
    env_dir = toy.cloud.state_dir / "envs" / env["EnvironmentId"]
    assert [p for p in toy.cloud.processes() if str(env_dir) in p[1]]
    toy.eb.terminate_environment(EnvironmentName="toy-env")
    wait_for(lambda: toy.eb.describe_environments(EnvironmentNames=["toy-env"])["Environments"][0]["Status"] == "Terminated", 60)
    assert [p for p in toy.cloud.processes() if str(env_dir) in p[1]] == []
    assert not env_dir.exists()
    with pytest.raises(OSError):
        urllib.request.urlopen("https://%s/" % env["CNAME"], context=INSECURE, timeout=3)


def test_reset_stops_environments_and_drops_databases(toy):
    label = toy.version("v1")
    _created, env = toy.launch("toy-env", label)
    rds = toy.cloud.client("rds")
    rds.create_db_instance(DBInstanceIdentifier="db", Engine="postgres", DBInstanceClass="db.t3.micro",
                           MasterUsername="owner", MasterUserPassword="Pg-pass-0001", DBName="appdb", AllocatedStorage=20)
    began = time.monotonic()
    toy.cloud.reset()
    print("reset took %.2f s" % (time.monotonic() - began))
    assert not (toy.cloud.state_dir / "envs" / env["EnvironmentId"]).exists()
    assert [p for p in toy.cloud.processes() if "/envs/" in p[1]] == []
    cluster = toy.cloud.info()["postgres_port"]
    psql = sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))[-1]
    listing = subprocess.run(["runuser", "-u", "postgres", "--", str(psql), "-h", str(toy.cloud.state_dir / "postgres"), "-p", str(cluster),
                              "-U", "postgres", "-Atc", "select datname from pg_database"], capture_output=True, text=True, check=True).stdout.split()
    assert "appdb" not in listing

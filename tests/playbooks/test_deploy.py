"""deploy.yml on the local cloud: a re-run changes nothing and writes nothing; a dry run with a
changed input shows exactly that change and writes nothing; an external database replaces RDS;
a deploy killed mid-way completes when run again, without duplicates."""

import base64
import io
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from urllib.parse import quote

import pytest
import yaml

from ansible_collections.mlflowops.beanstalk.plugins.module_utils import htpasswd
from conftest import ROOT
from support.ansible import playbook_env


def recap(result):
    match = re.search(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", result.stdout)
    assert match, result.stdout[-3000:] + result.stderr[-3000:]
    return {"ok": int(match[1]), "changed": int(match[2]), "failed": int(match[4])}


def client_writes(cloud, since):
    return [(r["service"], r["action"]) for r in cloud.requests()[since:] if r["kind"] == "write" and r["caller"] == "client"]


def default_vpc_subnets(cloud):
    ec2 = cloud.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    return vpc, sorted(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"], key=lambda s: s["SubnetId"])


USER = {"MLFLOW_TRACKING_USERNAME": "deployer", "MLFLOW_TRACKING_PASSWORD": "deployer-Password-0001"}


def through_front_door(cloud, deployed, method, path, body=None):
    """Status of one request as the first user, through the front door at the printed URI."""
    url = re.search(r"MLFLOW_TRACKING_URI=(\S+)$", deployed.stdout, re.MULTILINE)[1]
    request = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json", "Authorization": "Basic " + base64.b64encode(
                                         ("%s:%s" % (USER["MLFLOW_TRACKING_USERNAME"], USER["MLFLOW_TRACKING_PASSWORD"])).encode()).decode()})
    context = ssl.create_default_context(cafile=str(cloud.state_dir / "tls" / "ca.pem"))
    try:
        with urllib.request.urlopen(request, timeout=60, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_deploy_then_rerun_and_dry_run(cloud, run_playbook):
    env = {"LOCALCLOUD_PORT": str(cloud.port), "LOCALCLOUD_STATE_DIR": str(cloud.state_dir), **USER}
    # The default VPC with a private subnet too: the load balancer must not get two subnets in its zone.
    vpc, defaults = default_vpc_subnets(cloud)
    cloud.client("ec2").create_subnet(VpcId=vpc, CidrBlock="172.31.200.0/24", AvailabilityZone=defaults[0]["AvailabilityZone"])
    first = run_playbook("deploy.yml", {}, env=env)
    assert recap(first)["failed"] == 0 and recap(first)["changed"] > 0, first.stdout[-3000:]
    assert re.search(r"MLFLOW_TRACKING_URI=https://localhost:\d+$", first.stdout, re.MULTILINE)
    assert "MLFLOW_TRACKING_SERVER_CERT_PATH=%s/tls/ca.pem" % cloud.state_dir in first.stdout
    assert "AWS_ENDPOINT_URL=https://127.0.0.1:%d" % cloud.port in first.stdout
    assert "AWS_CA_BUNDLE=%s/tls/ca.pem" % cloud.state_dir in first.stdout
    assert first.stdout.count("ok: [localhost]") > 20 and "Plain HTTP is redirected to HTTPS" in first.stdout
    eb = cloud.client("elasticbeanstalk")
    deployed = {(o["Namespace"], o["OptionName"]): o["Value"] for o in eb.describe_configuration_settings(
        ApplicationName="mlflow", EnvironmentName="mlflow")["ConfigurationSettings"][0]["OptionSettings"]}
    default_ids = ",".join(subnet["SubnetId"] for subnet in defaults)
    assert deployed[("aws:ec2:vpc", "ELBSubnets")] == deployed[("aws:ec2:vpc", "Subnets")] == default_ids
    # Large artifacts: the load balancer waits as long as the server does, the root volume holds
    # them in transit, and the server's S3 client signs for the bucket's region.
    assert deployed[("aws:elbv2:loadbalancer", "IdleTimeout")] == "300"
    assert deployed[("aws:autoscaling:launchconfiguration", "RootVolumeSize")] == "30"
    # Time for an instance to pull the base image and pip-install the locked tree (EB's default: 600 s).
    assert deployed[("aws:elasticbeanstalk:command", "Timeout")] == "1200"
    assert deployed[("aws:elasticbeanstalk:application:environment", "AWS_DEFAULT_REGION")] == cloud.info()["region"]
    # The users' salts derive from a seed generated into Secrets Manager, not from a public name;
    # the instances never get it.
    seed = cloud.client("secretsmanager").get_secret_value(SecretId="mlflow/htpasswd-salt-seed")
    assert re.fullmatch(r"[A-Za-z0-9]{64}", seed["SecretString"])
    version = eb.describe_environments(ApplicationName="mlflow", EnvironmentNames=["mlflow"])["Environments"][0]["VersionLabel"]
    described = eb.describe_application_versions(ApplicationName="mlflow", VersionLabels=[version])["ApplicationVersions"][0]
    # What a later deploy reads to decide whether the database needs a snapshot before it.
    assert described["Description"] == "MLflow %s" % yaml.safe_load((ROOT / "roles/bundle/defaults/main.yml").read_text())["bundle_mlflow_version"]
    source = described["SourceBundle"]
    with zipfile.ZipFile(io.BytesIO(cloud.client("s3").get_object(Bucket=source["S3Bucket"], Key=source["S3Key"])["Body"].read())) as bundle:
        name, hashed = bundle.read("mlflowops/htpasswd").decode().splitlines()[0].split(":", 1)
    assert hashed[7:29] == htpasswd.derive_salt(seed["SecretString"], name, "bcrypt") != htpasswd.derive_salt("mlflow", name, "bcrypt")
    assert seed["ARN"] not in str(deployed)
    # Features that let any user make the server act are off: no key made for them, routes closed.
    assert not {"MLFLOW_CRYPTO_KEK_PASSPHRASE", "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY"} & {name for _namespace, name in deployed}
    assert through_front_door(cloud, first, "GET", "/api/2.0/mlflow/experiments/search?max_results=1")[0] == 200
    for method, path in (("GET", "/ajax-api/3.0/mlflow/gateway/supported-providers"), ("GET", "/api/2.0/mlflow/webhooks"),
                         ("POST", "/ajax-api/3.0/mlflow/assistant/message"), ("POST", "/ajax-api/3.0/jobs/search")):
        status, body = through_front_door(cloud, first, method, path, {} if method == "POST" else None)
        assert status == 403 and body.startswith(b"403 Forbidden: this feature is turned off"), (path, status, body[:200])

    mark = len(cloud.requests())
    second = run_playbook("deploy.yml", {}, env=env)
    assert recap(second) == dict(recap(second), changed=0, failed=0), second.stdout[-3000:]
    assert client_writes(cloud, mark) == []

    mark = len(cloud.requests())
    dry = run_playbook("deploy.yml", {"environment_min_instances": 3}, env=env, args=["--check", "--diff"])
    assert recap(dry)["changed"] == 1 and recap(dry)["failed"] == 0, dry.stdout[-3000:]
    diff = re.findall(r"^[-+] .*$", dry.stdout, re.MULTILINE)
    assert diff == ["-        value: '2'", "+        value: '3'"], diff
    assert client_writes(cloud, mark) == []
    settings = eb.describe_configuration_settings(ApplicationName="mlflow", EnvironmentName="mlflow")["ConfigurationSettings"][0]["OptionSettings"]
    assert {"Namespace": "aws:autoscaling:asg", "OptionName": "MinSize", "Value": "2"} in settings


def test_deploy_with_an_external_database(cloud, run_playbook):
    # The "external" database: one the user already has (here, one of the local cloud's).
    endpoint = cloud.client("rds").create_db_instance(
        DBInstanceIdentifier="theirs", Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
        MasterUsername="ext", MasterUserPassword="Ext-pass:/@0001", DBName="tracking")["DBInstance"]["Endpoint"]
    uri = "postgresql://ext:{}@127.0.0.1:{}/tracking".format(quote("Ext-pass:/@0001", safe=""), endpoint["Port"])
    env = {"LOCALCLOUD_PORT": str(cloud.port), "LOCALCLOUD_STATE_DIR": str(cloud.state_dir), **USER}
    # With the gateway and webhooks turned on, which encrypt what users store under shared keys.
    result = run_playbook("deploy.yml", {"prerequisites_database_uri": uri, "environment_min_instances": 1,
                                         "mlflowops_server_features": ["gateway", "webhooks"]}, env=env)
    assert recap(result)["failed"] == 0, result.stdout[-4000:]
    assert "Plain HTTP is redirected to HTTPS" in result.stdout and uri not in result.stdout
    rds = cloud.client("rds").describe_db_instances()["DBInstances"]
    assert [db["DBInstanceIdentifier"] for db in rds] == ["theirs"]
    secrets = cloud.client("secretsmanager")
    assert secrets.get_secret_value(SecretId="mlflow/database-uri")["SecretString"] == uri
    settings = cloud.client("elasticbeanstalk").describe_configuration_settings(
        ApplicationName="mlflow", EnvironmentName="mlflow")["ConfigurationSettings"][0]["OptionSettings"]
    names = {(o["Namespace"], o["OptionName"]): o["Value"] for o in settings}
    assert names[("aws:elasticbeanstalk:application:environmentsecrets", "MLFLOW_BACKEND_STORE_URI")].startswith("arn:aws:secretsmanager:")
    assert ("aws:elasticbeanstalk:application:environment", "MLFLOW_DB_HOST") not in names
    assert uri not in str(settings)
    kek = secrets.get_secret_value(SecretId=names[("aws:elasticbeanstalk:application:environmentsecrets", "MLFLOW_CRYPTO_KEK_PASSPHRASE")])
    assert kek["Name"] == "mlflow/gateway-kek-passphrase" and len(kek["SecretString"]) == 64
    key = secrets.get_secret_value(SecretId=names[("aws:elasticbeanstalk:application:environmentsecrets", "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY")])
    assert len(base64.urlsafe_b64decode(key["SecretString"])) == 32  # a Fernet key
    assert through_front_door(cloud, result, "GET", "/ajax-api/3.0/mlflow/gateway/supported-providers")[0] == 200
    # A webhook with a secret: stored encrypted under the shared key (MLflow refuses a bad key).
    status, body = through_front_door(cloud, result, "POST", "/api/2.0/mlflow/webhooks", {
        "name": "probe", "url": "https://93.184.215.14/mlflow", "secret": "webhook-Secret-0001",  # public: MLflow refuses others
        "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]})
    assert status == 200, body[:500]
    assert through_front_door(cloud, result, "POST", "/ajax-api/3.0/mlflow/assistant/message", {})[0] == 403


def test_a_deploy_killed_mid_way_completes_when_run_again(cloud, run_playbook, tmp_path):
    env = {"LOCALCLOUD_PORT": str(cloud.port), "LOCALCLOUD_STATE_DIR": str(cloud.state_dir)}
    (tmp_path / "vars.json").write_text(json.dumps({"environment_min_instances": 1}))
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(ROOT / "inventories" / "local"),
               "-e", "@" + str(tmp_path / "vars.json"), "deploy.yml"]
    with open(tmp_path / "first.log", "w", encoding="utf-8") as log:
        first = subprocess.Popen(command, cwd=ROOT, env=playbook_env(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not any(r["action"] == "CreateEnvironment" for r in cloud.requests()):
        assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
        time.sleep(0.2)
    # Killed while the environment launches: no clean-up runs.
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    eb = cloud.client("elasticbeanstalk")
    assert eb.describe_environments(EnvironmentNames=["mlflow"])["Environments"][0]["Status"] == "Launching"

    again = run_playbook("deploy.yml", {"environment_min_instances": 1}, env=env)
    assert recap(again)["failed"] == 0, again.stdout[-4000:]
    environments = eb.describe_environments(IncludeDeleted=True)["Environments"]
    assert [(e["EnvironmentName"], e["Status"], e["Health"]) for e in environments] == [("mlflow", "Ready", "Green")]
    assert len(eb.describe_application_versions(ApplicationName="mlflow")["ApplicationVersions"]) == 1
    assert [r["action"] for r in cloud.requests()].count("CreateEnvironment") == 1


@pytest.mark.parametrize("subnets, message", [
    (lambda d, private: {"prerequisites_load_balancer_subnets": [d[0], private, d[1]]},
     "The load balancer takes one subnet per Availability Zone, in at least two zones"),
    (lambda d, private: {"prerequisites_load_balancer_subnets": [d[0]]}, "in at least two zones"),
    (lambda d, private: {"prerequisites_load_balancer_subnets": [d[0], d[1]], "prerequisites_instance_subnets": [d[2]]},
     "the instances must be in zones the load balancer serves"),
    (lambda d, private: {"prerequisites_database_subnets": [d[0], private]}, "the database needs subnets in at least two zones"),
    (lambda d, private: {"prerequisites_instance_subnets": ["subnet-00000000"]}, "Subnets subnet-00000000 are not in VPC"),
])
def test_subnets_that_aws_would_refuse_stop_the_deploy_before_anything_is_created(cloud, run_playbook, subnets, message):
    vpc, defaults = default_vpc_subnets(cloud)
    private = cloud.client("ec2").create_subnet(VpcId=vpc, CidrBlock="172.31.200.0/24", AvailabilityZone=defaults[0]["AvailabilityZone"])["Subnet"]["SubnetId"]
    # The first case runs deploy.yml; the others the prerequisites role alone, whose first step the check is.
    playbook = "deploy.yml" if "one subnet per Availability Zone" in message else "tests/support/playbooks/prerequisites.yml"
    result = run_playbook(playbook, subnets([subnet["SubnetId"] for subnet in defaults], private),
                          env={"LOCALCLOUD_PORT": str(cloud.port), "LOCALCLOUD_STATE_DIR": str(cloud.state_dir)})
    assert result.returncode != 0
    assert message in " ".join(result.stdout.split()), result.stdout[-3000:]
    assert cloud.client("s3").list_buckets()["Buckets"] == []
    assert client_writes(cloud, 0) == [("ec2", "CreateSubnet")]


def imported_certificate(cloud, tmp_path, names):
    """An ACM certificate from the local CA for these names, as an account holds one."""
    from localcloud import tls  # pylint: disable=import-outside-toplevel

    ca = cloud.state_dir / "tls"
    cert, key = tls.issue(ca / "ca.pem", ca / "ca-key.pem", names, tmp_path / "cert.pem", tmp_path / "key.pem")
    return cloud.client("acm").import_certificate(Certificate=cert.read_bytes(), PrivateKey=key.read_bytes())["CertificateArn"]


@pytest.mark.parametrize("certificate, message", [
    (lambda cloud, tmp: "arn:aws:acm:eu-west-1:123456789012:certificate/0000", "is in eu-west-1; the load balancer is in us-east-1"),
    (lambda cloud, tmp: "arn:aws:acm:us-east-1:123456789012:certificate/0000", "Certificate arn:aws:acm:us-east-1:123456789012:certificate/0000 was not found"),
    (lambda cloud, tmp: cloud.client("acm").request_certificate(DomainName="localhost", ValidationMethod="DNS")["CertificateArn"],
     "is PENDING_VALIDATION for localhost; it must be ISSUED and cover localhost"),
    (lambda cloud, tmp: imported_certificate(cloud, tmp, ["other.example.test"]), "is ISSUED for other.example.test; it must be ISSUED and cover localhost"),
    # A wildcard covers one label below its parent, never the parent itself.
    (lambda cloud, tmp: imported_certificate(cloud, tmp, ["*.localhost"]), "is ISSUED for *.localhost; it must be ISSUED and cover localhost"),
])
def test_a_certificate_that_doesnt_serve_the_hostname_stops_the_deploy_before_anything_is_created(cloud, run_playbook, tmp_path, certificate, message):
    # The first case runs deploy.yml; the others the endpoint role alone, which deploy.yml runs before creating anything.
    playbook = "deploy.yml" if "eu-west-1" in message else "tests/support/playbooks/endpoint.yml"
    result = run_playbook(playbook, {"mlflowops_certificate_arn": certificate(cloud, tmp_path), "outputs_file": str(tmp_path / "outputs.json")},
                          env={"LOCALCLOUD_PORT": str(cloud.port), "LOCALCLOUD_STATE_DIR": str(cloud.state_dir)})
    assert result.returncode != 0
    assert message in " ".join(result.stdout.split()), result.stdout[-3000:]
    assert cloud.client("s3").list_buckets()["Buckets"] == []
    assert [write for write in client_writes(cloud, 0) if write[0] != "acm"] == []

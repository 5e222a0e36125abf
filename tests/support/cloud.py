"""The local cloud for tests: started once per session on its own ports and state folder."""

import json
import os
import subprocess
import sys
import time
import zipfile
import io
from pathlib import Path

import boto3
import jinja2


ROOT = Path(__file__).resolve().parents[2]


class LocalCloud:
    def __init__(self, state_dir, port, ports):
        self.state_dir = Path(state_dir)
        self.port = port
        self.env = dict(os.environ, LOCALCLOUD_STATE_DIR=str(state_dir), LOCALCLOUD_PORT=str(port), LOCALCLOUD_PORTS=ports)
        self.endpoint = "https://127.0.0.1:%d" % port
        self.http_endpoint = "http://127.0.0.1:%d" % port
        self.ca = self.state_dir / "tls" / "ca.pem"

    def ansible_overrides(self):
        """What a playbook run against this local cloud needs in its environment."""
        return {name: value for name, value in self.env.items() if name.startswith("LOCALCLOUD_")}

    def cli(self, *command, check=True):
        result = subprocess.run([sys.executable, "-m", "localcloud", *command], cwd=ROOT, env=self.env,
                                capture_output=True, text=True, timeout=180, check=False)
        if check and result.returncode != 0:
            raise AssertionError("localcloud %s failed:\n%s%s" % (" ".join(command), result.stdout, result.stderr))
        return result

    def client(self, service, region="us-east-1", tls=True):
        """A client as the deployer's: over HTTPS, trusting the local CA (or plain HTTP)."""
        return boto3.client(service, endpoint_url=self.endpoint if tls else self.http_endpoint, region_name=region,
                            aws_access_key_id="test", aws_secret_access_key="test", verify=str(self.ca) if tls else None)

    def reset(self):
        return self.cli("reset")

    def info(self):
        return json.loads((self.state_dir / "localcloud.json").read_text())

    def requests(self):
        path = self.state_dir / "requests.log"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def processes(self):
        """Every process whose command line or cwd mentions the state folder."""
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                cwd = os.readlink(proc / "cwd")
            except OSError:
                continue
            if str(self.state_dir) in cmdline or cwd.startswith(str(self.state_dir)):
                found.append((int(proc.name), cmdline))
        return found


def wait_for(predicate, timeout=120, interval=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out after %d s" % timeout)


def wait_ready(eb, name, timeout=300):
    def ready():
        found = eb.describe_environments(EnvironmentNames=[name], IncludeDeleted=False)["Environments"]
        return found[0] if found and found[0]["Status"] == "Ready" else None

    return wait_for(ready, timeout)


def events(eb, name, **filters):
    return list(reversed(eb.describe_events(EnvironmentName=name, **filters)["Events"]))


TOY_APP = '''\
import hashlib, json, os, sys, time, urllib.error, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "%(version)s"
MODE = os.environ.get("TOY_MODE", "serve")
if MODE == "exit":
    print("toy: failing on purpose at start-up", flush=True)
    sys.exit(3)
if MODE == "sleep":
    print("toy: never listening", flush=True)
    time.sleep(3600)
time.sleep(float(os.environ.get("TOY_DELAY", "0")))
if os.environ.get("TOY_BARRIER"):
    # Listens only once TOY_BARRIER instances have started: instances started one after another
    # (each once the one before listens) would wait here for ever, and the launch would fail.
    barrier = os.environ["TOY_BARRIER_DIR"]
    open(os.path.join(barrier, str(os.getpid())), "w").close()
    deadline = time.monotonic() + 60
    while len(os.listdir(barrier)) < int(os.environ["TOY_BARRIER"]):
        if time.monotonic() > deadline:
            print("toy: the other instances never started", flush=True)
            sys.exit(4)
        time.sleep(0.05)


def metadata():
    """What this container gets from the instance metadata service, as an SDK would ask it."""
    base = os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254/").rstrip("/")
    found = {"endpoint": base}
    try:
        urllib.request.urlopen(base + "/latest/meta-data/instance-id", timeout=2)
        found["without_token"] = 200
    except urllib.error.HTTPError as error:
        found["without_token"] = error.code
    except OSError as error:
        found["without_token"] = type(error).__name__
    try:
        ask = urllib.request.Request(base + "/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        token = urllib.request.urlopen(ask, timeout=2).read().decode()
    except (OSError, ValueError) as error:
        return dict(found, token=None, error=type(error).__name__)
    def read(path):
        asked = urllib.request.Request(base + path, headers={"X-aws-ec2-metadata-token": token})
        return urllib.request.urlopen(asked, timeout=2).read().decode()
    found["token"] = True
    found["instance_id"] = read("/latest/meta-data/instance-id")
    found["role"] = read("/latest/meta-data/iam/security-credentials/")
    found["access_key"] = json.loads(read("/latest/meta-data/iam/security-credentials/" + found["role"]))["AccessKeyId"]
    return found


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/health":
            body = b"OK"
        elif self.path == "/imds":
            body = json.dumps(metadata()).encode()
        else:
            secret = os.environ.get("TOY_SECRET", "")
            body = json.dumps({
                "version": VERSION,
                "pid": os.getpid(),
                "proto": self.headers.get("X-Forwarded-Proto"),
                "port": self.headers.get("X-Forwarded-Port"),
                "host": self.headers.get("Host"),
                "greeting": os.environ.get("TOY_GREETING"),
                "secret_sha256": hashlib.sha256(secret.encode()).hexdigest() if secret else None,
                "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
                "aws_variables": sorted(name for name in os.environ if name.startswith("AWS_")),
            }).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["TOY_PORT"])), Handler).serve_forever()
'''

TOY_FILES = {
    "Dockerfile": (0o644, """\
FROM python:3.11-slim
ENV TOY_PORT=8080 \\
    TOY_MODE=serve
COPY app.py start.sh /srv/toy/
RUN apt-get update && apt-get install -y curl
WORKDIR /srv/toy
EXPOSE 8080
ENTRYPOINT ["/srv/toy/start.sh"]
"""),
    "start.sh": (0o755, "#!/bin/sh\nexec python3 app.py\n"),
    ".platform/nginx/conf.d/toy-http.conf": (0o644, "client_max_body_size 2m;\n"),
    ".platform/nginx/conf.d/elasticbeanstalk/toy.conf": (0o644, "add_header X-Toy-Snippet on always;\n"),
    ".platform/hooks/predeploy/01_marker.sh": (0o755, '#!/bin/sh\necho predeploy > "$MLFLOWOPS_NGINX_CONF_DIR/hook-ran"\n'),
    ".platform/confighooks/predeploy/01_marker.sh": (0o755, '#!/bin/sh\necho confighook > "$MLFLOWOPS_NGINX_CONF_DIR/hook-ran"\n'),
}


def toy_bundle(version="v1", omit=(), extra=None):
    """A small bundle for the Docker platform that serves JSON about itself."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        files = dict(TOY_FILES, **{"app.py": (0o644, TOY_APP % {"version": version})})
        files.update(extra or {})
        for name, (mode, text) in sorted(files.items()):
            if name in omit:
                continue
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, text)
    return buffer.getvalue()


ENV_NS = "aws:elasticbeanstalk:application:environment"


def option(namespace, name, value):
    return {"Namespace": namespace, "OptionName": name, "Value": value}


def instance_policy(bucket, prefix, secret_arns, environment_name, region="us-east-1"):
    """The collection's instance policy (roles/prerequisites/templates/instance-policy.json.j2)."""
    template = jinja2.Environment(undefined=jinja2.StrictUndefined)
    template.filters["to_json"] = json.dumps
    text = template.from_string((ROOT / "roles" / "prerequisites" / "templates" / "instance-policy.json.j2").read_text()).render(
        _prerequisites_partition="aws", prerequisites_artifact_bucket=bucket, prerequisites_artifact_prefix=prefix,
        _prerequisites_secret_arns=secret_arns, _prerequisites_region=region, _prerequisites_caller={"account": "123456789012"},
        _prerequisites_environment_name=environment_name)
    return json.loads(text)


def instance_profile(cloud, name, policy=None):
    """An instance profile whose role EC2 may assume (and `policy` inline), as the prerequisites make one."""
    iam = cloud.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=name + "-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    if policy:
        iam.put_role_policy(RoleName=role["RoleName"], PolicyName="instance", PolicyDocument=json.dumps(policy))
    iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role["RoleName"])
    return role


def launch_mlflow(cloud, bundle_zip, name="mlflow-test", properties=None, timeout=600, settings=(), artifact_region="us-east-1",
                  policy_transform=None):
    """The collection's bundle as an environment of two instances: one RDS PostgreSQL (its
    password from Secrets Manager), artifacts in S3 (a bucket in `artifact_region`), the
    collection's instance policy (through `policy_transform(policy)` if given), with more option
    `settings` as (namespace, option, value). Returns the Ready environment."""
    s3, eb = cloud.client("s3"), cloud.client("elasticbeanstalk")
    s3.create_bucket(Bucket="mlflow-bundles")
    if artifact_region == "us-east-1":
        s3.create_bucket(Bucket="mlflow-artifacts")
    else:
        s3.create_bucket(Bucket="mlflow-artifacts", CreateBucketConfiguration={"LocationConstraint": artifact_region})
    s3.put_object(Bucket="mlflow-bundles", Key="bundle.zip", Body=Path(bundle_zip).read_bytes())
    db = cloud.client("rds").create_db_instance(
        DBInstanceIdentifier="mlflow-db", Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
        MasterUsername="mlflow", MasterUserPassword="Db-pass:/@-0001", DBName="mlflow")["DBInstance"]
    secret = cloud.client("secretsmanager").create_secret(Name="mlflow/db", SecretString="Db-pass:/@-0001")["ARN"]
    policy = instance_policy("mlflow-artifacts", "mlflow", [secret], name)
    instance_profile(cloud, "mlflow-instance", policy_transform(policy) if policy_transform else policy)
    eb.create_application(ApplicationName="mlflow")
    eb.create_application_version(ApplicationName="mlflow", VersionLabel="v1", Process=True,
                                  SourceBundle={"S3Bucket": "mlflow-bundles", "S3Key": "bundle.zip"})
    values = {"MLFLOW_DB_HOST": db["Endpoint"]["Address"], "MLFLOW_DB_PORT": str(db["Endpoint"]["Port"]), "MLFLOW_DB_NAME": "mlflow",
              "MLFLOW_DB_USER": "mlflow", "MLFLOW_ARTIFACTS_DESTINATION": "s3://mlflow-artifacts/mlflow",
              "AWS_DEFAULT_REGION": artifact_region}  # as the collection sets it
    values.update(properties or {})
    eb.create_environment(
        ApplicationName="mlflow", EnvironmentName=name, VersionLabel="v1",
        PlatformArn=eb.list_platform_versions()["PlatformSummaryList"][-1]["PlatformArn"],
        OptionSettings=[
            option("aws:autoscaling:asg", "MinSize", "2"),
            option("aws:elasticbeanstalk:environment:process:default", "HealthCheckPath", "/health"),
            option("aws:elasticbeanstalk:application:environmentsecrets", "MLFLOW_DB_PASSWORD", secret),
            option("aws:autoscaling:launchconfiguration", "IamInstanceProfile", "mlflow-instance"),
        ] + [option(ENV_NS, key, value) for key, value in sorted(values.items())] + [option(*setting) for setting in settings],
    )
    return wait_ready(eb, name, timeout=timeout)


def print_events(cloud, name):
    """Shown when a test failed: what the platform saw."""
    for event in reversed(cloud.client("elasticbeanstalk").describe_events(EnvironmentName=name)["Events"]):
        print(event["EventDate"], event["Severity"], event["Message"])

"""The local platform: runs the environments of the emulated Elastic Beanstalk on this machine.

It is the EB backend's driver (`localcloud.eb.models.Driver`): the backend keeps the API state,
this runs instances. It reads the rest of the emulated AWS (the bundle in S3, secrets in
Secrets Manager or SSM) through the local endpoint, like an instance would.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from localcloud.eb import options
from localcloud.eb.models import DeployError, Driver, bundle_problem
from localcloud.platform.environment import EnvironmentRuntime
from localcloud.procs import PortPool

USER_AGENT = "localcloud-platform"
LISTENER = "aws:elbv2:listener:443"
# Stand-in for the instance profile: the emulator accepts any key.
INSTANCE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "localcloud-instance", "AWS_SECRET_ACCESS_KEY": "localcloud-instance"}


class Platform(Driver):
    def __init__(self, config, ca_cert, ca_key, ports=None, logger=print):
        self.config = config
        # The local CA: front doors serve certificates from it for their listener's ACM certificate.
        self.ca_cert, self.ca_key = ca_cert, ca_key
        # Shared with whatever else takes ports from the range (the daemon's PostgreSQL).
        self.ports = ports or PortPool(config.port_range)
        self.runtimes = {}
        self.lock = threading.Lock()
        self.log = logger
        self.envs_root = Path(config.state_dir) / "envs"
        self._clients = {}

    def client(self, service):
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service, endpoint_url=self.config.endpoint, region_name=self.config.region,
                aws_access_key_id="localcloud", aws_secret_access_key="localcloud",
                config=BotoConfig(user_agent_extra=USER_AGENT, retries={"max_attempts": 2}),
            )
        return self._clients[service]

    # AWS reads ----------------------------------------------------------------------------

    def _object(self, bucket, key):
        try:
            return self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError:
            return None

    def validate_bundle(self, bucket, key):
        data = self._object(bucket, key)
        if data is None:
            return "missing"
        return bundle_problem(data)

    def fetch_bundle(self, version):
        data = self._object(version.bucket, version.key)
        if data is None:
            raise DeployError("Unable to download the source bundle of %s from s3://%s/%s." % (version.label, version.bucket, version.key))
        problem = bundle_problem(data)
        if problem:
            raise DeployError("Application version %s can't be deployed: %s" % (version.label, problem))
        return data

    def secret(self, reference):
        try:
            service = reference.split(":")[2] if reference.count(":") >= 5 else ""
            if service == "ssm":
                return self.client("ssm").get_parameter(Name=reference, WithDecryption=True)["Parameter"]["Value"]
            if service == "secretsmanager":
                return self.client("secretsmanager").get_secret_value(SecretId=reference)["SecretString"]
        except ClientError as error:
            raise DeployError("Instance deployment failed to retrieve the secret %s: %s" % (reference, error.response["Error"]["Message"])) from None
        raise DeployError("Instance deployment failed: %s is not a Secrets Manager or SSM Parameter Store ARN." % reference)

    def listener_names(self, settings, account_id):
        """The DNS names of the ACM certificate(s) the HTTPS listener is set with ([] without one).

        ELBv2 refuses a listener whose certificate doesn't exist or isn't issued; EB's stack then fails.
        """
        if options.effective(settings, LISTENER, "Protocol").upper() != "HTTPS" or \
                options.effective(settings, LISTENER, "ListenerEnabled").lower() == "false":
            return []
        from moto.acm.models import acm_backends  # pylint: disable=import-outside-toplevel

        names = []
        for arn in filter(None, (part.strip() for part in options.effective(settings, LISTENER, "SSLCertificateArns").split(","))):
            parts = arn.split(":")
            region = parts[3] if len(parts) > 5 else ""
            certificates = acm_backends[account_id][region]._certificates if region else {}  # pylint: disable=protected-access
            certificate = certificates.get(arn)
            if certificate is None:
                raise DeployError("Creating load balancer listener failed: Certificate '%s' not found (CertificateNotFound)." % arn)
            certificate.check()
            if certificate.status != "ISSUED":
                raise DeployError(
                    "Creating load balancer listener failed: Certificate '%s' is %s, not ISSUED (UnsupportedCertificate)." % (arn, certificate.status))
            names.extend([certificate.common_name] + list(certificate.sans))
        return list(dict.fromkeys(name for name in names if name))

    def app_variables(self, settings):
        """The app's environment: instance credentials, then properties, then secrets.

        No region: EB gives a Docker container its environment properties only, so an SDK inside
        has none unless a property sets it (S3 clients then sign for us-east-1).
        """
        variables = dict(INSTANCE_CREDENTIALS)
        variables.update({
            "AWS_ENDPOINT_URL": self.config.endpoint,
            "MLFLOW_S3_ENDPOINT_URL": self.config.endpoint,
        })
        variables.update(options.environment_properties(settings))
        for name, reference in options.secret_references(settings).items():
            variables[name] = self.secret(reference)
        return variables

    # Driver -------------------------------------------------------------------------------

    def _runtime(self, operation):
        env = operation.environment
        with self.lock:
            if env.id not in self.runtimes:
                self.runtimes[env.id] = EnvironmentRuntime(self, env.id, self.envs_root / env.id, operation.backend, env)
            return self.runtimes[env.id]

    def _deploy(self, operation, step):
        runtime = self._runtime(operation)
        try:
            getattr(runtime, step)(operation)
        finally:
            runtime.report()

    def launch(self, operation):
        self._deploy(operation, "launch")

    def update(self, operation):
        self._deploy(operation, "update")

    def terminate(self, operation):
        with self.lock:
            runtime = self.runtimes.pop(operation.environment.id, None)
        if runtime:
            runtime.terminate(operation)

    def instance_ids(self, env_id):
        runtime = self.runtimes.get(env_id)
        return runtime.instance_ids() if runtime else []

    def reset(self):
        """Stops every environment: the reset between test scenarios."""
        with self.lock:
            runtimes, self.runtimes = list(self.runtimes.values()), {}
        with ThreadPoolExecutor(max_workers=max(1, len(runtimes))) as pool:
            list(pool.map(lambda runtime: runtime.shutdown(fast=True), runtimes))

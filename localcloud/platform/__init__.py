"""The local platform: runs the environments of the emulated Elastic Beanstalk on this machine.

It is the EB backend's driver (`localcloud.eb.models.Driver`, given by `localcloud.eb.install`): the backend keeps the API state,
this runs instances. It reads the rest of the emulated AWS (the bundle in S3, secrets in
Secrets Manager or SSM) through the local endpoint, like an instance would.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from localcloud import iamcheck
from localcloud.config import HOST
from localcloud.eb import options
from localcloud.eb.exceptions import DeployError
from localcloud.eb.models import Driver
from localcloud.platform.bundle import bundle_problem
from localcloud.imds import Machine, MetadataService
from localcloud.platform.environment import EnvironmentRuntime
from localcloud.platform.image import prepared_venv
from localcloud.procs import PortPool

USER_AGENT = "localcloud-platform"
LISTENER = "aws:elbv2:listener:443"
INSTANCE_TOOLS = Path(__file__).with_name("instance-tools.txt")
# RDS's CA bundle (every region's CAs), which images fetch to verify the database's certificate:
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html#UsingWithRDS.SSL.CertificatesAllRegions
RDS_CA_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"


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
        self._metadata = None
        self._image_id = None

    @property
    def metadata(self):
        """The instances' metadata service, started on first use."""
        with self.lock:
            if self._metadata is None:
                self._metadata = MetadataService(HOST, self.ports.take(), self.client("sts"), _metadata_options).start()
            return self._metadata

    def is_instance_key(self, access_key_id):
        """Whether an access key is one of the instance profile credentials the instances were given."""
        return self.instance_identity(access_key_id) is not None

    def instance_identity(self, access_key_id):
        """(role ARN, instance id) of instance profile credentials the instances were given, else None."""
        return self._metadata.issued.get(access_key_id) if self._metadata is not None else None

    def instance_tools(self):
        """The folder of commands an instance has on its PATH besides the system's (the AWS CLI)."""
        return prepared_venv(INSTANCE_TOOLS, self.config.venv_cache, prefix="instance-tools-") / "bin"

    def aws_api_variables(self):
        """Where an instance's SDKs find the AWS APIs: the local cloud's HTTPS endpoint, signed by
        the local CA (on AWS: the public endpoints, signed by public CAs)."""
        return {"AWS_ENDPOINT_URL": self.config.endpoint, "AWS_CA_BUNDLE": str(self.ca_cert)}

    def downloads(self):
        """What an image's `ADD <url>` gets here, by URL: the local CA, which signs the local RDS's
        certificate, for RDS's CA bundle. Any other URL fails the build (nothing is downloaded)."""
        return {RDS_CA_BUNDLE_URL: self.ca_cert}

    def client(self, service):
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service, endpoint_url=self.config.endpoint, region_name=self.config.region, verify=str(self.ca_cert),
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

    def secret(self, reference, role_arn):
        """A secret's value, read as EB reads environmentsecrets: with the instance profile's role,
        whose policies must allow it (`localcloud.iamcheck`)."""
        service = reference.split(":")[2] if reference.count(":") >= 5 else ""
        action = {"ssm": "ssm:GetParameter", "secretsmanager": "secretsmanager:GetSecretValue"}.get(service)
        if action:
            if not role_arn:
                raise DeployError("Instance deployment failed to retrieve the secret %s: the environment has no instance profile, "
                                  "so its instances have no credentials to read it with." % reference)
            outcome = iamcheck.decide(iamcheck.moto_role_documents(role_arn), action, reference, {})
            if outcome != "allow":
                raise DeployError("Instance deployment failed to retrieve the secret %s: User: %s is not authorized to perform: %s "
                                  "on resource: %s %s (AccessDeniedException)." % (reference, role_arn, action, reference, outcome))
        try:
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

    # EC2 instances ----------------------------------------------------------------------------

    def launch_instance(self, environment, account_id):
        """Runs the EC2 instance (in moto) that one instance of `environment` is: EB's tags, the
        launch settings' instance profile and IMDS options; its metadata service serves it from now on.

        EB's launch template leaves the token hop limit at EC2's default of 1, with IMDSv1 off when
        DisableIMDSv1 is true (aws/elastic-beanstalk-roadmap#242: no option raises it).
        """
        settings = environment.settings
        profile = options.effective(settings, options.LAUNCH, "IamInstanceProfile").strip()
        role_arn = self._instance_role(settings)
        imds_v1_off = options.effective(settings, options.LAUNCH, "DisableIMDSv1").lower() == "true"
        request = {
            "ImageId": self._amazon_linux_image(), "MinCount": 1, "MaxCount": 1,
            "InstanceType": options.effective(settings, "aws:ec2:instances", "InstanceTypes").split(",")[0].strip(),
            "MetadataOptions": {"HttpTokens": "required" if imds_v1_off else "optional", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled"},
            "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in environment.system_tags().items()]}],
        }
        if profile:
            request["IamInstanceProfile"] = {"Arn": profile} if profile.startswith("arn:") else {"Name": profile}
        instance = self.client("ec2").run_instances(**request)["Instances"][0]
        self.metadata.add(Machine(instance["InstanceId"], self.config.region, instance["Placement"]["AvailabilityZone"], account_id, role_arn))
        return instance["InstanceId"]

    def terminate_instance(self, instance_id):
        self.metadata.remove(instance_id)
        try:
            self.client("ec2").terminate_instances(InstanceIds=[instance_id])
        except (ClientError, BotoCoreError):
            pass  # gone already (a reset), or the API stopped first (the local cloud stopping)

    def _instance_role(self, settings):
        """The ARN of the role of the environment's instance profile; None without a profile or role."""
        profile = options.effective(settings, options.LAUNCH, "IamInstanceProfile").strip()
        if not profile:
            return None
        name = profile.rsplit("/", 1)[-1]
        try:
            roles = self.client("iam").get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Roles"]
        except ClientError:
            raise DeployError("The instance profile %s associated with the environment does not exist." % profile) from None
        return roles[0]["Arn"] if roles else None

    def _amazon_linux_image(self):
        if self._image_id is None:
            self._image_id = self.client("ec2").describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        return self._image_id

    def app_variables(self, settings):
        """The app's environment: properties, then secrets.

        No credentials: the app's SDK gets the instance profile's from the instance's metadata
        service (each instance adds its address). No region: EB gives a Docker container its
        environment properties only, so an SDK inside has none unless a property sets it (S3
        clients then sign for us-east-1).
        """
        variables = dict(self.aws_api_variables(), MLFLOW_S3_ENDPOINT_URL=self.config.endpoint)
        variables.update(options.environment_properties(settings))
        references = options.secret_references(settings)
        if references:
            role_arn = self._instance_role(settings)
            for name, reference in references.items():
                variables[name] = self.secret(reference, role_arn)
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
        self._image_id = None


def _metadata_options(machine):
    """The live IMDS options of an EC2 instance in moto; None once it is terminated or gone."""
    from moto.ec2.models import ec2_backends  # pylint: disable=import-outside-toplevel

    try:
        instance = ec2_backends[machine.account_id][machine.region].get_instance(machine.instance_id)
    except Exception:  # pylint: disable=broad-except
        return None
    return None if instance.state == "terminated" else instance.metadata_options

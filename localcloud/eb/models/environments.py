"""Environments and the operations that launch, update and terminate them."""

import random
import re
import string
import threading

from moto.core.exceptions import ServiceException

from localcloud.eb import options, platforms
from localcloud.eb.exceptions import DeployError, InvalidParameterCombination, InvalidParameterValue
from localcloud.eb.models.common import aware, make_arn, now

NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{2,38})[A-Za-z0-9]$")
CNAME_PREFIX = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{2,61})[A-Za-z0-9]$")
# Terminated environments stay visible for about an hour on AWS.
TERMINATED_VISIBLE_SECONDS = 3600


class Environment:
    def __init__(self, backend, application, name, cname_prefix, platform, tier, version_label, settings, description):
        self.backend = backend
        self.id = "e-" + "".join(random.choice(string.ascii_lowercase + string.digits) for _index in range(10))
        self.name = name
        self.application_name = application.name
        self.cname_prefix = cname_prefix
        # The local cloud has no DNS: the driver sets the CNAME to the front door's address.
        self.cname = ""
        self.endpoint_url = ""
        self.platform_arn, self.solution_stack = platform
        self.tier = tier
        self.version_label = version_label
        self.settings = settings
        self.pending_settings = None
        self.description = description or ""
        self.status = "Launching"
        self.health = "Grey"
        self.health_status = "Pending"
        self.abortable = False
        self.created = self.updated = now()
        self.terminated_at = None
        self.arn = make_arn(backend.region_name, backend.account_id, "environment", "%s/%s" % (application.name, name))
        self.tags = {}
        # Its application load balancer in moto's ELBv2, and the instances' security group EB's
        # stack makes (see options.described).
        self.load_balancer_arn = None
        self.own_security_group = "awseb-%s-stack-AWSEBSecurityGroup-%s" % (
            self.id, "".join(random.choice(string.ascii_uppercase + string.digits) for _index in range(12)))

    def describe(self):
        result = {
            "EnvironmentName": self.name,
            "EnvironmentId": self.id,
            "ApplicationName": self.application_name,
            "SolutionStackName": self.solution_stack,
            "PlatformArn": self.platform_arn,
            "EndpointURL": self.endpoint_url,
            "CNAME": self.cname,
            "DateCreated": self.created,
            "DateUpdated": self.updated,
            "Status": self.status,
            "AbortableOperationInProgress": self.abortable,
            "Health": self.health,
            "HealthStatus": self.health_status,
            "Tier": dict(self.tier),
            "EnvironmentLinks": [],
            "EnvironmentArn": self.arn,
        }
        if self.version_label:
            result["VersionLabel"] = self.version_label
        if self.description:
            result["Description"] = self.description
        return result

    def system_tags(self):
        return {"elasticbeanstalk:environment-name": self.name, "elasticbeanstalk:environment-id": self.id, "Name": self.name}


class Operation:
    """One running operation on an environment, as the driver sees it."""

    def __init__(self, backend, environment, kind, request_id, version=None, previous_settings=None):
        self.backend = backend
        self.environment = environment
        self.kind = kind
        self.request_id = request_id
        self.version = version
        self.previous_settings = previous_settings

    def event(self, message, severity="INFO"):
        self.backend.add_event(message, severity, environment=self.environment, request_id=self.request_id)

    def set_address(self, cname, endpoint_url):
        with self.backend.lock:
            self.environment.cname, self.environment.endpoint_url = cname, endpoint_url


class EnvironmentsBackend:
    """The backend's environments: each operation runs in a worker thread, its work done by the driver."""

    def live_environments(self):
        return [env for env in self.environments if env.status != "Terminated"]

    def find_environment(self, name=None, env_id=None):
        with self.lock:
            for env in self.live_environments():
                if (env_id and env.id == env_id) or (name and env.name == name):
                    return env
        if env_id:
            raise InvalidParameterValue("No Environment found for EnvironmentId = '%s'." % env_id)
        raise InvalidParameterValue("No Environment found for EnvironmentName = '%s'." % name)

    def fqdn(self, prefix):
        return "%s.%s.elasticbeanstalk.com" % (prefix.lower(), self.region_name)

    def check_dns(self, prefix):
        if not prefix or not CNAME_PREFIX.match(prefix):
            raise InvalidParameterValue("The CNAME prefix must be 4 to 63 letters, digits and hyphens, not starting or ending with a hyphen.")
        with self.lock:
            taken = any((env.cname_prefix or "").lower() == prefix.lower() for env in self.live_environments())
        return not taken, self.fqdn(prefix)

    def resolve_platform(self, platform_arn, stack_name):
        if not platform_arn and not stack_name:
            raise InvalidParameterCombination("No platform specified: give a PlatformArn or a SolutionStackName.")
        found = platforms.resolve(self.region_name, platform_arn, stack_name)
        if found is None:
            if platform_arn:
                raise InvalidParameterValue("No Platform named '%s' found." % platform_arn)
            raise InvalidParameterValue("No Solution Stack named '%s' found." % stack_name)
        return found

    def _usable_version(self, application, label):
        if not label:
            return None
        version = application.versions.get(label)
        if version is None:
            raise InvalidParameterValue("No Application Version named '%s' found." % label)
        if version.status in ("Processing", "Building"):
            raise InvalidParameterValue("Application version %s is still being processed." % label)
        if version.status == "Failed":
            raise InvalidParameterValue("Application version %s failed to process and cannot be deployed." % label)
        return version

    def _create_load_balancer(self, env):
        """The environment's application load balancer, in moto's ELBv2 (its DNS name is what an alias names)."""
        if options.effective(env.settings, options.ENV_NS, "LoadBalancerType") != "application" or \
                options.effective(env.settings, options.ENV_NS, "EnvironmentType") != "LoadBalanced":
            return
        from moto.ec2.models import ec2_backends  # pylint: disable=import-outside-toplevel
        from moto.elbv2.models import elbv2_backends  # pylint: disable=import-outside-toplevel

        subnets = [part.strip() for part in options.effective(env.settings, options.VPC, "ELBSubnets").split(",") if part.strip()]
        if not subnets:
            ec2 = ec2_backends[self.account_id][self.region_name]
            default_vpc = [vpc.id for vpc in ec2.describe_vpcs() if vpc.is_default]
            subnets = [subnet.id for subnet in ec2.describe_subnets() if subnet.vpc_id in default_vpc and subnet.default_for_az]
        groups = [part.strip() for part in options.effective(env.settings, "aws:elbv2:loadbalancer", "SecurityGroups").split(",") if part.strip()]
        name = "awseb-AWSEB-" + "".join(random.choice(string.ascii_uppercase + string.digits) for _index in range(12))
        balancer = elbv2_backends[self.account_id][self.region_name].create_load_balancer(
            name, groups, subnets, loadbalancer_type="application",
            tags=[{"Key": key, "Value": value} for key, value in env.system_tags().items()],
        )
        env.load_balancer_arn = balancer.arn

    def _delete_load_balancer(self, env):
        if env.load_balancer_arn:
            from moto.elbv2.models import elbv2_backends  # pylint: disable=import-outside-toplevel

            elbv2_backends[self.account_id][self.region_name].delete_load_balancer(env.load_balancer_arn)

    def _check_network(self, settings):
        """The load balancer's subnets as ELBv2 takes them: known, one per AZ, at least two AZs.

        On AWS the environment's stack fails when ELBv2 refuses them; here the call is refused at
        once with ELBv2's own words.
        https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#availability-zones
        """
        value = options.effective(settings, options.VPC, "ELBSubnets")
        subnet_ids = [part.strip() for part in value.split(",") if part.strip()]
        if not subnet_ids or options.effective(settings, options.ENV_NS, "LoadBalancerType") != "application":
            return
        from moto.ec2.models import ec2_backends  # pylint: disable=import-outside-toplevel

        zone_of = {subnet.id: subnet.availability_zone for subnet in ec2_backends[self.account_id][self.region_name].describe_subnets()}
        unknown = [subnet_id for subnet_id in subnet_ids if subnet_id not in zone_of]
        if unknown:
            raise InvalidParameterValue("ELBSubnets: The subnet ID '%s' does not exist" % unknown[0])
        zones = [zone_of[subnet_id] for subnet_id in subnet_ids]
        if len(set(zones)) != len(zones):
            raise InvalidParameterValue("ELBSubnets %s: A load balancer cannot be attached to multiple subnets in the same Availability Zone." % value)
        if len(zones) < 2:
            raise InvalidParameterValue("ELBSubnets %s: At least two subnets in two different Availability Zones must be specified." % value)

    @staticmethod
    def _merge(settings, option_settings, options_to_remove):
        merged = dict(settings)
        for item in options_to_remove or []:
            merged.pop(options.key_of(item), None)
        for item in option_settings or []:
            merged[options.key_of(item)] = item.get("Value") if item.get("Value") is not None else ""
        return merged

    def create_environment(self, request_id, application_name=None, environment_name=None, cname_prefix=None, platform_arn=None,
                           solution_stack_name=None, version_label=None, tier=None, option_settings=None, options_to_remove=None,
                           description=None, tags=None):
        name = environment_name or ""
        if not NAME.match(name):
            raise InvalidParameterValue(
                "Value %s at 'EnvironmentName' failed to satisfy constraint: it must be 4 to 40 letters, digits "
                "and hyphens, and can't start or end with a hyphen." % name
            )
        tier = tier or {"Name": "WebServer", "Type": "Standard", "Version": "1.0"}
        if tier.get("Name") != "WebServer":
            raise InvalidParameterValue("The local cloud runs only the WebServer tier.")
        tier = {"Name": "WebServer", "Type": "Standard", "Version": tier.get("Version") or "1.0"}
        with self.lock:
            application = self.application(application_name)
            if any(env.name == name for env in self.live_environments()):
                raise InvalidParameterValue("Environment %s already exists." % name)
            prefix = cname_prefix or name
            available, fqdn = self.check_dns(prefix)
            if not available:
                raise InvalidParameterValue("DNS name (%s) is not available." % fqdn)
            platform = self.resolve_platform(platform_arn, solution_stack_name)
            version = self._usable_version(application, version_label)
            settings = self._merge({}, option_settings, options_to_remove)
            try:
                options.validate(settings)
            except options.OptionError as error:
                raise InvalidParameterValue(str(error)) from None
            self._check_network(settings)
            env = Environment(self, application, name, prefix.lower(), platform, tier, version.label if version else None, settings, description)
            env.tags = dict(tags or {})
            try:
                self._create_load_balancer(env)
            except ServiceException as error:
                raise InvalidParameterValue("Creating load balancer failed: %s" % error.message) from None
            self.environments.append(env)
            self.add_event("createEnvironment is starting.", environment=env, request_id=request_id)
            operation = Operation(self, env, "create", request_id, version=version)
            self._start(self._run_operation, operation, self.driver.launch)
            return env

    def update_environment(self, request_id, environment_name=None, environment_id=None, platform_arn=None, solution_stack_name=None,
                           version_label=None, tier=None, option_settings=None, options_to_remove=None, description=None):
        with self.lock:
            env = self.find_environment(environment_name, environment_id)
            if env.status != "Ready":
                raise InvalidParameterValue("Environment named %s is in an invalid state for this operation. Must be Ready." % env.name)
            application = self.application(env.application_name)
            if tier and tier.get("Name", "WebServer") != env.tier["Name"]:
                raise InvalidParameterValue("Cannot change the tier of environment %s (%s)." % (env.name, env.tier["Name"]))
            if platform_arn or solution_stack_name:
                platform = self.resolve_platform(platform_arn, solution_stack_name)
            else:
                platform = (env.platform_arn, env.solution_stack)
            version = self._usable_version(application, version_label) if version_label else None
            settings = self._merge(env.settings, option_settings, options_to_remove)
            try:
                options.validate(settings, env.settings)
            except options.OptionError as error:
                raise InvalidParameterValue(str(error)) from None
            self._check_network(settings)
            previous = env.settings
            env.pending_settings = settings
            if description is not None:
                env.description = description
            env.platform_arn, env.solution_stack = platform
            env.status = "Updating"
            env.updated = now()
            self.add_event("Environment update is starting.", environment=env, request_id=request_id)
            operation = Operation(self, env, "update", request_id, version=version, previous_settings=previous)
            self._start(self._run_operation, operation, self.driver.update)
            return env

    def terminate_environment(self, name, env_id, request_id, force=False):
        with self.lock:
            env = self.find_environment(name, env_id)
            if env.status != "Ready" and not force:
                raise InvalidParameterValue("Environment named %s is in an invalid state for this operation. Must be Ready." % env.name)
            env.status = "Terminating"
            env.updated = now()
            self.add_event("terminateEnvironment is starting.", environment=env, request_id=request_id)
            operation = Operation(self, env, "terminate", request_id)
            self._start(self._run_operation, operation, self.driver.terminate)
            return env

    def _run_operation(self, operation, work):
        env = operation.environment
        if operation.kind == "update" and env.pending_settings is not None:
            with self.lock:
                env.settings = env.pending_settings
        try:
            work(operation)
            failed = None
        except DeployError as error:
            failed = error
        except Exception as error:  # pylint: disable=broad-except
            failed = DeployError("The local platform failed: %s: %s" % (type(error).__name__, error))
        with self.lock:
            env.pending_settings = None
            env.updated = now()
            if failed:
                for message in failed.messages:
                    self.add_event(message, "ERROR", environment=env, request_id=operation.request_id)
            if operation.kind == "terminate":
                self._delete_load_balancer(env)
                env.status, env.health, env.health_status = "Terminated", "Grey", "No Data"
                env.terminated_at = now()
                self.add_event("terminateEnvironment completed successfully.", environment=env, request_id=operation.request_id)
                return
            if operation.version is not None and not failed:
                env.version_label = operation.version.label
            env.status = "Ready"
            if operation.kind == "create":
                if failed:
                    self.add_event(
                        "Create environment operation is complete, but with errors. For more information, see troubleshooting documentation.",
                        "ERROR", environment=env, request_id=operation.request_id,
                    )
                else:
                    self.add_event("Successfully launched environment: %s" % env.name, environment=env, request_id=operation.request_id)
            elif failed:
                self.add_event("Failed to deploy application.", "ERROR", environment=env, request_id=operation.request_id)
            else:
                self.add_event("Environment update completed successfully.", environment=env, request_id=operation.request_id)

    def _start(self, target, *args):
        threading.Thread(target=target, args=args, daemon=True).start()

    def describe_environments(self, application_name=None, version_label=None, environment_names=None, environment_ids=None,
                              include_deleted=None, included_deleted_back_to=None):
        names = environment_names or []
        ids = environment_ids or []
        include_deleted = True if include_deleted is None else include_deleted
        back_to = aware(included_deleted_back_to)
        with self.lock:
            result = []
            for env in self.environments:
                if application_name and env.application_name != application_name:
                    continue
                if version_label and env.version_label != version_label:
                    continue
                if names and env.name not in names:
                    continue
                if ids and env.id not in ids:
                    continue
                if env.status == "Terminated":
                    age = (now() - env.terminated_at).total_seconds()
                    if not include_deleted or age > TERMINATED_VISIBLE_SECONDS or (back_to and env.terminated_at < back_to):
                        continue
                result.append(env.describe())
            return result

    def configuration_settings(self, app_name, env_name):
        with self.lock:
            self.application(app_name)
            env = self.find_environment(env_name)
            sets = [("deployed", env.settings)]
            if env.pending_settings is not None:
                sets.append(("pending", env.pending_settings))
            return [
                {
                    "SolutionStackName": env.solution_stack,
                    "PlatformArn": env.platform_arn,
                    "ApplicationName": env.application_name,
                    "EnvironmentName": env.name,
                    "DeploymentStatus": status,
                    "DateCreated": env.created,
                    "DateUpdated": env.updated,
                    "OptionSettings": options.described(settings, env.own_security_group),
                }
                for status, settings in sets
            ]

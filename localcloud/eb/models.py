"""The Elastic Beanstalk backend: applications, versions, environments, events, settings.

Operations that take time on AWS (processing a version, launching, updating, terminating an
environment) run in a worker thread: the API answers at once with the transitional state
(Processing, Launching, Updating, Terminating) and the state moves on as the work completes.
The work itself (running instances) is done by a driver: `localcloud.platform` in the local
cloud; without one, operations complete at once with no instance.
"""

import random
import re
import string
import threading
import zipfile
import io
from datetime import datetime, timezone

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import ServiceException
from moto.utilities.utils import get_partition

from localcloud.eb import options, platforms

EVENT_FILTERS = ("ApplicationName", "EnvironmentName", "VersionLabel", "RequestId", "PlatformArn")
SEVERITIES = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{2,38})[A-Za-z0-9]$")
CNAME_PREFIX = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{2,61})[A-Za-z0-9]$")
# Terminated environments stay visible for about an hour on AWS.
TERMINATED_VISIBLE_SECONDS = 3600


class InvalidParameterValue(ServiceException):
    code = "InvalidParameterValue"


class InvalidParameterCombination(ServiceException):
    code = "InvalidParameterCombination"


class ResourceNotFound(ServiceException):
    code = "ResourceNotFoundException"


class TooManyTags(ServiceException):
    code = "TooManyTagsException"


class DeployError(Exception):
    """A driver's failure: `messages` become ERROR events."""

    def __init__(self, *messages):
        super().__init__(messages[0] if messages else "deployment failed")
        self.messages = list(messages)


def now():
    return datetime.now(timezone.utc)


def aware(moment):
    """Request timestamps arrive naive (UTC); ours are aware."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def make_arn(region, account, kind, path):
    return "arn:%s:elasticbeanstalk:%s:%s:%s/%s" % (get_partition(region), region, account, kind, path)


class Driver:
    """What runs environments. The default runs nothing: operations complete at once."""

    def validate_bundle(self, bucket, key):
        return None

    def launch(self, operation):
        operation.event("No instance runs: the local cloud was started without its platform.")

    def update(self, operation):
        pass

    def terminate(self, operation):
        pass

    def reset(self):
        pass


DRIVER = Driver()


def set_driver(driver):
    global DRIVER  # pylint: disable=global-statement
    DRIVER = driver


class ApplicationVersion:
    def __init__(self, backend, application, label, description, bucket, key):
        self.application_name = application.name
        self.label = label
        self.description = description or ""
        self.bucket, self.key = bucket, key
        self.status = "Unprocessed"
        self.created = self.updated = now()
        self.arn = make_arn(backend.region_name, backend.account_id, "applicationversion", "%s/%s" % (application.name, label))
        self.tags = {}

    def describe(self):
        result = {
            "ApplicationVersionArn": self.arn,
            "ApplicationName": self.application_name,
            "VersionLabel": self.label,
            "SourceBundle": {"S3Bucket": self.bucket, "S3Key": self.key},
            "DateCreated": self.created,
            "DateUpdated": self.updated,
            "Status": self.status,
        }
        if self.description:
            result["Description"] = self.description
        return result


class Application:
    def __init__(self, backend, name, description):
        self.name = name
        self.description = description or ""
        self.created = self.updated = now()
        self.arn = make_arn(backend.region_name, backend.account_id, "application", name)
        self.versions = {}
        self.tags = {}

    def describe(self):
        result = {
            "ApplicationArn": self.arn,
            "ApplicationName": self.name,
            "DateCreated": self.created,
            "DateUpdated": self.updated,
            "Versions": sorted(self.versions),
            "ConfigurationTemplates": [],
            "ResourceLifecycleConfig": {"VersionLifecycleConfig": {
                "MaxCountRule": {"Enabled": False, "MaxCount": 200, "DeleteSourceFromS3": False},
                "MaxAgeRule": {"Enabled": False, "MaxAgeInDays": 180, "DeleteSourceFromS3": False},
            }},
        }
        if self.description:
            result["Description"] = self.description
        return result


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


class LocalEBBackend(BaseBackend):
    def __init__(self, region_name, account_id):
        super().__init__(region_name, account_id)
        self.lock = threading.RLock()
        self.applications = {}
        self.environments = []
        self.events = []

    # Applications -------------------------------------------------------------------------

    def application(self, name):
        try:
            return self.applications[name]
        except KeyError:
            raise InvalidParameterValue("No Application named '%s' found." % name) from None

    def create_application(self, name, description, tags):
        if not name or len(name) > 100:
            raise InvalidParameterValue("Application name must be 1 to 100 characters long.")
        with self.lock:
            if name in self.applications:
                raise InvalidParameterValue("Application %s already exists." % name)
            application = Application(self, name, description)
            application.tags = dict(tags)
            self.applications[name] = application
            return application

    def update_application(self, name, description):
        with self.lock:
            application = self.application(name)
            if description is not None:
                application.description = description
                application.updated = now()
            return application

    def delete_application(self, name, terminate_environments):
        with self.lock:
            self.application(name)  # raises when there is none
            running = [env for env in self.live_environments() if env.application_name == name]
            if running and not terminate_environments:
                raise InvalidParameterValue("Unable to delete application %s because it has running environments." % name)
            for env in running:
                self.terminate_environment(env.name, None, "delete-application")
            del self.applications[name]

    # Application versions -----------------------------------------------------------------

    def create_application_version(self, app_name, label, description, bundle, auto_create, process, tags, request_id):
        if not label or len(label) > 100:
            raise InvalidParameterValue("Version label must be 1 to 100 characters long.")
        bucket, key = (bundle or {}).get("S3Bucket"), (bundle or {}).get("S3Key")
        if not bucket or not key:
            raise InvalidParameterCombination("Both S3 bucket and key must be specified.")
        # Read the bundle from S3 before taking the lock: other EB calls need not wait for it.
        problem = DRIVER.validate_bundle(bucket, key)
        with self.lock:
            if app_name not in self.applications and auto_create:
                self.create_application(app_name, "", {})
            application = self.application(app_name)
            if label in application.versions:
                raise InvalidParameterValue("Application Version %s already exists." % label)
            if problem == "missing":
                raise InvalidParameterCombination("Unable to download from S3 location (Bucket: %s  Key: %s). Reason: Not Found" % (bucket, key))
            version = ApplicationVersion(self, application, label, description, bucket, key)
            version.tags = dict(tags)
            application.versions[label] = version
            application.updated = now()
            if process:
                version.status = "Processing"
                self._start(self._process_version, version, problem, request_id)
            self.add_event("Created new Application Version (%s)" % label, application=app_name, version=label, request_id=request_id)
            return version

    def _process_version(self, version, problem, request_id):
        with self.lock:
            if problem:
                version.status = "Failed"
                self.add_event(
                    "Failed to process application version %s: %s" % (version.label, problem), "ERROR",
                    application=version.application_name, version=version.label, request_id=request_id,
                )
            else:
                version.status = "Processed"
            version.updated = now()

    def describe_application_versions(self, app_name, labels):
        with self.lock:
            apps = [self.applications[app_name]] if app_name in self.applications else ([] if app_name else list(self.applications.values()))
            versions = [version for app in apps for version in app.versions.values() if not labels or version.label in labels]
            return sorted(versions, key=lambda version: version.created, reverse=True)

    def delete_application_version(self, app_name, label):
        with self.lock:
            application = self.application(app_name)
            if label not in application.versions:
                raise InvalidParameterValue("Application Version %s not found." % label)
            users = [env.name for env in self.live_environments() if env.application_name == app_name and env.version_label == label]
            if users:
                raise InvalidParameterValue(
                    "Unable to delete application version '%s' because it is deployed to running environment(s): %s." % (label, ", ".join(users))
                )
            del application.versions[label]

    # Environments -------------------------------------------------------------------------

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

    def create_environment(self, params, request_id):
        name = params.get("EnvironmentName") or ""
        if not NAME.match(name):
            raise InvalidParameterValue(
                "Value %s at 'EnvironmentName' failed to satisfy constraint: it must be 4 to 40 letters, digits "
                "and hyphens, and can't start or end with a hyphen." % name
            )
        tier = params.get("Tier") or {"Name": "WebServer", "Type": "Standard", "Version": "1.0"}
        if tier.get("Name") != "WebServer":
            raise InvalidParameterValue("The local cloud runs only the WebServer tier.")
        tier = {"Name": "WebServer", "Type": "Standard", "Version": tier.get("Version") or "1.0"}
        with self.lock:
            application = self.application(params.get("ApplicationName"))
            if any(env.name == name for env in self.live_environments()):
                raise InvalidParameterValue("Environment %s already exists." % name)
            prefix = params.get("CNAMEPrefix") or name
            available, fqdn = self.check_dns(prefix)
            if not available:
                raise InvalidParameterValue("DNS name (%s) is not available." % fqdn)
            platform = self.resolve_platform(params.get("PlatformArn"), params.get("SolutionStackName"))
            version = self._usable_version(application, params.get("VersionLabel"))
            settings = self._merge({}, params.get("OptionSettings"), params.get("OptionsToRemove"))
            try:
                options.validate(settings)
            except options.OptionError as error:
                raise InvalidParameterValue(str(error)) from None
            self._check_network(settings)
            env = Environment(self, application, name, prefix.lower(), platform, tier, version.label if version else None, settings, params.get("Description"))
            env.tags = {tag["Key"]: tag["Value"] for tag in params.get("Tags") or []}
            try:
                self._create_load_balancer(env)
            except ServiceException as error:
                raise InvalidParameterValue("Creating load balancer failed: %s" % error.message) from None
            self.environments.append(env)
            self.add_event("createEnvironment is starting.", environment=env, request_id=request_id)
            operation = Operation(self, env, "create", request_id, version=version)
            self._start(self._run_operation, operation, DRIVER.launch)
            return env

    def update_environment(self, params, request_id):
        with self.lock:
            env = self.find_environment(params.get("EnvironmentName"), params.get("EnvironmentId"))
            if env.status != "Ready":
                raise InvalidParameterValue("Environment named %s is in an invalid state for this operation. Must be Ready." % env.name)
            application = self.application(env.application_name)
            if params.get("Tier") and params["Tier"].get("Name", "WebServer") != env.tier["Name"]:
                raise InvalidParameterValue("Cannot change the tier of environment %s (%s)." % (env.name, env.tier["Name"]))
            if params.get("PlatformArn") or params.get("SolutionStackName"):
                platform = self.resolve_platform(params.get("PlatformArn"), params.get("SolutionStackName"))
            else:
                platform = (env.platform_arn, env.solution_stack)
            version = self._usable_version(application, params.get("VersionLabel")) if params.get("VersionLabel") else None
            settings = self._merge(env.settings, params.get("OptionSettings"), params.get("OptionsToRemove"))
            try:
                options.validate(settings, env.settings)
            except options.OptionError as error:
                raise InvalidParameterValue(str(error)) from None
            self._check_network(settings)
            previous = env.settings
            env.pending_settings = settings
            if params.get("Description") is not None:
                env.description = params["Description"]
            env.platform_arn, env.solution_stack = platform
            env.status = "Updating"
            env.updated = now()
            self.add_event("Environment update is starting.", environment=env, request_id=request_id)
            operation = Operation(self, env, "update", request_id, version=version, previous_settings=previous)
            self._start(self._run_operation, operation, DRIVER.update)
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
            self._start(self._run_operation, operation, DRIVER.terminate)
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

    def describe_environments(self, params):
        names = params.get("EnvironmentNames") or []
        ids = params.get("EnvironmentIds") or []
        include_deleted = params.get("IncludeDeleted")
        include_deleted = True if include_deleted is None else include_deleted
        back_to = aware(params.get("IncludedDeletedBackTo"))
        with self.lock:
            result = []
            for env in self.environments:
                if params.get("ApplicationName") and env.application_name != params["ApplicationName"]:
                    continue
                if params.get("VersionLabel") and env.version_label != params["VersionLabel"]:
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

    # Events -------------------------------------------------------------------------------

    def add_event(self, message, severity="INFO", environment=None, application=None, version=None, request_id=None):
        event = {
            "EventDate": now(),
            "Message": message,
            "ApplicationName": environment.application_name if environment else application,
            "Severity": severity,
        }
        if environment:
            event["EnvironmentName"] = environment.name
            event["PlatformArn"] = environment.platform_arn
            version = version or environment.version_label
        if version:
            event["VersionLabel"] = version
        if request_id:
            event["RequestId"] = request_id
        with self.lock:
            event["_env_id"] = environment.id if environment else None
            self.events.append(event)

    def describe_events(self, params):
        minimum = SEVERITIES.index(params["Severity"]) if params.get("Severity") in SEVERITIES else 0
        env_id = params.get("EnvironmentId")
        with self.lock:
            selected = []
            for event in reversed(self.events):
                if SEVERITIES.index(event["Severity"]) < minimum:
                    continue
                if any(params.get(field) and event.get(field) != params[field] for field in EVENT_FILTERS):
                    continue
                if env_id and event["_env_id"] != env_id:
                    continue
                if params.get("StartTime") and event["EventDate"] < aware(params["StartTime"]):
                    continue
                if params.get("EndTime") and event["EventDate"] >= aware(params["EndTime"]):
                    continue
                selected.append({key: value for key, value in event.items() if not key.startswith("_")})
            return selected

    # Tags ---------------------------------------------------------------------------------

    def resource(self, arn):
        with self.lock:
            for application in self.applications.values():
                if application.arn == arn:
                    return application, {}
                for version in application.versions.values():
                    if version.arn == arn:
                        return version, {}
            for env in self.live_environments():
                if env.arn == arn:
                    return env, env.system_tags()
        raise ResourceNotFound("Resource not found for ARN '%s'." % arn)

    def list_tags(self, arn):
        resource, system = self.resource(arn)
        return dict(system, **resource.tags)

    def update_tags(self, arn, add, remove):
        resource, system = self.resource(arn)
        for key in list(add) + list(remove):
            if key.startswith("elasticbeanstalk:") or key.startswith("aws:") or key in system:
                raise InvalidParameterValue("Tag key '%s' is reserved." % key)
        with self.lock:
            tags = dict(resource.tags)
            for key in remove:
                tags.pop(key, None)
            tags.update(add)
            if len(tags) > 50:
                raise TooManyTags("A resource can have at most 50 tags.")
            resource.tags = tags


def bundle_problem(data):
    """Why a bundle can't run on the Docker platform, or None."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        return "the source bundle is not a valid ZIP file."
    if "Dockerfile" not in names and "Dockerrun.aws.json" not in names and "docker-compose.yml" not in names:
        return "the source bundle has no Dockerfile, Dockerrun.aws.json or docker-compose.yml at its root."
    return None


eb_backends = BackendDict(LocalEBBackend, "elasticbeanstalk")

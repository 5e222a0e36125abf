"""The EB API handler: request parameters in, botocore-shaped results out."""

import re

from moto.core.responses import ActionResult, BaseResponse, EmptyResult
from moto.utilities.aws_headers import gen_amzn_requestid_long

from localcloud.eb import models, platforms
from localcloud.eb.exceptions import InvalidParameterValue

# Only the response's own id: event members carry RequestId elements too.
METADATA_REQUEST_ID = re.compile(r"<ResponseMetadata><RequestId>[^<]*</RequestId>")


class LocalEBResponse(BaseResponse):
    def __init__(self):
        super().__init__(service_name="elasticbeanstalk")
        self.automated_parameter_parsing = True
        self.request_id = None

    @property
    def backend(self):
        # Looked up at each call: install() gives the module its backends, with their driver.
        return models.eb_backends[self.current_account][self.region]

    def call_action(self):
        # Events carry the request id of the call that started their operation, as on AWS:
        # choose it before the handler runs and send that same id back.
        self.request_id = gen_amzn_requestid_long()
        return super().call_action()

    def _enrich_response(self, headers, body):  # pylint: disable=arguments-differ
        # moto's version rewrites everything between the first and the last RequestId tag.
        if "status" in headers:
            headers["status"] = str(headers["status"])
        headers["x-amzn-requestid"] = self.request_id
        if isinstance(body, str):
            body = METADATA_REQUEST_ID.sub("<ResponseMetadata><RequestId>%s</RequestId>" % self.request_id, body)
        return headers, body

    def _tags(self, name="Tags"):
        return {tag["Key"]: tag.get("Value", "") for tag in self._get_param(name, []) or []}

    # Applications

    def create_application(self):
        app = self.backend.create_application(self._get_param("ApplicationName"), self._get_param("Description"), self._tags())
        return ActionResult({"Application": app.describe()})

    def update_application(self):
        app = self.backend.update_application(self._get_param("ApplicationName"), self._get_param("Description"))
        return ActionResult({"Application": app.describe()})

    def describe_applications(self):
        names = self._get_param("ApplicationNames", []) or []
        with self.backend.lock:
            apps = [app.describe() for app in self.backend.applications.values() if not names or app.name in names]
        return ActionResult({"Applications": apps})

    def delete_application(self):
        self.backend.delete_application(self._get_param("ApplicationName"), bool(self._get_param("TerminateEnvByForce")))
        return EmptyResult()

    # Application versions

    def create_application_version(self):
        version = self.backend.create_application_version(
            self._get_param("ApplicationName"),
            self._get_param("VersionLabel"),
            self._get_param("Description"),
            self._get_param("SourceBundle"),
            bool(self._get_param("AutoCreateApplication")),
            bool(self._get_param("Process")),
            self._tags(),
            self.request_id,
        )
        return ActionResult({"ApplicationVersion": version.describe()})

    def describe_application_versions(self):
        versions = self.backend.describe_application_versions(self._get_param("ApplicationName"), self._get_param("VersionLabels", []) or [])
        return ActionResult({"ApplicationVersions": [version.describe() for version in versions]})

    def delete_application_version(self):
        self.backend.delete_application_version(self._get_param("ApplicationName"), self._get_param("VersionLabel"))
        return EmptyResult()

    # Environments

    def check_dns_availability(self):
        available, fqdn = self.backend.check_dns(self._get_param("CNAMEPrefix"))
        return ActionResult({"Available": available, "FullyQualifiedCNAME": fqdn})

    def _environment_fields(self):
        """What CreateEnvironment and UpdateEnvironment both take, as the backend's named arguments."""
        return {
            "platform_arn": self._get_param("PlatformArn"),
            "solution_stack_name": self._get_param("SolutionStackName"),
            "version_label": self._get_param("VersionLabel"),
            "tier": self._get_param("Tier"),
            "option_settings": self._get_param("OptionSettings"),
            "options_to_remove": self._get_param("OptionsToRemove"),
            "description": self._get_param("Description"),
        }

    def create_environment(self):
        env = self.backend.create_environment(
            self.request_id,
            application_name=self._get_param("ApplicationName"),
            environment_name=self._get_param("EnvironmentName"),
            cname_prefix=self._get_param("CNAMEPrefix"),
            tags=self._tags(),
            **self._environment_fields(),
        )
        return ActionResult(env.describe())

    def update_environment(self):
        env = self.backend.update_environment(
            self.request_id,
            environment_name=self._get_param("EnvironmentName"),
            environment_id=self._get_param("EnvironmentId"),
            **self._environment_fields(),
        )
        return ActionResult(env.describe())

    def terminate_environment(self):
        env = self.backend.terminate_environment(
            self._get_param("EnvironmentName"), self._get_param("EnvironmentId"), self.request_id, bool(self._get_param("ForceTerminate"))
        )
        return ActionResult(env.describe())

    def describe_environments(self):
        return ActionResult({"Environments": self.backend.describe_environments(
            application_name=self._get_param("ApplicationName"),
            version_label=self._get_param("VersionLabel"),
            environment_names=self._get_param("EnvironmentNames"),
            environment_ids=self._get_param("EnvironmentIds"),
            include_deleted=self._get_param("IncludeDeleted"),
            included_deleted_back_to=self._get_param("IncludedDeletedBackTo"),
        )})

    def describe_configuration_settings(self):
        if self._get_param("TemplateName"):
            raise InvalidParameterValue("Configuration templates are not part of the local cloud.")
        sets = self.backend.configuration_settings(self._get_param("ApplicationName"), self._get_param("EnvironmentName"))
        return ActionResult({"ConfigurationSettings": sets})

    def describe_environment_resources(self):
        env = self.backend.find_environment(self._get_param("EnvironmentName"), self._get_param("EnvironmentId"))
        instances = self.backend.driver.instance_ids(env.id)
        return ActionResult({"EnvironmentResources": {
            "EnvironmentName": env.name,
            "AutoScalingGroups": [{"Name": "awseb-%s-stack-AWSEBAutoScalingGroup" % env.id}],
            "Instances": [{"Id": instance} for instance in instances],
            "LaunchConfigurations": [],
            "LaunchTemplates": [],
            # For an application load balancer EB gives its ARN as the name.
            "LoadBalancers": [{"Name": env.load_balancer_arn}] if env.load_balancer_arn else [],
            "Triggers": [],
            "Queues": [],
        }})

    def describe_events(self):
        events = self.backend.describe_events(
            severity=self._get_param("Severity"),
            environment_id=self._get_param("EnvironmentId"),
            start_time=self._get_param("StartTime"),
            end_time=self._get_param("EndTime"),
            application_name=self._get_param("ApplicationName"),
            environment_name=self._get_param("EnvironmentName"),
            version_label=self._get_param("VersionLabel"),
            request_id=self._get_param("RequestId"),
            platform_arn=self._get_param("PlatformArn"),
        )
        limit = int(self._get_param("MaxRecords") or 1000)
        return ActionResult({"Events": events[:limit]})

    # Platforms

    def list_platform_versions(self):
        try:
            found = [summary for summary in platforms.summaries(self.region) if platforms.matches(summary, self._get_param("Filters", []))]
        except ValueError as error:
            raise InvalidParameterValue(str(error)) from None
        return ActionResult({"PlatformSummaryList": found})

    def describe_platform_version(self):
        description = platforms.describe(self.region, self._get_param("PlatformArn"))
        if description is None:
            raise InvalidParameterValue("No Platform named '%s' found." % self._get_param("PlatformArn"))
        return ActionResult({"PlatformDescription": description})

    def list_available_solution_stacks(self):
        stacks = [platforms.solution_stack(version) for version in platforms.VERSIONS]
        return ActionResult({
            "SolutionStacks": stacks,
            "SolutionStackDetails": [{"SolutionStackName": stack, "PermittedFileTypes": ["zip"]} for stack in stacks],
        })

    # Tags

    def list_tags_for_resource(self):
        arn = self._get_param("ResourceArn")
        tags = self.backend.list_tags(arn)
        return ActionResult({"ResourceArn": arn, "ResourceTags": [{"Key": key, "Value": value} for key, value in sorted(tags.items())]})

    def update_tags_for_resource(self):
        self.backend.update_tags(self._get_param("ResourceArn"), self._tags("TagsToAdd"), self._get_param("TagsToRemove", []) or [])
        return EmptyResult()

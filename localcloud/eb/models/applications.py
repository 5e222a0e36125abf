"""Applications and their versions."""

from localcloud.eb.exceptions import InvalidParameterCombination, InvalidParameterValue
from localcloud.eb.models.common import make_arn, now


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


class ApplicationsBackend:
    """The backend's applications and application versions."""

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
        problem = self.driver.validate_bundle(bucket, key)
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

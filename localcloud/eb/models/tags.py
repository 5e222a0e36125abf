"""Tags on applications, versions and environments."""

from localcloud.eb.exceptions import InvalidParameterValue, ResourceNotFound, TooManyTags


class TagsBackend:
    """The backend's tags."""

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

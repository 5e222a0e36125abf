"""Events: what the operations report, filtered as DescribeEvents filters them."""

from localcloud.eb.models.common import aware, now

SEVERITIES = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")


class EventsBackend:
    """The backend's events."""

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

    def describe_events(self, severity=None, environment_id=None, start_time=None, end_time=None, application_name=None,
                        environment_name=None, version_label=None, request_id=None, platform_arn=None):
        """The events newest first, of at least that severity, matching every filter given."""
        minimum = SEVERITIES.index(severity) if severity in SEVERITIES else 0
        wanted = {"ApplicationName": application_name, "EnvironmentName": environment_name, "VersionLabel": version_label,
                  "RequestId": request_id, "PlatformArn": platform_arn}
        with self.lock:
            selected = []
            for event in reversed(self.events):
                if SEVERITIES.index(event["Severity"]) < minimum:
                    continue
                if any(value and event.get(field) != value for field, value in wanted.items()):
                    continue
                if environment_id and event["_env_id"] != environment_id:
                    continue
                if start_time and event["EventDate"] < aware(start_time):
                    continue
                if end_time and event["EventDate"] >= aware(end_time):
                    continue
                selected.append({key: value for key, value in event.items() if not key.startswith("_")})
            return selected

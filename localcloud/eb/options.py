"""Option settings: the defaults EB reports, and the validation it applies.

Settings are kept as {(namespace, option name, resource name or ""): value}.
"""

import re

ENVIRONMENT = "aws:elasticbeanstalk:application:environment"
SECRETS = "aws:elasticbeanstalk:application:environmentsecrets"
PROCESS = "aws:elasticbeanstalk:environment:process:default"
COMMAND = "aws:elasticbeanstalk:command"
ASG = "aws:autoscaling:asg"
ENV_NS = "aws:elasticbeanstalk:environment"
LAUNCH = "aws:autoscaling:launchconfiguration"
VPC = "aws:ec2:vpc"
MANAGED = "aws:elasticbeanstalk:managedactions"
PLATFORM_UPDATE = "aws:elasticbeanstalk:managedactions:platformupdate"
HEALTH = "aws:elasticbeanstalk:healthreporting:system"
LOAD_BALANCER = "aws:elbv2:loadbalancer"
# https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-general.html#command-options-general-elasticbeanstalkmanagedactions
WEEKLY_WINDOW = re.compile(r"^(Sun|Mon|Tue|Wed|Thu|Fri|Sat):([01][0-9]|2[0-3]):[0-5][0-9]$")

# What DescribeConfigurationSettings reports for a load-balanced Docker environment created
# through the API (a subset of EB's list: the options the collection and its tests read).
DEFAULTS = {
    (ASG, "MinSize"): "1",
    (ASG, "MaxSize"): "4",
    (ASG, "Availability Zones"): "Any",
    (ASG, "Cooldown"): "360",
    ("aws:autoscaling:launchconfiguration", "DisableIMDSv1"): "true",
    ("aws:autoscaling:launchconfiguration", "IamInstanceProfile"): "",
    ("aws:autoscaling:launchconfiguration", "SecurityGroups"): "",
    ("aws:autoscaling:launchconfiguration", "DisableDefaultEC2SecurityGroup"): "false",
    ("aws:autoscaling:launchconfiguration", "RootVolumeType"): "",
    # An ALB closes a connection on which no byte went either way for this many seconds (504 to
    # the client when it was waiting for the target's response).
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-load-balancer-attributes.html#connection-idle-timeout
    (LOAD_BALANCER, "IdleTimeout"): "60",
    ("aws:autoscaling:updatepolicy:rollingupdate", "RollingUpdateEnabled"): "false",
    ("aws:autoscaling:updatepolicy:rollingupdate", "RollingUpdateType"): "Time",
    ("aws:autoscaling:updatepolicy:rollingupdate", "MaxBatchSize"): "1",
    ("aws:ec2:instances", "InstanceTypes"): "t3.micro, t3.small",
    (ENV_NS, "EnvironmentType"): "LoadBalanced",
    (ENV_NS, "LoadBalancerType"): "classic",
    (ENV_NS, "ServiceRole"): "",
    (PROCESS, "HealthCheckPath"): "/",
    (PROCESS, "HealthCheckInterval"): "15",
    (PROCESS, "HealthCheckTimeout"): "5",
    (PROCESS, "HealthyThresholdCount"): "3",
    (PROCESS, "UnhealthyThresholdCount"): "5",
    (PROCESS, "MatcherHTTPCode"): "200",
    (PROCESS, "Port"): "80",
    (PROCESS, "Protocol"): "HTTP",
    (PROCESS, "DeregistrationDelay"): "20",
    (PROCESS, "StickinessEnabled"): "false",
    (COMMAND, "DeploymentPolicy"): "AllAtOnce",
    (COMMAND, "BatchSizeType"): "Percentage",
    (COMMAND, "BatchSize"): "100",
    (COMMAND, "Timeout"): "600",
    (COMMAND, "IgnoreHealthCheck"): "false",
    ("aws:elasticbeanstalk:healthreporting:system", "SystemType"): "basic",
    ("aws:elasticbeanstalk:cloudwatch:logs", "StreamLogs"): "false",
    ("aws:elasticbeanstalk:cloudwatch:logs", "DeleteOnTerminate"): "false",
    ("aws:elasticbeanstalk:cloudwatch:logs", "RetentionInDays"): "7",
    (MANAGED, "ManagedActionsEnabled"): "false",
    (MANAGED, "PreferredStartTime"): "",
    (MANAGED, "ServiceRoleForManagedUpdates"): "",
    (PLATFORM_UPDATE, "UpdateLevel"): "",
    (PLATFORM_UPDATE, "InstanceRefreshEnabled"): "false",
    ("aws:elasticbeanstalk:xray", "XRayEnabled"): "false",
}

# Namespaces whose option names are free (environment properties, listener names...).
FREE_NAMESPACES = (ENVIRONMENT, SECRETS)
PATTERN_NAMESPACES = (
    re.compile(r"^aws:elbv2:listener:(default|\d+)$"),
    re.compile(r"^aws:elbv2:listenerrule:[A-Za-z0-9_-]+$"),
    re.compile(r"^aws:elasticbeanstalk:environment:process:[A-Za-z0-9_-]+$"),
    re.compile(r"^aws:elb:listener(:\d+)?$"),
)
EXTRA_OPTIONS = {
    "aws:autoscaling:launchconfiguration": {"InstanceType", "EC2KeyName", "ImageId", "MonitoringInterval", "RootVolumeSize",
                                            "SSHSourceRestriction"},
    "aws:ec2:vpc": {"VPCId", "Subnets", "ELBSubnets", "ELBScheme", "AssociatePublicIpAddress", "DBSubnets"},
    "aws:elbv2:loadbalancer": {"SecurityGroups", "ManagedSecurityGroup", "AccessLogsS3Enabled", "AccessLogsS3Bucket", "AccessLogsS3Prefix",
                               "SharedLoadBalancer"},
    "aws:autoscaling:trigger": {"MeasureName", "Statistic", "Unit", "Period", "BreachDuration", "UpperThreshold", "UpperBreachScaleIncrement",
                                "LowerThreshold", "LowerBreachScaleIncrement", "EvaluationPeriods"},
    "aws:elasticbeanstalk:healthreporting:system": {"ConfigDocument", "EnhancedHealthAuthEnabled", "HealthCheckSuccessThreshold"},
    "aws:elasticbeanstalk:cloudwatch:logs:health": {"HealthStreamingEnabled", "DeleteOnTerminate", "RetentionInDays"},
    "aws:elasticbeanstalk:environment:proxy": {"ProxyServer"},
    "aws:elasticbeanstalk:hostmanager": {"LogPublicationControl"},
    "aws:elasticbeanstalk:sns:topics": {"Notification Endpoint", "Notification Protocol", "Notification Topic ARN", "Notification Topic Name"},
    "aws:ec2:instances": {"EnableSpot", "SpotFleetOnDemandBase", "SpotFleetOnDemandAboveBasePercentage", "SpotMaxPrice", "SupportedArchitectures"},
    "aws:autoscaling:updatepolicy:rollingupdate": {"MinInstancesInService", "PauseTime", "Timeout"},
    "aws:elasticbeanstalk:application": {"Application Healthcheck URL"},
}
PROCESS_OPTIONS = {option for (namespace, option) in DEFAULTS if namespace == PROCESS}
LISTENER_OPTIONS = {"ListenerEnabled", "Protocol", "DefaultProcess", "Rules", "SSLCertificateArns", "SSLPolicy"}
INTEGER_OPTIONS = {
    (ASG, "MinSize"): (0, 10000), (ASG, "MaxSize"): (1, 10000),
    (COMMAND, "Timeout"): (1, 3600), (COMMAND, "BatchSize"): (1, 10000),
    (LOAD_BALANCER, "IdleTimeout"): (1, 4000),
}
# RootVolumeSize (GB) by RootVolumeType: 8 to 1024 for magnetic ("standard"), 10 to 16384 for the SSD
# types; EB's default type depends on the AMI, so without a type the SSD range (the stricter low end).
# https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-general.html#command-options-general-autoscalinglaunchconfiguration
ROOT_VOLUME_SIZES = {"standard": (8, 1024)}
ROOT_VOLUME_SSD_SIZES = (10, 16384)
CHOICES = {
    (ENV_NS, "LoadBalancerType"): ("classic", "application", "network"),
    (ENV_NS, "EnvironmentType"): ("LoadBalanced", "SingleInstance"),
    (COMMAND, "DeploymentPolicy"): ("AllAtOnce", "Rolling", "RollingWithAdditionalBatch", "Immutable", "TrafficSplitting"),
    (COMMAND, "BatchSizeType"): ("Percentage", "Fixed"),
    ("aws:elasticbeanstalk:healthreporting:system", "SystemType"): ("basic", "enhanced"),
    (PLATFORM_UPDATE, "UpdateLevel"): ("patch", "minor"),
    (LAUNCH, "RootVolumeType"): ("", "standard", "gp2", "gp3", "io1", "io2"),
}
BOOLEAN_OPTIONS = {key for key, value in DEFAULTS.items() if value in ("true", "false")}
# Options EB refuses to change once the environment exists.
IMMUTABLE = {(ENV_NS, "LoadBalancerType")}
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


class OptionError(ValueError):
    pass


def known(namespace, option):
    if namespace in FREE_NAMESPACES:
        return bool(option)
    if (namespace, option) in DEFAULTS or option in EXTRA_OPTIONS.get(namespace, ()):
        return True
    if namespace.startswith("aws:elasticbeanstalk:environment:process:"):
        return option in PROCESS_OPTIONS
    if namespace.startswith("aws:elbv2:listener:"):
        return option in LISTENER_OPTIONS
    return any(pattern.match(namespace) for pattern in PATTERN_NAMESPACES)


def key_of(item):
    return (item.get("Namespace") or "", item.get("OptionName") or "", item.get("ResourceName") or "")


def _invalid_value(value, namespace, option, reason):
    return OptionError("Invalid option value: '%s' (Namespace: '%s', OptionName: '%s'): %s" % (value, namespace, option, reason))


def validate(settings, current=None):
    """Checks a full settings dict (after merging a request); raises OptionError."""
    for (namespace, option, _resource), value in settings.items():
        if not known(namespace, option):
            raise OptionError("Invalid option specification (Namespace: '%s', OptionName: '%s'): Unknown configuration setting." % (namespace, option))
        if namespace in FREE_NAMESPACES and not ENV_NAME.match(option):
            raise OptionError("Environment variable names can contain only letters, numbers, '_', '.' and '-' (OptionName: '%s')." % option)
        if (namespace, option) in INTEGER_OPTIONS:
            low, high = INTEGER_OPTIONS[(namespace, option)]
            if not re.fullmatch(r"\d+", value or "") or not low <= int(value) <= high:
                raise _invalid_value(value, namespace, option, "Value is not an integer between %d and %d." % (low, high))
        if (namespace, option) in BOOLEAN_OPTIONS and (value or "").lower() not in ("true", "false"):
            raise _invalid_value(value, namespace, option, "Value must be true or false.")
        if (namespace, option) in CHOICES and value not in CHOICES[(namespace, option)]:
            raise _invalid_value(value, namespace, option, "Value is not one of %s." % ", ".join(CHOICES[(namespace, option)]))
    if own_group_disabled(settings) and not effective(settings, LAUNCH, "SecurityGroups").strip():
        # https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/using-features.managing.ec2.aws-cli.html
        raise OptionError(
            "Configuration validation exception: DisableDefaultEC2SecurityGroup is true: you must provide security groups "
            "for the EC2 instances with the SecurityGroups option (Namespace: '%s')." % LAUNCH
        )
    _validate_managed_actions(settings)
    _validate_root_volume(settings)
    low, high = int(effective(settings, ASG, "MinSize")), int(effective(settings, ASG, "MaxSize"))
    if low > high:
        raise OptionError("Configuration validation exception: MinSize (%d) must be less than or equal to MaxSize (%d)." % (low, high))
    for namespace, option in IMMUTABLE:
        if current is not None and effective(settings, namespace, option) != effective(current, namespace, option):
            raise OptionError(
                "Configuration validation exception: Invalid option specification (Namespace: '%s', OptionName: '%s'): "
                "You can't change the load balancer type of a running environment." % (namespace, option)
            )


def _validate_managed_actions(settings):
    """Managed platform updates need enhanced health, a weekly window, a level and a role.

    AWS documents the window's format and that managed updates need enhanced health; that the
    window, the level and the role must be given is the stricter reading of the same page (the
    console always sets them).
    """
    window = effective(settings, MANAGED, "PreferredStartTime")
    if window and not WEEKLY_WINDOW.match(window):
        raise _invalid_value(window, MANAGED, "PreferredStartTime", "Value must be a day and a UTC time as day:hour:minute, e.g. Sun:03:00.")
    if effective(settings, MANAGED, "ManagedActionsEnabled").lower() != "true":
        return
    if effective(settings, HEALTH, "SystemType") != "enhanced":
        raise OptionError(
            "Configuration validation exception: Managed actions require enhanced health reporting (Namespace: '%s', OptionName: 'SystemType')." % HEALTH)
    for namespace, option in ((MANAGED, "PreferredStartTime"), (PLATFORM_UPDATE, "UpdateLevel"), (MANAGED, "ServiceRoleForManagedUpdates")):
        if not effective(settings, namespace, option):
            raise OptionError(
                "Configuration validation exception: ManagedActionsEnabled is true: %s (Namespace: '%s') is required." % (option, namespace))


def _validate_root_volume(settings):
    size = effective(settings, LAUNCH, "RootVolumeSize")
    if not size:
        return
    low, high = ROOT_VOLUME_SIZES.get(effective(settings, LAUNCH, "RootVolumeType"), ROOT_VOLUME_SSD_SIZES)
    if not re.fullmatch(r"\d+", size) or not low <= int(size) <= high:
        raise _invalid_value(size, LAUNCH, "RootVolumeSize", "Value is not an integer between %d and %d." % (low, high))


def effective(settings, namespace, option, resource=""):
    return settings.get((namespace, option, resource), DEFAULTS.get((namespace, option), ""))


def own_group_disabled(settings):
    return effective(settings, LAUNCH, "DisableDefaultEC2SecurityGroup").lower() == "true"


def described(settings, own_group=""):
    """The full list DescribeConfigurationSettings returns: defaults overlaid with settings.

    EB creates a security group of its own for the instances (`awseb-<env id>-stack-AWSEBSecurityGroup-...`)
    unless DisableDefaultEC2SecurityGroup is true, and reports it appended to the SecurityGroups the
    user set, so a tool that compares its own list with EB's sees a difference on every run.
    """
    merged = {(namespace, option, ""): value for (namespace, option), value in DEFAULTS.items()}
    merged.update(settings)
    if own_group and not own_group_disabled(merged):
        given = merged.get((LAUNCH, "SecurityGroups", ""), "")
        merged[(LAUNCH, "SecurityGroups", "")] = ",".join(part for part in (given, own_group) if part)
    return [
        dict({"Namespace": namespace, "OptionName": option, "Value": value}, **({"ResourceName": resource} if resource else {}))
        for (namespace, option, resource), value in sorted(merged.items())
    ]


def environment_properties(settings):
    return {option: value for (namespace, option, _r), value in settings.items() if namespace == ENVIRONMENT}


def secret_references(settings):
    return {option: value for (namespace, option, _r), value in settings.items() if namespace == SECRETS}

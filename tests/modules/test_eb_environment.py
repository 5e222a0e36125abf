"""eb_environment's logic with botocore's Stubber: every branch, no network.

Each test queues the exact calls AWS would get (and nothing else: a stray write call fails
the test), with fake sleeping and a fake clock for the waits.
"""

from datetime import datetime, timezone

import boto3
import pytest
from botocore.stub import ANY, Stubber

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import option_settings
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import platforms
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb import waiters
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb.common import AnsibleEBError
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb.environments import ABSENT
from ansible_collections.mlflowops.beanstalk.plugins.modules import eb_environment

BRANCH = "Docker running on 64bit Amazon Linux 2023"
ARN = "arn:aws:elasticbeanstalk:us-east-1::platform/%s/4.7.0" % BRANCH
OLD_ARN = "arn:aws:elasticbeanstalk:us-east-1::platform/%s/4.6.2" % BRANCH
ENV_ARN = "arn:aws:elasticbeanstalk:us-east-1:123456789012:environment/app/env-one"
ENV_NS = "aws:elasticbeanstalk:application:environment"
NOW = datetime(2026, 11, 26, tzinfo=timezone.utc)


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self):
        return self.now


@pytest.fixture
def aws():
    client = boto3.client("elasticbeanstalk", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.activate()
    yield stubber, RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff(retries=1))
    stubber.deactivate()


def params(**overrides):
    values = {
        "name": "env-one", "application_name": "app", "state": "present", "platform": BRANCH, "version_label": "v1",
        "tier": "WebServer", "redeploy": False, "cname_prefix": None, "description": None, "tags": None, "purge_tags": True, "wait": True,
        "wait_timeout": 60, "purge_option_namespaces": [option_settings.ENVIRONMENT_PROPERTIES, option_settings.ENVIRONMENT_SECRETS],
        "option_settings": [{"namespace": "aws:autoscaling:asg", "option_name": "MinSize", "value": "2"},
                            {"namespace": ENV_NS, "option_name": "GREETING", "value": "hello"}],
    }
    values.update(overrides)
    return values


def environment(status="Ready", version="v1", platform=ARN, **extra):
    env = {"EnvironmentName": "env-one", "EnvironmentId": "e-abcdefghij", "ApplicationName": "app", "VersionLabel": version,
           "PlatformArn": platform, "Status": status, "Health": "Green", "CNAME": "env-one.us-east-1.elasticbeanstalk.com",
           "Tier": {"Name": "WebServer", "Type": "Standard", "Version": "1.0"}, "EnvironmentArn": ENV_ARN}
    env.update(extra)
    return env


def expect_describe(stubber, env):
    stubber.add_response("describe_environments", {"Environments": [env] if env else []},
                         {"ApplicationName": "app", "EnvironmentNames": ["env-one"], "IncludeDeleted": False})


def expect_settings(stubber, settings):
    options = [{"Namespace": key[0], "OptionName": key[1], "Value": value} for key, value in settings.items()]
    stubber.add_response("describe_configuration_settings", {"ConfigurationSettings": [{"DeploymentStatus": "deployed", "OptionSettings": options}]},
                         {"ApplicationName": "app", "EnvironmentName": "env-one"})


def expect_tags(stubber, tags):
    stubber.add_response("list_tags_for_resource", {"ResourceArn": ENV_ARN, "ResourceTags": [{"Key": k, "Value": v} for k, v in tags.items()]},
                         {"ResourceArn": ENV_ARN})


def expect_errors(stubber, messages, request_id="req-1"):
    stubber.add_response("describe_events", {"Events": [{"Message": m, "Severity": "ERROR", "EventDate": NOW} for m in reversed(messages)]},
                         {"ApplicationName": "app", "EnvironmentName": "env-one", "Severity": "ERROR", "RequestId": request_id})


CURRENT = {("aws:autoscaling:asg", "MinSize", ""): "2", ("aws:autoscaling:asg", "MaxSize", ""): "4", (ENV_NS, "GREETING", ""): "hello"}
SYSTEM_TAGS = {"elasticbeanstalk:environment-name": "env-one", "elasticbeanstalk:environment-id": "e-abcdefghij", "Name": "env-one"}


def existing(stubber, env=None, settings=None, tags=None):
    expect_describe(stubber, env or environment())
    expect_settings(stubber, CURRENT if settings is None else settings)
    expect_tags(stubber, dict(SYSTEM_TAGS, **(tags or {})))


def manager(client, check_mode=False, fake=None, **overrides):
    fake = fake or FakeTime()
    return eb_environment.Environment(client, params(**overrides), check_mode, waiters.Waiter(60, fake.sleep, fake.clock))


def run_present(client, check_mode=False, fake=None, **overrides):
    env = manager(client, check_mode, fake, **overrides)
    desired = eb_environment.validate(env.params)
    before = env.describe()
    return env.ensure_present(desired, before), before


def test_create_resolves_the_branch_and_waits_for_ready(aws):
    stubber, client = aws
    expect_describe(stubber, None)
    stubber.add_response("list_platform_versions", {"PlatformSummaryList": [
        {"PlatformArn": OLD_ARN, "PlatformVersion": "4.6.2", "PlatformStatus": "Ready"},
        {"PlatformArn": ARN, "PlatformVersion": "4.7.0", "PlatformStatus": "Ready", "PlatformLifecycleState": "Recommended"}]},
        {"Filters": [{"Type": "PlatformBranchName", "Operator": "=", "Values": [BRANCH]}]})
    stubber.add_response("create_environment", dict(environment("Launching"), ResponseMetadata={"RequestId": "req-1"}), {
        "ApplicationName": "app", "EnvironmentName": "env-one", "PlatformArn": ARN, "VersionLabel": "v1",
        "Tier": {"Name": "WebServer", "Type": "Standard"},
        "OptionSettings": [{"Namespace": "aws:autoscaling:asg", "OptionName": "MinSize", "Value": "2"},
                           {"Namespace": ENV_NS, "OptionName": "GREETING", "Value": "hello"}]})
    expect_describe(stubber, environment("Launching"))
    expect_describe(stubber, environment("Ready"))
    expect_errors(stubber, [])
    existing(stubber, environment("Ready"))
    fake = FakeTime()
    (changed, after), before = run_present(client, fake=fake)
    assert changed and before == ABSENT and after.environment["Status"] == "Ready" and after.settings == CURRENT
    assert fake.sleeps == [1.0]
    stubber.assert_no_pending_responses()


def test_no_change_makes_no_write_call(aws):
    stubber, client = aws
    # Values as EB returns them differ only in form: the same after normalising.
    existing(stubber, environment(platform=OLD_ARN), settings={**CURRENT, ("aws:autoscaling:asg", "MinSize", ""): "2.0"})
    (changed, after), before = run_present(client)
    assert not changed and after == before
    stubber.assert_no_pending_responses()


def test_settings_update_sends_only_the_difference_and_purges_properties(aws):
    stubber, client = aws
    existing(stubber, settings={**CURRENT, (ENV_NS, "OLD", ""): "1"})
    stubber.add_response("update_environment", dict(environment("Updating"), ResponseMetadata={"RequestId": "req-1"}), {
        "ApplicationName": "app", "EnvironmentName": "env-one",
        "OptionSettings": [{"Namespace": "aws:autoscaling:asg", "OptionName": "MinSize", "Value": "3"}],
        "OptionsToRemove": [{"Namespace": ENV_NS, "OptionName": "OLD"}]})
    expect_describe(stubber, environment("Ready"))
    expect_errors(stubber, [])
    existing(stubber)
    settings = [{"namespace": "aws:autoscaling:asg", "option_name": "MinSize", "value": "3"},
                {"namespace": ENV_NS, "option_name": "GREETING", "value": "hello"}]
    (changed, _after), _before = run_present(client, option_settings=settings)
    assert changed
    stubber.assert_no_pending_responses()


def test_version_update_waits_for_a_busy_environment_first(aws):
    stubber, client = aws
    existing(stubber, environment("Updating"))
    expect_describe(stubber, environment("Updating"))
    expect_describe(stubber, environment("Ready"))
    stubber.add_response("update_environment", dict(environment("Updating", "v2"), ResponseMetadata={"RequestId": "req-1"}),
                         {"ApplicationName": "app", "EnvironmentName": "env-one", "VersionLabel": "v2"})
    expect_describe(stubber, environment("Ready", "v2"))
    expect_errors(stubber, [])
    existing(stubber, environment("Ready", "v2"))
    fake = FakeTime()
    (changed, _predicted), _before = run_present(client, fake=fake, version_label="v2")
    assert changed and fake.sleeps == [1.0]
    stubber.assert_no_pending_responses()


def test_redeploy_sends_the_running_version_again(aws):
    stubber, client = aws
    existing(stubber)
    stubber.add_response("update_environment", dict(environment("Updating"), ResponseMetadata={"RequestId": "req-1"}),
                         {"ApplicationName": "app", "EnvironmentName": "env-one", "VersionLabel": "v1"})
    expect_describe(stubber, environment("Ready"))
    expect_errors(stubber, [])
    existing(stubber)
    (changed, _after), _before = run_present(client, redeploy=True, version_label=None)
    assert changed
    stubber.assert_no_pending_responses()


def test_error_events_of_the_operation_fail_it_with_their_messages(aws):
    stubber, client = aws
    existing(stubber)
    stubber.add_response("update_environment", dict(environment("Updating", "v2"), ResponseMetadata={"RequestId": "req-9"}),
                         {"ApplicationName": "app", "EnvironmentName": "env-one", "VersionLabel": "v2"})
    expect_describe(stubber, environment("Ready"))
    expect_errors(stubber, ["[Instance: i-1] Command failed on instance.", "Failed to deploy application."], request_id="req-9")
    with pytest.raises(AnsibleEBError) as failed:
        run_present(client, version_label="v2")
    assert "Command failed on instance. | Failed to deploy application." in failed.value.message
    assert failed.value.kwargs["events"] == ["[Instance: i-1] Command failed on instance.", "Failed to deploy application."]


def test_waiting_times_out_with_a_clear_error_and_backs_off(aws):
    stubber, client = aws
    existing(stubber, environment("Updating"))
    for _poll in range(12):
        expect_describe(stubber, environment("Updating"))
    fake = FakeTime()
    with pytest.raises(AnsibleEBError) as failed:
        run_present(client, fake=fake, version_label="v2")
    assert failed.value.message == "timed out after 60 s waiting for environment env-one to be Ready (it is Updating)"
    assert fake.sleeps[:4] == [1.0, 1.5, 2.25, 3.375] and max(fake.sleeps) == 10.0 and sum(fake.sleeps) <= 60


def test_check_mode_predicts_without_write_calls(aws):
    stubber, client = aws
    existing(stubber, tags={"team": "ml"})
    # Only the reads are queued: any write would raise "Unexpected call".
    minimum = [{"namespace": "aws:autoscaling:asg", "option_name": "MinSize", "value": "3"}]
    (changed, predicted), before = run_present(client, check_mode=True, version_label="v2", tags={"team": "data"}, option_settings=minimum)
    env, settings, tags = predicted.environment, predicted.settings, predicted.tags
    assert changed and env["VersionLabel"] == "v2" and tags == {"team": "data"}
    assert settings[("aws:autoscaling:asg", "MinSize", "")] == "3" and (ENV_NS, "GREETING", "") not in settings
    keys = {("aws:autoscaling:asg", "MinSize", ""), (ENV_NS, "GREETING", "")}
    diff_before = eb_environment.diff_view(before, keys)
    diff_after = eb_environment.diff_view(predicted, keys)
    assert diff_before["version_label"] == "v1" and diff_after["version_label"] == "v2"
    assert {"namespace": ENV_NS, "option_name": "GREETING", "value": "hello"} in diff_before["option_settings"]
    assert [item["option_name"] for item in diff_after["option_settings"]] == ["MinSize"]
    assert diff_before["tags"] == {"team": "ml"} and diff_after["tags"] == {"team": "data"}
    stubber.assert_no_pending_responses()


def test_tags_update_skips_eb_tags(aws):
    stubber, client = aws
    existing(stubber, tags={"team": "ml", "old": "1"})
    stubber.add_response("update_tags_for_resource", {}, {"ResourceArn": ENV_ARN, "TagsToAdd": [{"Key": "team", "Value": "data"}], "TagsToRemove": ["old"]})
    existing(stubber, tags={"team": "data"})
    (changed, _predicted), _before = run_present(client, tags={"team": "data"})
    assert changed
    stubber.assert_no_pending_responses()


def test_same_branch_newer_version_is_not_drift_but_an_exact_arn_is_and_another_branch_is_resolved_while_planning(aws):
    stubber, client = aws
    assert platforms.platform_drift(client, BRANCH, environment(platform=OLD_ARN)) == {}
    assert platforms.platform_drift(client, ARN, environment(platform=OLD_ARN)) == {"PlatformArn": ARN}
    tomcat = "Tomcat 10 running on 64bit Amazon Linux 2023"
    tomcat_arn = "arn:aws:elasticbeanstalk:us-east-1::platform/%s/5.1.0" % tomcat
    stubber.add_response("list_platform_versions", {"PlatformSummaryList": [
        {"PlatformArn": tomcat_arn, "PlatformVersion": "5.1.0", "PlatformStatus": "Ready", "PlatformLifecycleState": "Recommended"}]},
        {"Filters": [{"Type": "PlatformBranchName", "Operator": "=", "Values": [tomcat]}]})
    assert platforms.platform_drift(client, tomcat, environment()) == {"PlatformArn": tomcat_arn}
    stubber.assert_no_pending_responses()


def test_fields_fixed_at_creation_are_errors_not_replacements(aws):
    stubber, client = aws
    existing(stubber, settings={**CURRENT, ("aws:elasticbeanstalk:environment", "LoadBalancerType", ""): "application"})
    settings = params()["option_settings"] + [{"namespace": "aws:elasticbeanstalk:environment", "option_name": "LoadBalancerType", "value": "network"}]
    with pytest.raises(AnsibleEBError) as failed:
        run_present(client, option_settings=settings, tier="Worker", cname_prefix="other-prefix")
    message = failed.value.message
    assert "LoadBalancerType is 'application'" in message and "tier is WebServer" in message and "cname_prefix is env-one" in message


@pytest.mark.parametrize("overrides, message", [
    ({"name": "e"}, "name: 'e' must be 4 to 40"),
    ({"name": "bad_name"}, "name: 'bad_name' must be 4 to 40"),
    ({"cname_prefix": "-x-"}, "cname_prefix: '-x-' must be 4 to 63"),
    ({"option_settings": [{"namespace": "aws:autoscaling:asg", "option_name": "MinSize", "value": "5"},
                          {"namespace": "aws:autoscaling:asg", "option_name": "MaxSize", "value": "1"}]}, "MinSize (5) is greater than MaxSize (1)"),
    ({"option_settings": [{"namespace": "aws:autoscaling:asg", "option_name": "MaxSize", "value": "many"}]}, "MaxSize must be a whole number"),
    ({"option_settings": [{"namespace": ENV_NS, "option_name": "A", "value": "1"}, {"namespace": ENV_NS, "option_name": "A", "value": "2"}]}, "is given twice"),
])
def test_bad_parameters_fail_before_any_call(aws, overrides, message):
    _stubber, client = aws
    with pytest.raises(AnsibleEBError) as failed:
        eb_environment.validate(manager(client, **overrides).params)
    assert message in failed.value.message


def test_unknown_branch_fails_naming_the_parameter(aws):
    stubber, client = aws
    stubber.add_response("list_platform_versions", {"PlatformSummaryList": []}, {"Filters": ANY})
    with pytest.raises(AnsibleEBError) as failed:
        platforms.resolve_platform(client, "Cobol on Mainframe")
    assert failed.value.message.startswith("platform: no platform branch named 'Cobol on Mainframe'")


def test_absent_terminates_and_waits_and_is_then_unchanged(aws):
    stubber, client = aws
    existing(stubber)
    stubber.add_response("terminate_environment", environment("Terminating"), {"EnvironmentName": "env-one"})
    expect_describe(stubber, environment("Terminating"))
    expect_describe(stubber, None)
    gone = manager(client, state="absent")
    before = gone.describe()
    assert gone.ensure_absent(before) == (True, ABSENT)
    assert eb_environment.diff_view(before, set(CURRENT))["option_settings"] and eb_environment.diff_view(ABSENT, set(CURRENT)) == {}
    expect_describe(stubber, None)
    again = manager(client, state="absent")
    assert again.ensure_absent(again.describe()) == (False, ABSENT)
    existing(stubber)
    dry = manager(client, check_mode=True, state="absent")
    assert dry.ensure_absent(dry.describe()) == (True, ABSENT)
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize("value, same", [
    ("True", "true"), ("2.0", "2"), ("b, a", "a,b"), ('{"b": 1, "a": [1, 2]}', '{"a":[1,2],"b":1}'), (" x ", "x"),
])
def test_values_are_normalised_as_eb_returns_them(value, same):
    assert option_settings.normalise(value) == option_settings.normalise(same)
    assert option_settings.normalise("true") != option_settings.normalise("false") and option_settings.normalise("1") != option_settings.normalise("2")


def test_a_rerun_after_an_interrupted_create_waits_for_it_without_changing_anything(aws):
    stubber, client = aws
    launched = NOW
    existing(stubber, environment("Launching", DateUpdated=launched))
    expect_describe(stubber, environment("Launching"))
    expect_describe(stubber, environment("Ready"))
    stubber.add_response("describe_events", {"Events": []},
                         {"ApplicationName": "app", "EnvironmentName": "env-one", "Severity": "ERROR", "StartTime": launched})
    (changed, _predicted), _before = run_present(client)
    assert not changed
    stubber.assert_no_pending_responses()

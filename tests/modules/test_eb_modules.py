"""The Elastic Beanstalk modules against the local cloud, in the amazon.aws pattern: check mode,
apply, check again and apply again (neither changes anything), change, absent, absent again;
each step asserted.
"""

import json

import pytest

from support.cloud import toy_bundle

BRANCH = "Docker running on 64bit Amazon Linux 2023"
ENV_NS = "aws:elasticbeanstalk:application:environment"


@pytest.fixture
def call(cloud, run_playbook, tmp_path):
    def run(module, arguments, check=False, diff=False):
        args = (["--check"] if check else []) + (["--diff"] if diff else [])
        result_file = tmp_path / "result.json"
        result_file.unlink(missing_ok=True)
        variables = {"endpoint": cloud.endpoint, "ca": str(cloud.ca), "module": module, "arguments": arguments, "result_file": str(result_file)}
        result = run_playbook("tests/support/playbooks/eb_modules.yml", variables, args)
        assert result.returncode == 0 and result_file.exists(), result.stdout + result.stderr
        return json.loads(result_file.read_text())

    return run


@pytest.fixture
def bundles(cloud):
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket="bundles")
    for label in ("v1", "v2"):
        s3.put_object(Bucket="bundles", Key=label + ".zip", Body=toy_bundle(label))
    s3.put_object(Bucket="bundles", Key="broken.zip", Body=b"not a zip")
    cloud.client("elasticbeanstalk").create_application(ApplicationName="toy")
    return s3


def writes(cloud, since):
    return [(r["service"], r["action"]) for r in cloud.requests()[since:] if r["kind"] == "write"]


def test_application_version_lifecycle(cloud, bundles, call):
    version = {"application_name": "toy", "version_label": "v1", "s3_bucket": "bundles", "s3_key": "v1.zip", "description": "MLflow 3.17.2"}
    checked = call("application_version", version, check=True)
    assert checked["changed"] and not cloud.client("elasticbeanstalk").describe_application_versions(ApplicationName="toy")["ApplicationVersions"]
    created = call("application_version", version)
    assert created["changed"] and created["application_version"]["status"] == "Processed"
    mark = len(cloud.requests())
    assert not call("application_version", version, check=True)["changed"]
    again = call("application_version", version)
    assert not again["changed"] and writes(cloud, mark) == []
    found = call("application_version_info", {"application_name": "toy", "version_labels": ["v1", "v7"]})
    assert [(item["version_label"], item["description"]) for item in found["application_versions"]] == [("v1", "MLflow 3.17.2")]
    assert found["application_versions"][0]["source_bundle"] == {"s3_bucket": "bundles", "s3_key": "v1.zip"}
    other = call("application_version", dict(version, s3_key="v2.zip"))
    assert other["failed"] and "already exists with another bundle" in other["msg"]
    missing = call("application_version", dict(version, version_label="v9", s3_key="nope.zip"))
    assert missing["failed"] and missing["msg"].startswith("s3_bucket/s3_key: no source bundle")
    broken = call("application_version", dict(version, version_label="bad", s3_key="broken.zip"))
    assert broken["failed"] and "failed processing" in broken["msg"] and "not a valid ZIP" in broken["msg"]
    assert call("application_version", {"application_name": "toy", "version_label": "v1", "state": "absent"}, check=True)["changed"]
    assert call("application_version", {"application_name": "toy", "version_label": "v1", "state": "absent"})["changed"]
    assert not call("application_version", {"application_name": "toy", "version_label": "v1", "state": "absent"})["changed"]


def test_environment_lifecycle(cloud, bundles, call):
    for label in ("v1", "v2"):
        call("application_version", {"application_name": "toy", "version_label": label, "s3_bucket": "bundles", "s3_key": label + ".zip"})
    settings = [
        {"namespace": "aws:elasticbeanstalk:environment:process:default", "option_name": "HealthCheckPath", "value": "/health"},
        {"namespace": "aws:autoscaling:asg", "option_name": "MinSize", "value": "1"},
        {"namespace": "aws:autoscaling:asg", "option_name": "MaxSize", "value": "02"},
        {"namespace": "aws:elasticbeanstalk:command", "option_name": "IgnoreHealthCheck", "value": "False"},
        {"namespace": ENV_NS, "option_name": "TOY_GREETING", "value": "hello"},
    ]
    env = {"application_name": "toy", "name": "toy-env", "platform": BRANCH, "version_label": "v1", "option_settings": settings,
           "tags": {"team": "ml"}}
    eb = cloud.client("elasticbeanstalk")

    checked = call("environment", env, check=True, diff=True)
    assert checked["changed"] and checked["diff"]["before"] == {} and checked["diff"]["after"]["version_label"] == "v1"
    assert eb.describe_environments()["Environments"] == []

    created = call("environment", env)
    assert created["changed"] and created["environment"]["status"] == "Ready" and created["environment"]["health"] == "Green"
    assert created["environment"]["tags"] == {"team": "ml"} and created["environment"]["url"].startswith("https://localhost:")

    mark = len(cloud.requests())
    rechecked = call("environment", env, check=True, diff=True)
    assert not rechecked["changed"] and rechecked["diff"]["before"] == rechecked["diff"]["after"], rechecked
    assert writes(cloud, mark) == []
    mark = len(cloud.requests())
    again = call("environment", env, diff=True)
    assert not again["changed"], again
    calls = cloud.requests()[mark:]
    assert [r for r in calls if r["kind"] == "write"] == []
    print("no-op run: %d read calls: %s" % (len(calls), [r["action"] for r in calls]))
    assert len(calls) <= 5

    changed_settings = [s for s in settings if s["option_name"] != "TOY_GREETING"] + [{"namespace": ENV_NS, "option_name": "TOY_OTHER", "value": "x"}]
    predicted = call("environment", dict(env, version_label="v2", option_settings=changed_settings), check=True, diff=True)
    assert predicted["changed"] and predicted["diff"]["after"]["version_label"] == "v2"
    assert {"namespace": ENV_NS, "option_name": "TOY_GREETING", "value": "hello"} in predicted["diff"]["before"]["option_settings"]
    assert not [s for s in predicted["diff"]["after"]["option_settings"] if s["option_name"] == "TOY_GREETING"]
    assert eb.describe_environments(EnvironmentNames=["toy-env"])["Environments"][0]["VersionLabel"] == "v1"

    changed = call("environment", dict(env, version_label="v2", option_settings=changed_settings))
    assert changed["changed"] and changed["environment"]["version_label"] == "v2"
    live = {(o["Namespace"], o["OptionName"]): o["Value"] for o in eb.describe_configuration_settings(
        ApplicationName="toy", EnvironmentName="toy-env")["ConfigurationSettings"][0]["OptionSettings"]}
    assert live[(ENV_NS, "TOY_OTHER")] == "x" and (ENV_NS, "TOY_GREETING") not in live
    assert not call("environment", dict(env, version_label="v2", option_settings=changed_settings))["changed"]

    refused = call("environment", dict(env, option_settings=settings + [
        {"namespace": "aws:elasticbeanstalk:environment", "option_name": "LoadBalancerType", "value": "network"}]))
    assert refused["failed"] and "can't change after creation" in refused["msg"]

    absent = {"application_name": "toy", "name": "toy-env", "state": "absent"}
    removal = call("environment", absent, check=True, diff=True)
    assert removal["changed"] and removal["diff"]["before"]["version_label"] == "v2" and removal["diff"]["after"] == {}
    assert eb.describe_environments(EnvironmentNames=["toy-env"], IncludeDeleted=False)["Environments"][0]["Status"] == "Ready"
    assert call("environment", absent)["changed"]
    assert eb.describe_environments(EnvironmentNames=["toy-env"], IncludeDeleted=False)["Environments"] == []
    assert not call("environment", absent, check=True)["changed"]
    assert not call("environment", absent)["changed"]


def test_environment_failure_reports_its_error_events(cloud, bundles, call):
    call("application_version", {"application_name": "toy", "version_label": "v1", "s3_bucket": "bundles", "s3_key": "v1.zip"})
    failing = call("environment", {"application_name": "toy", "name": "toy-env", "platform": BRANCH, "version_label": "v1",
                                   "option_settings": [{"namespace": ENV_NS, "option_name": "TOY_MODE", "value": "exit"}]})
    assert failing["failed"] and "failing on purpose" in failing["msg"] and failing["events"]


@pytest.mark.parametrize("arguments, message", [
    ({"platform": "Cobol on Mainframe"}, "platform: no platform branch named 'Cobol on Mainframe'"),
    ({"name": "bad_name"}, "name: 'bad_name' must be 4 to 40"),
    ({"name": "x" * 41}, "name: '" + "x" * 41 + "' must be 4 to 40"),
    ({"option_settings": [{"namespace": "aws:autoscaling:asg", "option_name": "MinSize", "value": "4"},
                          {"namespace": "aws:autoscaling:asg", "option_name": "MaxSize", "value": "2"}]}, "MinSize (4) is greater than MaxSize (2)"),
])
def test_environment_bad_input_fails_before_any_write(cloud, bundles, call, arguments, message):
    mark = len(cloud.requests())
    outcome = call("environment", dict({"application_name": "toy", "name": "toy-env", "platform": BRANCH}, **arguments))
    assert outcome["failed"] and message in outcome["msg"], outcome
    assert writes(cloud, mark) == []


def test_environment_info(cloud, bundles, call):
    call("environment", {"application_name": "toy", "name": "toy-env", "platform": BRANCH, "tags": {"a": "b"}})
    found = call("environment_info", {"application_name": "toy", "name": "toy-env", "option_settings": True})
    assert [env["environment_name"] for env in found["environments"]] == ["toy-env"]
    assert found["environments"][0]["tags"] == {"a": "b"} and found["environments"][0]["url"].startswith("https://")
    assert {"namespace": "aws:autoscaling:asg", "option_name": "MinSize", "value": "1"} in found["environments"][0]["option_settings"]
    assert call("environment_info", {"application_name": "toy", "name": "nothing"})["environments"] == []


def test_deploy_refuses_a_bucket_in_another_region(cloud, run_playbook):
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket="mlflow-local-artifacts", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    env = {"LOCALCLOUD_PORT": str(cloud.port), "LOCALCLOUD_STATE_DIR": str(cloud.state_dir)}
    result = run_playbook("deploy.yml", {}, env=env)
    output = " ".join(result.stdout.split())
    assert result.returncode != 0
    assert "The bucket(s) mlflow-local-artifacts exist in another region than the environment's (us-east-1)" in output, result.stdout[-3000:]
    assert [r for r in cloud.requests() if r["kind"] == "write" and r["action"] != "PUT /mlflow-local-artifacts"] == []

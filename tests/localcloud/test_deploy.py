"""deploy.yml on the local cloud: a re-run changes nothing and writes nothing; a dry run with a
changed input shows exactly that change and writes nothing."""

import re


def recap(result):
    match = re.search(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", result.stdout)
    assert match, result.stdout[-3000:] + result.stderr[-3000:]
    return {"ok": int(match[1]), "changed": int(match[2]), "failed": int(match[4])}


def client_writes(cloud, since):
    return [(r["service"], r["action"]) for r in cloud.requests()[since:] if r["kind"] == "write" and r["caller"] == "client"]


def test_deploy_then_rerun_and_dry_run(cloud, run_playbook):
    env = {"LOCALCLOUD_PORT": str(cloud.port), "LOCALCLOUD_STATE_DIR": str(cloud.state_dir)}
    first = run_playbook("deploy.yml", {}, env=env)
    assert recap(first)["failed"] == 0 and recap(first)["changed"] > 0, first.stdout[-3000:]
    assert re.search(r"MLFLOW_TRACKING_URI=https://127\.0\.0\.1:\d+", first.stdout)
    assert "MLFLOW_TRACKING_SERVER_CERT_PATH=%s/tls/cert.pem" % cloud.state_dir in first.stdout
    assert "AWS_ENDPOINT_URL=http://127.0.0.1:%d" % cloud.port in first.stdout
    assert first.stdout.count("ok: [localhost]") > 20 and "Plain HTTP is redirected to HTTPS" in first.stdout

    mark = len(cloud.requests())
    second = run_playbook("deploy.yml", {}, env=env)
    assert recap(second) == dict(recap(second), changed=0, failed=0), second.stdout[-3000:]
    assert client_writes(cloud, mark) == []

    mark = len(cloud.requests())
    dry = run_playbook("deploy.yml", {"environment_min_instances": 3}, env=env, args=["--check", "--diff"])
    assert recap(dry)["changed"] == 1 and recap(dry)["failed"] == 0, dry.stdout[-3000:]
    diff = re.findall(r"^[-+] .*$", dry.stdout, re.MULTILINE)
    assert diff == ["-        value: '2'", "+        value: '3'"], diff
    assert client_writes(cloud, mark) == []
    eb = cloud.client("elasticbeanstalk")
    settings = eb.describe_configuration_settings(ApplicationName="mlflow", EnvironmentName="mlflow")["ConfigurationSettings"][0]["OptionSettings"]
    assert {"Namespace": "aws:autoscaling:asg", "OptionName": "MinSize", "Value": "2"} in settings

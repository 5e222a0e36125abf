"""Starting and stopping the local cloud: idempotent, and nothing left behind."""

import os
import signal
import socket

import pytest

from localcloud.procs import free_port
from support.cloud import LocalCloud, toy_bundle, wait_ready

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def lone_cloud():
    if not os.path.isdir("/usr/lib/postgresql"):
        pytest.skip("PostgreSQL is installed by `make setup`")
    cloud = LocalCloud(os.path.join(ROOT, ".state", "localcloud-cli-test"), free_port(), "22000-22099")
    yield cloud
    cloud.cli("stop", check=False)


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def run_toy(cloud):
    s3, eb = cloud.client("s3"), cloud.client("elasticbeanstalk")
    s3.create_bucket(Bucket="toy-bundles")
    s3.put_object(Bucket="toy-bundles", Key="v1.zip", Body=toy_bundle())
    eb.create_application(ApplicationName="toy")
    eb.create_application_version(ApplicationName="toy", VersionLabel="v1", SourceBundle={"S3Bucket": "toy-bundles", "S3Key": "v1.zip"})
    eb.create_environment(ApplicationName="toy", EnvironmentName="toy-env", VersionLabel="v1",
                          SolutionStackName=eb.list_available_solution_stacks()["SolutionStacks"][-1],
                          OptionSettings=[{"Namespace": "aws:autoscaling:asg", "OptionName": "MinSize", "Value": "2"}])
    return wait_ready(eb, "toy-env")


def test_start_is_idempotent_and_stop_leaves_nothing(lone_cloud):
    started = lone_cloud.cli("start")
    assert "runs at %s" % lone_cloud.endpoint in started.stdout
    print(started.stdout.strip())
    again = lone_cloud.cli("start")
    assert "already runs" in again.stdout
    assert lone_cloud.info()["endpoint"] == lone_cloud.endpoint
    env = run_toy(lone_cloud)
    front = int(env["CNAME"].split(":")[1])
    postgres = lone_cloud.info()["postgres_port"]
    assert listening(front) and listening(postgres) and lone_cloud.processes()
    assert lone_cloud.cli("sql", "postgres", "SELECT 40 + 2").stdout.strip() == "42"

    assert "stopped" in lone_cloud.cli("stop").stdout
    assert lone_cloud.processes() == []
    assert not any(listening(port) for port in (lone_cloud.port, front, postgres))
    assert sorted(os.listdir(lone_cloud.state_dir)) == ["localcloud.log"]
    assert "was not running" in lone_cloud.cli("stop").stdout
    assert lone_cloud.cli("status", check=False).returncode == 3
    assert lone_cloud.cli("sql", "postgres", "SELECT 1", check=False).returncode == 3


def test_stop_cleans_up_after_a_killed_server(lone_cloud):
    lone_cloud.cli("start")
    env = run_toy(lone_cloud)
    os.kill(lone_cloud.info()["pid"], signal.SIGKILL)
    # Its instances, nginx processes and PostgreSQL outlive it ...
    assert lone_cloud.processes()
    lone_cloud.cli("stop")
    # ... until stop finds them through their pid files.
    assert lone_cloud.processes() == []
    assert not listening(int(env["CNAME"].split(":")[1]))
    # And it starts again from a clean state.
    lone_cloud.cli("start")
    assert lone_cloud.client("elasticbeanstalk").describe_applications()["Applications"] == []

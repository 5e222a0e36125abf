"""How long the local cloud takes: cold start, a one-instance environment of the real bundle, a reset.

Prints figures; asserts nothing. Run from the repository root after `make setup`:
    .venv/bin/python benchmarks/localcloud_start.py [rounds]
The server virtualenv is built once beforehand (it is a cache that survives `make down`), so
the figures are what a developer sees from the second `make deploy` on.
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

# pylint: disable=wrong-import-position
from benchmarks.common import render_bundle, server_venv  # noqa: E402
from localcloud.procs import free_port  # noqa: E402
from support.cloud import LocalCloud, instance_policy, instance_profile, wait_ready  # noqa: E402


def one_round(bundle):
    cloud = LocalCloud(ROOT / ".state" / "localcloud-bench", free_port(), "23000-23099")
    began = time.monotonic()
    cloud.cli("start")
    started = time.monotonic() - began
    s3, eb, rds = cloud.client("s3"), cloud.client("elasticbeanstalk"), cloud.client("rds")
    s3.create_bucket(Bucket="bench-bundles")
    s3.create_bucket(Bucket="bench-artifacts")
    s3.put_object(Bucket="bench-bundles", Key="b.zip", Body=(bundle / "bundle.zip").read_bytes())
    db = rds.create_db_instance(DBInstanceIdentifier="bench", Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
                                MasterUsername="mlflow", MasterUserPassword="Bench-pass-0001", DBName="mlflow")["DBInstance"]["Endpoint"]
    eb.create_application(ApplicationName="bench")
    eb.create_application_version(ApplicationName="bench", VersionLabel="v1", SourceBundle={"S3Bucket": "bench-bundles", "S3Key": "b.zip"})
    env_ns = "aws:elasticbeanstalk:application:environment"
    # The bundle's hook raises the instance's metadata hop limit with the instance profile's credentials.
    instance_profile(cloud, "bench-instance", instance_policy("bench-artifacts", "a", ["arn:aws:secretsmanager:us-east-1:123456789012:secret:none-AbCdEf"],
                                                              "bench-env"))
    eb.create_environment(
        ApplicationName="bench", EnvironmentName="bench-env", VersionLabel="v1",
        SolutionStackName=eb.list_available_solution_stacks()["SolutionStacks"][-1],
        OptionSettings=[
            {"Namespace": "aws:elasticbeanstalk:environment:process:default", "OptionName": "HealthCheckPath", "Value": "/health"},
            {"Namespace": env_ns, "OptionName": "MLFLOW_DB_HOST", "Value": db["Address"]},
            {"Namespace": env_ns, "OptionName": "MLFLOW_DB_PORT", "Value": str(db["Port"])},
            {"Namespace": env_ns, "OptionName": "MLFLOW_DB_PASSWORD", "Value": "Bench-pass-0001"},
            {"Namespace": env_ns, "OptionName": "MLFLOW_ARTIFACTS_DESTINATION", "Value": "s3://bench-artifacts/a"},
            {"Namespace": "aws:autoscaling:launchconfiguration", "OptionName": "IamInstanceProfile", "Value": "bench-instance"},
        ],
    )
    env = wait_ready(eb, "bench-env", timeout=300)
    assert env["Health"] == "Green", env
    ready = time.monotonic() - began
    began = time.monotonic()
    cloud.reset()
    reset = time.monotonic() - began
    cloud.cli("stop")
    return started, ready, reset


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with tempfile.TemporaryDirectory() as workdir:
        bundle = render_bundle(Path(workdir) / "build", bundle_users=[{"name": "bench", "password": "bench-Password-0001", "admin": True}])
        server_venv(bundle)
        results = [one_round(bundle) for _round in range(rounds)]
    print("local cloud, %d rounds (median, min-max):" % rounds)
    for index, name in enumerate(("start (API answers)", "start + 1 instance Green", "reset (with that environment)")):
        values = [result[index] for result in results]
        print("  %-32s %6.2f s   (%.2f-%.2f)" % (name, statistics.median(values), min(values), max(values)))


if __name__ == "__main__":
    main()

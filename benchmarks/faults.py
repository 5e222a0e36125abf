"""Faults while writers run: for each, 8 writers log through the front door of a three-instance
environment, the fault strikes 3 s in, and afterwards every value is counted through the API.

  kill-mlflow     SIGKILL one instance's MLflow (the platform restarts it, health checks route around)
  kill-nginx      SIGKILL one instance's nginx (the same)
  restart-db      restart PostgreSQL (MLflow's pool reconnects)
  rolling-deploy  deploy the running version again, one instance at a time

Prints, per fault, the calls that failed after the MLflow client's own retries, and the values
lost: acknowledged to a client, yet missing afterwards. Asserts nothing. Run from the repository root after `make setup`:
    .venv/bin/python benchmarks/faults.py [writers] [metrics per run]
It deploys with deploy.yml on its own local cloud (port 4595, ports 23500-23699).
"""

import json
import multiprocessing
import os
import re
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

# pylint: disable=wrong-import-position
from concurrent_writers import EXPERIMENT, client_environment, count, deploy, writer  # noqa: E402
from localcloud.postgres import Cluster  # noqa: E402
from support.cloud import LocalCloud, wait_ready  # noqa: E402


def instance_folder(cloud):
    return sorted((cloud.state_dir / "envs").glob("*/instances/*"))[0]


def front_door_5xx(cloud, since=0):
    """Lines of the front door's access log, and how many after `since` answered 5xx."""
    lines = sorted((cloud.state_dir / "envs").glob("*/frontdoor/logs/access.log"))[0].read_text().splitlines()
    return len(lines), sum(1 for line in lines[since:] if re.search(r'" 5\d\d ', line))


def kill_group(pid_file):
    pid = int(pid_file.read_text().strip())
    os.killpg(pid, signal.SIGKILL)
    return pid


def restart_database(cloud):
    port = json.loads((cloud.state_dir / "localcloud.json").read_text())["postgres_port"]
    cluster = Cluster(cloud.state_dir / "postgres", port)
    cluster.stop(mode="fast")
    cluster.start()


def rolling_deploy(cloud):
    eb = cloud.client("elasticbeanstalk")
    env = [e for e in eb.describe_environments()["Environments"] if e["Status"] == "Ready"][0]
    eb.update_environment(EnvironmentName=env["EnvironmentName"], VersionLabel=env["VersionLabel"])
    time.sleep(2)
    wait_ready(eb, env["EnvironmentName"], timeout=600)


FAULTS = {
    "kill-mlflow": lambda cloud: kill_group(instance_folder(cloud) / "app.pid"),
    "kill-nginx": lambda cloud: kill_group(instance_folder(cloud) / "nginx" / "nginx.pid"),
    "restart-db": restart_database,
    "rolling-deploy": rolling_deploy,
}


def main():
    writers, metrics = (int(value) for value in (sys.argv[1:] + ["8", "150"][len(sys.argv) - 1:])[:2])
    cloud = LocalCloud(ROOT / ".state" / "localcloud-bench-faults", 4595, "23500-23699")
    cloud.cli("start")
    rows = []
    try:
        settings = deploy(cloud, 3)
        client_environment(settings)
        from mlflow.tracking import MlflowClient  # pylint: disable=import-outside-toplevel

        MlflowClient().create_experiment(EXPERIMENT)
        for name, strike in FAULTS.items():
            seen, _errors = front_door_5xx(cloud)
            with multiprocessing.get_context("spawn").Pool(writers) as pool:
                began = time.monotonic()
                pending = pool.map_async(writer, [(settings, index, 1, metrics) for index in range(writers)])
                time.sleep(3)
                strike(cloud)
                results = pending.get(timeout=900)
                took = time.monotonic() - began
            made = [run_id for result in results for run_id in result["runs"]]
            errors = [error for result in results for error in result["errors"]]
            found = count(settings, made, metrics)
            acknowledged = sum(result["acknowledged"] for result in results)
            answered_5xx = front_door_5xx(cloud, seen)[1]
            rows.append((name, took, sum(r["calls"] for r in results), answered_5xx, errors, acknowledged - found["values"], writers - found["runs"]))
            time.sleep(5)  # let health checks put the instance back before the next fault
    finally:
        cloud.cli("stop")
    print("%d writers x 1 run x %d metric values per fault, through the front door of 3 instances" % (writers, metrics))
    print("(5xx: answers of the front door, which the MLflow client retried; failed: calls that failed after its retries)")
    print("%-15s %8s %7s %6s %8s %12s %13s" % ("fault", "seconds", "calls", "5xx", "failed", "values lost", "runs missing"))
    for name, took, calls, answered_5xx, errors, lost_values, lost_runs in rows:
        print("%-15s %8.1f %7d %6d %8d %12d %13d" % (name, took, calls, answered_5xx, len(errors), lost_values, lost_runs))
    for name, _took, _calls, _5xx, errors, _lost, _runs in rows:
        for error in errors[:3]:
            print("    %s: %s" % (name, error))


if __name__ == "__main__":
    main()

"""Concurrent writers through the front door of a three-instance environment, then a count of
what arrived: every run, metric value, parameter and artifact, through the API and in the
database. Also the memory of one instance (nginx and MLflow processes), idle and under load.

Prints figures; asserts nothing. Run from the repository root after `make setup`:
    .venv/bin/python benchmarks/concurrent_writers.py [--seed-layout] [writers] [runs per writer] [metrics per run]
Defaults: 16 writers, 2 runs each, 200 metric values per run. It deploys with deploy.yml on
its own local cloud (port 4596, ports 23300-23499) and stops it at the end.

With --seed-layout, the same writers run against the layout of the hand-made recipe this
collection replaces, for contrast: three MLflow servers, each with its own local store (SQLite
and artifact folder, as in each container), behind one round-robin load balancer. It prints
the failed calls and how many runs each instance, and the load balancer, cannot see.
"""

import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

# pylint: disable=wrong-import-position
from benchmarks.common import render_bundle, server_venv, start_mlflow, tree_rss  # noqa: E402
from localcloud.platform.nginx import FrontDoor  # noqa: E402
from localcloud.procs import free_port, http_status, stop_group  # noqa: E402
from localcloud.tls import localhost_certificate  # noqa: E402
from support.ansible import playbook_env  # noqa: E402
from support.cloud import LocalCloud  # noqa: E402

EXPERIMENT = "concurrent-writers"


def client_environment(settings):
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(settings)
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
    # MLflow's client telemetry sets and removes a session variable in os.environ; a request in
    # flight that walks os.environ for proxy settings meanwhile fails with
    # KeyError('_MLFLOW_TELEMETRY_SESSION_ID') (one call in thousands here).
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def writer(args):
    """One training job: creates its runs, logs parameters, metric values and an artifact."""
    settings, index, runs, metrics = args
    client_environment(settings)
    from mlflow.tracking import MlflowClient  # pylint: disable=import-outside-toplevel

    client = MlflowClient()
    experiment = client.get_experiment_by_name(EXPERIMENT).experiment_id
    errors, calls, made, acknowledged = [], 0, [], 0
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        for number in range(runs):
            try:
                run_id = client.create_run(experiment, run_name="writer-%02d-%d" % (index, number)).info.run_id
                calls += 1
            except Exception as error:  # pylint: disable=broad-except
                errors.append(repr(error)[:200])
                continue
            made.append(run_id)
            for step in range(metrics):
                try:
                    client.log_metric(run_id, "value", float(index * 100000 + number * 1000 + step), step=step)
                    acknowledged += 1
                except Exception as error:  # pylint: disable=broad-except
                    errors.append(repr(error)[:200])
                calls += 1
            try:
                client.log_param(run_id, "writer", str(index))
                client.log_param(run_id, "run", str(number))
                path = Path(folder) / ("note-%d.txt" % number)
                path.write_text("writer %d run %d" % (index, number))
                client.log_artifact(run_id, str(path))
                client.set_terminated(run_id)
            except Exception as error:  # pylint: disable=broad-except
                errors.append(repr(error)[:200])
            calls += 4
    return {"runs": made, "errors": errors, "calls": calls, "acknowledged": acknowledged, "seconds": time.monotonic() - began}


def count(settings, runs, metrics):
    """What the API returns: runs, metric values (exact), parameters, artifacts."""
    client_environment(settings)
    from mlflow.tracking import MlflowClient  # pylint: disable=import-outside-toplevel

    client = MlflowClient()
    found = {"runs": 0, "values": 0, "params": 0, "artifacts": 0}
    for run_id in runs:
        run = client.get_run(run_id)
        found["runs"] += 1
        found["params"] += len(run.data.params)
        history = client.get_metric_history(run_id, "value")
        found["values"] += len({int(m.step) for m in history})
        found["artifacts"] += len(client.list_artifacts(run_id))
    return found


def instance_pids(cloud):
    folder = sorted((cloud.state_dir / "envs").glob("*/instances/*"))[0]
    return [int(path.read_text()) for path in (folder / "app.pid", folder / "nginx" / "nginx.pid") if path.exists()]


def deploy(cloud, instances):
    """deploy.yml with this many instances; returns the client's settings for the front door."""
    env = playbook_env(cloud.ansible_overrides())
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", "inventories/local", "deploy.yml",
                             "-e", "environment_min_instances=%d" % instances], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit("deploy.yml failed:\n" + result.stdout[-4000:])
    cname = [e for e in cloud.client("elasticbeanstalk").describe_environments()["Environments"] if e["Status"] == "Ready"][0]["CNAME"]
    return {
        "MLFLOW_TRACKING_URI": "https://" + cname, "MLFLOW_TRACKING_USERNAME": "mlflow",
        "MLFLOW_TRACKING_PASSWORD": (ROOT / ".state" / "demo-password").read_text().strip(),
        "MLFLOW_TRACKING_SERVER_CERT_PATH": str(cloud.state_dir / "tls" / "ca.pem"),
    }


def seed_layout(writers, runs, metrics):
    """The writers against per-instance local stores behind one load balancer; prints what is lost."""
    with tempfile.TemporaryDirectory() as workdir:
        workdir = Path(workdir)
        workdir.chmod(0o755)  # nginx's workers must reach its files
        venv = server_venv(render_bundle(workdir / "bundle", bundle_users=[{"name": "seed", "password": "seed-Password-0001", "admin": True}]))
        ports, servers = [], []
        cert, key = localhost_certificate(workdir / "tls")
        front = FrontDoor(workdir / "front", free_port(), free_port(), cert, key)
        try:
            for number in range(3):
                store = workdir / ("instance-%d" % number)
                store.mkdir()
                server, port = start_mlflow(venv, "sqlite:///%s/mlflow.db" % store, str(store / "artifacts"), cwd=store)
                servers.append(server)
                ports.append(port)
            front.configure(ports)
            front.start()
            settings = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:%d" % front.http_port}
            from mlflow.tracking import MlflowClient  # pylint: disable=import-outside-toplevel

            for port in ports:  # the experiment on every instance, as the seed recipe's users would need
                MlflowClient("http://127.0.0.1:%d" % port).create_experiment(EXPERIMENT)
            began = time.monotonic()
            with multiprocessing.get_context("spawn").Pool(writers) as pool:
                results = pool.map(writer, [(settings, index, runs, metrics) for index in range(writers)])
            took = time.monotonic() - began
            made = [run_id for result in results for run_id in result["runs"]]
            known = [sum(1 for run_id in made if has_run(port, run_id)) for port in ports]
            front_misses = sum(1 for run_id in made for _lookup in range(3) if not has_run(front.http_port, run_id))
            stored = sum(len(MlflowClient("http://127.0.0.1:%d" % port).get_metric_history(run_id, "value"))
                         for port in ports for run_id in made if has_run(port, run_id))
        finally:
            front.stop()
            for server in servers:
                stop_group(server)
    errors = [error for result in results for error in result["errors"]]
    calls = sum(result["calls"] for result in results)
    print("Seed recipe's layout: %d writers x %d runs x %d metric values, 3 instances with their own store, "
          "behind one round-robin load balancer" % (writers, runs, metrics))
    print("Wall time %.1f s, %d calls, %d failed (%.0f%%)" % (took, calls, len(errors), 100.0 * len(errors) / max(calls, 1)))
    print("    runs created %d; known to each instance: %s (invisible from each: %s)"
          % (len(made), ", ".join(str(k) for k in known), ", ".join("%.0f%%" % (100.0 * (len(made) - k) / max(len(made), 1)) for k in known)))
    print("    through the load balancer, %d of %d lookups of existing runs answered 'not found'" % (front_misses, 3 * len(made)))
    print("    metric values stored %d of %d sent" % (stored, writers * runs * metrics))
    for error in errors[:3]:
        print("    error: " + error)
    print(json.dumps({"layout": "seed", "seconds": round(took, 1), "calls": calls, "failed": len(errors), "runs": len(made),
                      "known_per_instance": known, "front_door_misses": front_misses, "front_door_lookups": 3 * len(made),
                      "values_stored": stored, "values_sent": writers * runs * metrics}))


def has_run(port, run_id):
    return http_status("http://127.0.0.1:%d/api/2.0/mlflow/runs/get?run_id=%s" % (port, run_id)) == 200


def main():
    arguments = [value for value in sys.argv[1:] if value != "--seed-layout"]
    writers, runs, metrics = (int(value) for value in (arguments + ["16", "2", "200"][len(arguments):])[:3])
    if "--seed-layout" in sys.argv[1:]:
        seed_layout(writers, runs, metrics)
        return
    cloud = LocalCloud(ROOT / ".state" / "localcloud-bench-writers", 4596, "23300-23499")
    cloud.cli("start")
    try:
        settings = deploy(cloud, 3)
        client_environment(settings)
        from mlflow.tracking import MlflowClient  # pylint: disable=import-outside-toplevel

        MlflowClient().create_experiment(EXPERIMENT)
        pids = instance_pids(cloud)
        idle = tree_rss(pids)
        peak, stop = [idle], threading.Event()

        def sample():
            while not stop.wait(0.5):
                peak.append(tree_rss(pids))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        began = time.monotonic()
        with multiprocessing.get_context("spawn").Pool(writers) as pool:
            results = pool.map(writer, [(settings, index, runs, metrics) for index in range(writers)])
        took = time.monotonic() - began
        stop.set()
        sampler.join()
        made = [run_id for result in results for run_id in result["runs"]]
        errors = [error for result in results for error in result["errors"]]
        calls = sum(result["calls"] for result in results)
        acknowledged = sum(result["acknowledged"] for result in results)
        found = count(settings, made, metrics)
        experiment = MlflowClient().get_experiment_by_name(EXPERIMENT).experiment_id
        in_db = cloud.cli("sql", "mlflow", "SELECT (SELECT count(*) FROM runs WHERE experiment_id = %s), "
                          "(SELECT count(*) FROM metrics m JOIN runs r ON r.run_uuid = m.run_uuid WHERE r.experiment_id = %s)"
                          % (experiment, experiment)).stdout.strip().split("|")
    finally:
        cloud.cli("stop")
    expected = {"runs": writers * runs, "values": writers * runs * metrics, "params": writers * runs * 2, "artifacts": writers * runs}
    print("%d writers x %d runs x %d metric values, through the front door of 3 instances" % (writers, runs, metrics))
    print("Wall time %.1f s, %d calls, %.0f calls/s, %d failed calls (after the client's retries)" % (took, calls, calls / took, len(errors)))
    for key in ("runs", "values", "params", "artifacts"):
        print("    %-10s expected %6d   found via the API %6d   lost %d" % (key, expected[key], found[key], expected[key] - found[key]))
    print("    in the database: %s runs, %s metric rows; values acknowledged to the clients but missing: %d"
          % (in_db[0], in_db[1], acknowledged - found["values"]))
    print("Memory of one instance (nginx + MLflow): idle %.0f MB, peak under load %.0f MB" % (idle, max(peak)))
    for error in errors[:5]:
        print("    error: " + error)
    print(json.dumps({"seconds": round(took, 1), "calls": calls, "failed": len(errors), "expected": expected, "found": found,
                      "db_runs": int(in_db[0]), "db_metrics": int(in_db[1]), "rss_idle_mb": round(idle), "rss_peak_mb": round(max(peak))}))


if __name__ == "__main__":
    main()

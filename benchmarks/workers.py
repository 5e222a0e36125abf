"""What a second MLflow worker buys on one instance, and what it costs in memory.

The bundle as an instance runs it (MLflow behind the auth layer and the permission engine, the
bundle's nginx in front with upstream keep-alive) with 1 worker, with 2 workers, and with 2
workers whose listener is left as uvicorn makes it (TCP_NODELAY off: the auth layer's
`nodelay_listeners` turned into a no-op), side by side in one run. For each: throughput of a GET
(`experiments/get`) and a POST (`runs/log-metric`, to as many runs in turn) with 8 connections, p50 on one kept-alive
connection, the CPU each request costs the server's processes under the load and how busy the
machine was meanwhile, and the resident memory of the server's processes after the load. The measured user
is no admin, with an EDIT grant.

Prints figures and the ratios; asserts nothing. Needs wrk (`make setup` installs it):
    .venv/bin/python benchmarks/workers.py [seconds per measurement]  (3 rounds of each)
On a 2-core machine wrk, nginx and PostgreSQL share the cores with the workers.
"""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

# pylint: disable=wrong-import-position
from benchmarks.auth_overhead import (ADMIN, ADMIN_PASSWORD, PASSWORD, USER, basic, call, grant_edit, instance_nginx,  # noqa: E402
                                      prepare_user_store, wrk)
from benchmarks.common import bundle_on_postgres, medians, mlflow_app, start_mlflow, stop_all, tree_cpu, tree_rss  # noqa: E402

CONNECTIONS = 8
ROUNDS = 3

# uvicorn's listener as it makes it for several workers: the layer's fix turned off (never shipped).
NAGLE = '''"""The bundle's app with TCP_NODELAY left off on the listener (the benchmark's contrast)."""
import mlflowops_auth


def create_app():
    mlflowops_auth.nodelay_listeners = lambda: 0
    return mlflowops_auth.create_app()
'''


def machine_cpu():
    """(busy, all) jiffies of the whole machine so far (/proc/stat)."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(field) for field in stat.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4], sum(fields)  # idle, iowait


def loaded(url, path, method, body, seconds, workdir, server, first="step"):
    """wrk's figures under load, with the CPU milliseconds per request of the server's processes
    and how busy the machine's cores were (100% each) appended."""
    before, machine = tree_cpu([server]), machine_cpu()
    rps, p50, p99 = wrk(url, path, method, body, True, CONNECTIONS, seconds, workdir, first=first)
    busy, everything = (after - earlier for after, earlier in zip(machine_cpu(), machine))
    return rps, p50, p99, 1000 * (tree_cpu([server]) - before) / (rps * seconds), 100.0 * os.cpu_count() * busy / everything


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    processes, fronts = [], []
    with tempfile.TemporaryDirectory() as workdir:
        workdir = Path(workdir)
        users = [{"name": ADMIN, "password": ADMIN_PASSWORD, "admin": True}, {"name": USER, "password": PASSWORD}]
        build, venv, cluster, database = bundle_on_postgres(workdir, users)
        try:
            prepare_user_store(venv, build, database)
            lib = build / "source" / "mlflowops" / "lib"
            nagle = mlflow_app(workdir, "mlflowops-auth-nagle", "mlflowops_nagle", NAGLE)
            env = {"PYTHONPATH": "%s:%s" % (lib, nagle), "MLFLOWOPS_USERS_FILE": str(build / "source" / "mlflowops" / "htpasswd"),
                   # Only the instance's nginx appends to X-Forwarded-For here.
                   "MLFLOWOPS_TRUSTED_PROXIES": "1", "MLFLOWOPS_ADMIN": ADMIN, "MLFLOWOPS_DEFAULT_PERMISSION": "READ"}
            setups = {}
            for name, workers, app in (("1 worker", 1, "mlflowops-auth"), ("2 workers", 2, "mlflowops-auth"),
                                       ("2 workers, TCP_NODELAY off", 2, "mlflowops-auth-nagle")):
                process, port = start_mlflow(venv, database, "file://%s/artifacts" % workdir, workers=workers, env=env,
                                             args=("--app-name", app))
                processes.append(process)
                nginx = instance_nginx(build, port)
                fronts.append(nginx)
                setups[name] = (process, nginx.url)
            admin = basic(ADMIN, ADMIN_PASSWORD)
            experiment = call(setups["1 worker"][1], "/api/2.0/mlflow/experiments/create", {"name": "bench"}, admin)["experiment_id"]
            grant_edit(setups["1 worker"][1], experiment)
            get = "/api/2.0/mlflow/experiments/get?experiment_id=%s" % experiment
            measured = {name: {} for name in setups}
            for _round in range(ROUNDS):
                for name, (process, url) in setups.items():
                    # As many runs as connections, in turn (training jobs logging at once): writes to
                    # one key of one run queue on its row in the database.
                    runs = [call(url, "/api/2.0/mlflow/runs/create", {"experiment_id": experiment})["run"]["info"]["run_id"]
                            for _run in range(CONNECTIONS)]
                    body = '{"run_id": "%s", "key": "m", "value": 1, "timestamp": 1, "step": %d}'
                    which = "({%s})[step %% %d + 1]" % (", ".join('"%s"' % run for run in runs), len(runs))
                    rows = measured[name]
                    rows.setdefault("GET", []).append(loaded(url, get, "GET", None, seconds, workdir, process.pid))
                    rows.setdefault("POST", []).append(loaded(url, "/api/2.0/mlflow/runs/log-metric", "POST", body, seconds, workdir,
                                                              process.pid, first=which))
                    rows.setdefault("GET 1 conn", []).append(wrk(url, get, "GET", None, True, 1, seconds, workdir))
                    rows.setdefault("POST 1 conn", []).append(
                        wrk(url, "/api/2.0/mlflow/runs/log-metric", "POST", body, True, 1, seconds, workdir, first=which))
            results = medians(measured)
            memory = {name: tree_rss([process.pid]) for name, (process, _url) in setups.items()}
        finally:
            stop_all(fronts, processes, cluster)
    print("wrk, 1 thread, %d connections and 1 connection, %d s each, median of %d rounds; through the bundle's nginx, the auth "
          "layer and the permission engine" % (CONNECTIONS, seconds, ROUNDS))
    print("%-28s %-12s %10s %9s %9s %13s %13s" % ("setup", "request", "req/s", "p50 ms", "p99 ms", "MLflow CPU ms", "machine busy"))
    for name, rows in results.items():
        for kind, figures in rows.items():
            cpu = ("%13.2f %12.0f%%" % figures[3:]) if len(figures) > 3 else ""
            print("%-28s %-12s %10.0f %9.2f %9.2f %s" % (name, kind, figures[0], figures[1], figures[2], cpu))
    print("(under the 8-connection load: MLflow's CPU per request; how busy the machine was, %d00%% = every core)" % os.cpu_count())
    for name in setups:
        print("%-28s resident memory after the load: %.0f MB" % (name, memory[name]))
    one, two = results["1 worker"], results["2 workers"]
    for kind in ("GET", "POST"):
        print("2 workers / 1 worker, %s throughput: %.2fx" % (kind, two[kind][0] / one[kind][0]))
    for kind in ("GET 1 conn", "POST 1 conn"):
        print("2 workers - 1 worker, %s p50: %+.2f ms" % (kind, two[kind][1] - one[kind][1]))
        print("2 workers with TCP_NODELAY off - 1 worker, %s p50: %+.2f ms" % (kind, results["2 workers, TCP_NODELAY off"][kind][1] - one[kind][1]))
    print("memory, 2 workers / 1 worker: %.2fx" % (memory["2 workers"] / memory["1 worker"]))


if __name__ == "__main__":
    main()

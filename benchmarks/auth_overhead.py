"""What the front door's basic auth costs: requests per second and p50/p99 latency of a GET
(experiments/get) and a POST (runs/log-metric) under bounded load from wrk (a second process),
for MLflow direct, behind the bundle's nginx without auth, and behind it with auth, the users
file hashed with bcrypt at the bundle's default cost and at cost 10; then the same with one
kept-alive connection (as the MLflow client and EB's nginx keep connections).

Prints figures and the ratios measured side by side in this run; asserts nothing. Needs root
(the bundle's hook installs the users file as on EB) and wrk (`make setup` installs it):
    .venv/bin/python benchmarks/auth_overhead.py [seconds per measurement]
MLflow runs from the bundle's own pins (one worker), on a throwaway PostgreSQL.
"""

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

# pylint: disable=wrong-import-position
from localcloud.config import load  # noqa: E402
from localcloud.platform.image import prepared_venv  # noqa: E402
from localcloud.postgres import Cluster  # noqa: E402
from localcloud.procs import free_port, http_status, stop_group, wait_until  # noqa: E402
from support.ebnginx import EBNginx  # noqa: E402

USER, PASSWORD = "bench", "bench-Password-0001"
CONNECTIONS = 4


def render(workdir, rounds):
    build = Path(workdir) / ("bcrypt-%d" % rounds)
    variables = Path(workdir) / "vars.json"
    variables.write_text(json.dumps({"bundle_build_dir": str(build), "bundle_htpasswd_rounds": rounds,
                                     "bundle_users": [{"name": USER, "password": PASSWORD}]}))
    subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(ROOT / "inventories" / "local"),
                    "-e", "@" + str(variables), str(ROOT / "tests" / "playbooks" / "bundle.yml")],
                   cwd=ROOT, check=True, capture_output=True, env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg")))
    return build


def front(bundle, app_port, auth):
    nginx = EBNginx(bundle / "bundle.zip", app_port)
    nginx.run_hooks("hooks", "predeploy")
    if not auth:
        for conf in nginx.root.rglob("*.conf"):
            text = conf.read_text()
            if "auth_basic_user_file" in text:
                conf.write_text(re.sub(r"auth_basic \"[^\"]*\";", "auth_basic off;", text))
    return nginx.start()


def call(url, path, body=None):
    request = urllib.request.Request(url + path, data=json.dumps(body).encode() if body else None, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wrk(url, path, method, body, auth, connections, seconds, workdir):
    """Requests/s, p50 and p99 (ms). Each POST logs a new step, so no request repeats another."""
    script = Path(workdir) / "request.lua"
    lines = ['wrk.method = "%s"' % method, 'wrk.headers["Content-Type"] = "application/json"']
    if auth:
        lines.append('wrk.headers["Authorization"] = "Basic %s"' % base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode())
    if body:
        lines += ["step = 0", "request = function()", "  step = step + 1",
                  "  return wrk.format(nil, nil, nil, string.format('%s', step, step))" % body.replace("'", "\\'"), "end"]
    script.write_text("\n".join(lines) + "\n")
    out = subprocess.run(["wrk", "-t1", "-c%d" % connections, "-d%ds" % seconds, "--latency", "-s", str(script), url + path],
                         capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        sys.exit("wrk got errors from %s%s:\n%s" % (url, path, out))

    def milliseconds(label):
        value, unit = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)" % label, out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), milliseconds("50"), milliseconds("99")


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    with tempfile.TemporaryDirectory() as workdir:
        os.chmod(workdir, 0o755)  # PostgreSQL runs as its own user
        bundles = {rounds: render(workdir, rounds) for rounds in (5, 10)}
        venv = prepared_venv(bundles[5] / "source" / "requirements.txt", load().venv_cache)
        cluster = Cluster(Path(workdir) / "pg", free_port()).start()
        cluster.ensure_database("mlflow", "mlflow", "bench-db-0001")
        app_port = free_port()
        env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", PATH=str(venv / "bin") + os.pathsep + os.environ["PATH"])
        app = subprocess.Popen(  # pylint: disable=consider-using-with
            [str(venv / "bin" / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(app_port), "--workers", "1",
             "--backend-store-uri", "postgresql+psycopg2://mlflow:bench-db-0001@127.0.0.1:%d/mlflow" % cluster.port,
             "--serve-artifacts", "--artifacts-destination", "file://%s/artifacts" % workdir],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        fronts = []
        try:
            direct = "http://127.0.0.1:%d" % app_port
            if not wait_until(lambda: http_status(direct + "/health") == 200, 180, 0.5):
                sys.exit("MLflow did not start")
            experiment = call(direct, "/api/2.0/mlflow/experiments/create", {"name": "bench"})["experiment_id"]
            setups = [("MLflow direct", direct, False), ("nginx, no auth", None, False),
                      ("nginx + auth, bcrypt-5", None, True), ("nginx + auth, bcrypt-10", None, True)]
            for index, (name, url, auth) in enumerate(setups):
                if url is None:
                    nginx = front(bundles[10 if "10" in name else 5], app_port, auth)
                    fronts.append(nginx)
                    setups[index] = (name, nginx.url, auth)
            results = {}
            for name, url, auth in setups:
                run_id = call(direct, "/api/2.0/mlflow/runs/create", {"experiment_id": experiment})["run"]["info"]["run_id"]
                body = '{"run_id": "%s", "key": "m", "value": %%d, "timestamp": 1, "step": %%d}' % run_id
                get = "/api/2.0/mlflow/experiments/get?experiment_id=%s" % experiment
                results[name] = {
                    "GET": wrk(url, get, "GET", None, auth, CONNECTIONS, seconds, workdir),
                    "POST": wrk(url, "/api/2.0/mlflow/runs/log-metric", "POST", body, auth, CONNECTIONS, seconds, workdir),
                    "GET 1 conn": wrk(url, get, "GET", None, auth, 1, seconds, workdir),
                    "POST 1 conn": wrk(url, "/api/2.0/mlflow/runs/log-metric", "POST", body, auth, 1, seconds, workdir),
                }
                time.sleep(1)
        finally:
            for nginx in fronts:
                nginx.stop()
            stop_group(app)
            cluster.stop()
    print("wrk, 1 thread, %d connections (bounded load) and 1 connection, %d s each; MLflow with 1 worker" % (CONNECTIONS, seconds))
    print("%-26s %-12s %10s %9s %9s" % ("setup", "request", "req/s", "p50 ms", "p99 ms"))
    for name, rows in results.items():
        for kind, (rps, p50, p99) in rows.items():
            print("%-26s %-12s %10.0f %9.2f %9.2f" % (name, kind, rps, p50, p99))
    base = results["nginx, no auth"]
    for name in ("nginx + auth, bcrypt-5", "nginx + auth, bcrypt-10"):
        for kind in ("GET", "POST"):
            print("%s / no auth, %s throughput: %.1f%%" % (name, kind, 100 * results[name][kind][0] / base[kind][0]))
    for name in ("nginx + auth, bcrypt-5", "nginx + auth, bcrypt-10"):
        for kind in ("GET 1 conn", "POST 1 conn"):
            print("%s - direct, %s p50: %+.2f ms" % (name, kind, results[name][kind][1] - results["MLflow direct"][kind][1]))


if __name__ == "__main__":
    main()

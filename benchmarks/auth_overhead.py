"""What authentication costs: requests per second and p50/p99 latency of a GET (experiments/get)
and a POST (runs/log-metric) under bounded load from wrk (a second process), for:
  - MLflow direct (plain `mlflow server`, one worker);
  - behind the bundle's nginx, without auth;
  - behind the bundle's nginx, with the auth layer alone (users hashed with bcrypt-10, each
    distinct credential checked once; MLflow's app without its permission engine);
  - behind the bundle's nginx, as the bundle runs (`--app-name mlflowops-auth`): the auth layer,
    then MLflow's permission engine deciding for a user who is no admin (default READ, an EDIT
    grant on the experiment), its user store in PostgreSQL;
  - for contrast, MLflow's own `basic-auth` app as its users run it: its default settings (user
    store in SQLite, every request's password checked by MLflow, no cache), the same user and
    grant, behind the same nginx;
  - for contrast, nginx's own `auth_basic` with the same bcrypt-10 users file (checked on every
    request: the design the auth layer replaces);
then the same on one kept-alive connection (as the MLflow client and EB's nginx keep
connections), and on one connection through the whole stack: the local cloud's front door (TLS)
-> the instance's nginx -> MLflow with the auth layer.

Then what a first login costs behind the bundle's nginx and auth layer (a user's first request,
whose hash is checked, against a request whose credential is remembered), idle and while 1,000
distinct wrong guesses arrive from another address (127.0.0.2, 32 connections at once): the
first logins come from 127.0.0.3, and the flood's answers are counted (401 checked, 429 refused
unchecked).

Prints figures and the ratios measured side by side in this run; asserts nothing. Needs wrk
(`make setup` installs it):
    .venv/bin/python benchmarks/auth_overhead.py [seconds per measurement]  (3 rounds of each)
MLflow runs from the bundle's own pins (one worker), on a throwaway PostgreSQL.
"""

import base64
import collections
import http.client
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

# pylint: disable=wrong-import-position
from benchmarks.common import bundle_on_postgres, medians, mlflow_app, start_mlflow, stop_all  # noqa: E402
from localcloud.platform.nginx import FrontDoor  # noqa: E402
from localcloud.procs import free_port, http_status, wait_until  # noqa: E402
from localcloud.tls import localhost_certificate  # noqa: E402
from support.ebnginx import EBNginx  # noqa: E402

USER, PASSWORD = "bench", "bench-Password-0001"
ADMIN, ADMIN_PASSWORD = "boss", "boss-Password-00001"
CONNECTIONS = 4
ROUNDS = 3
CREDENTIALS = {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()}
# Users who have not logged in yet: half log in on an idle server, half during the flood.
NEWCOMERS = [("new%02d" % number, "new-Password-%04d" % number) for number in range(16)]
FLOOD_GUESSES = 1000
FLOOD_CONNECTIONS = 32


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def timed_get(port, path, authorization, source):
    """(status, seconds) of one GET from `source`, on a new connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
    began = time.perf_counter()
    connection.request("GET", path, headers={"Authorization": authorization})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, time.perf_counter() - began


def in_process_cost(build, calls=100_000):
    """Microseconds the auth layer adds per request with a remembered credential (no network)."""
    import asyncio  # pylint: disable=import-outside-toplevel
    import importlib.util  # pylint: disable=import-outside-toplevel

    spec = importlib.util.spec_from_file_location("mlflowops_auth", build / "source" / "mlflowops" / "lib" / "mlflowops_auth.py")
    auth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(auth)

    async def inner(_scope, _receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def nothing(_message=None):
        return {"type": "http.request", "body": b""}

    app = auth.BasicAuth(inner, auth.Verifier(auth.load_users(str(build / "source" / "mlflowops" / "htpasswd"))))
    scope = {"type": "http", "path": "/api/2.0/mlflow/experiments/get", "client": ("127.0.0.1", 1),
             "headers": [(b"authorization", CREDENTIALS["Authorization"].encode()), (b"x-forwarded-for", b"127.0.0.1")]}

    async def per_call(target):
        await target(scope, nothing, nothing)  # the first call checks the hash; later ones are remembered
        began = time.perf_counter()
        for _call in range(calls):
            await target(scope, nothing, nothing)
        return (time.perf_counter() - began) / calls * 1e6

    return asyncio.run(per_call(app)) - asyncio.run(per_call(inner))


def first_login_cost(port, path, newcomers, source="127.0.0.3"):
    """Milliseconds of each newcomer's first request and of as many remembered ones, one after another."""
    first = [timed_get(port, path, basic(user, password), source) for user, password in newcomers]
    known = [timed_get(port, path, CREDENTIALS["Authorization"], source) for _user in newcomers]
    if {status for status, _seconds in first + known} != {200}:
        sys.exit("a login failed: %s" % (first + known))
    return [1000 * seconds for _status, seconds in first], [1000 * seconds for _status, seconds in known]


def flood(port, path, guesses=FLOOD_GUESSES, connections=FLOOD_CONNECTIONS, source="127.0.0.2"):
    """Sends `guesses` distinct wrong passwords from `source`; returns {status: count} and seconds."""
    began = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        statuses = list(pool.map(lambda number: timed_get(port, path, basic(USER, "guess-%06d" % number), source)[0], range(guesses)))
    return collections.Counter(statuses), time.perf_counter() - began


def instance_nginx(build, app_port, nginx_auth_basic=False):
    """The bundle's nginx in front of app_port; optionally with nginx's own auth_basic added."""
    nginx = EBNginx(build / "bundle.zip", app_port)
    if nginx_auth_basic:
        users = nginx.root / "mlflowops" / "htpasswd"
        users.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(build / "source" / "mlflowops" / "htpasswd", users)
        users.chmod(0o644)  # nginx's workers read it; a throwaway copy
        for conf in nginx.root.rglob("*.conf"):
            text = conf.read_text()
            if "location = /health" in text:
                text = text.replace("location = /health {", "location = /health {\n    auth_basic off;")
                conf.write_text('auth_basic "MLflow";\nauth_basic_user_file mlflowops/htpasswd;\n' + text)
    return nginx.start()


def call(url, path, body=None, authorization=CREDENTIALS["Authorization"]):
    request = urllib.request.Request(url + path, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": authorization, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wrk(url, path, method, body, auth, connections, seconds, workdir, first="step"):
    """Requests/s, p50 and p99 (ms). Each POST logs a new step, so no request repeats another; the
    body's two %d are `first` (a Lua expression of `step`) and the step."""
    script = Path(workdir) / "request.lua"
    lines = ['wrk.method = "%s"' % method, 'wrk.headers["Content-Type"] = "application/json"']
    if auth:
        lines.append('wrk.headers["Authorization"] = "%s"' % CREDENTIALS["Authorization"])
    if body:
        lines += ["step = 0", "request = function()", "  step = step + 1",
                  "  return wrk.format(nil, nil, nil, string.format('%s', %s, step))" % (body.replace("'", "\\'"), first), "end"]
    script.write_text("\n".join(lines) + "\n")
    out = subprocess.run(["wrk", "-t1", "-c%d" % connections, "-d%ds" % seconds, "--latency", "-s", str(script), url + path],
                         capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        sys.exit("wrk got errors from %s%s:\n%s" % (url, path, out))

    def milliseconds(label):
        value, unit = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)" % label, out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), milliseconds("50"), milliseconds("99")


LAYER_ONLY = '''"""The auth layer alone in front of MLflow's app (the benchmark's baseline, never shipped)."""
import os

import mlflowops_auth


def create_app():
    from mlflow.server.fastapi_app import app

    users = mlflowops_auth.load_users(os.environ[mlflowops_auth.USERS_FILE_VARIABLE])
    return mlflowops_auth.BasicAuth(app, mlflowops_auth.Verifier(users), trusted_proxies=int(os.environ[mlflowops_auth.PROXIES_VARIABLE]))
'''


def prepare_user_store(venv, build, database):
    """What each instance's start-up step does: the user store created and its users made."""
    lib = build / "source" / "mlflowops"
    subprocess.run([str(venv / "bin" / "python"), str(lib / "migrate.py")], check=True, capture_output=True,
                   env={"PATH": str(venv / "bin"), "PYTHONPATH": str(lib / "lib"), "MLFLOW_BACKEND_STORE_URI": database,
                        "MLFLOWOPS_USERS_FILE": str(lib / "htpasswd"), "MLFLOWOPS_ADMINS": ADMIN})


def grant_edit(url, experiment):
    """USER may edit the experiment (given by the admin through MLflow's API)."""
    call(url, "/api/3.0/mlflow/users/permissions/grant",
         {"username": USER, "resource_type": "experiment", "resource_id": experiment, "permission": "EDIT"}, basic(ADMIN, ADMIN_PASSWORD))


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    processes, fronts = [], []
    with tempfile.TemporaryDirectory() as workdir:
        workdir = Path(workdir)
        users = [{"name": ADMIN, "password": ADMIN_PASSWORD, "admin": True}]
        users += [{"name": name, "password": password} for name, password in [(USER, PASSWORD)] + NEWCOMERS]
        build, venv, cluster, database = bundle_on_postgres(workdir, users)
        try:
            artifacts = "file://%s/artifacts" % workdir
            plain, plain_port = start_mlflow(venv, database, artifacts)
            processes.append(plain)
            prepare_user_store(venv, build, database)
            layer_only = mlflow_app(workdir, "mlflowops-auth-only", "mlflowops_layer_only", LAYER_ONLY)
            layer = {"PYTHONPATH": "%s:%s" % (build / "source" / "mlflowops" / "lib", layer_only),
                     "MLFLOWOPS_USERS_FILE": str(build / "source" / "mlflowops" / "htpasswd"),
                     # Only the instance's nginx appends to X-Forwarded-For here (no load balancer
                     # in front): its entry is the client's address.
                     "MLFLOWOPS_TRUSTED_PROXIES": "1"}
            alone, alone_port = start_mlflow(venv, database, artifacts, args=("--app-name", "mlflowops-auth-only"), env=layer)
            processes.append(alone)
            guarded, guarded_port = start_mlflow(
                venv, database, artifacts, args=("--app-name", "mlflowops-auth"),
                env=dict(layer, MLFLOWOPS_ADMIN=ADMIN, MLFLOWOPS_DEFAULT_PERMISSION="READ"))
            processes.append(guarded)
            # MLflow's basic-auth app as its documentation starts it: default configuration (user
            # store basic_auth.db in the working folder), the admin's password and a secret key.
            (workdir / "basic-auth").mkdir()
            theirs, theirs_port = start_mlflow(
                venv, database, artifacts, cwd=workdir / "basic-auth", args=("--app-name", "basic-auth"),
                env={"MLFLOW_AUTH_ADMIN_USERNAME": ADMIN, "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD,
                     "MLFLOW_FLASK_SERVER_SECRET_KEY": "bench-secret-key"})
            processes.append(theirs)
            direct = "http://127.0.0.1:%d" % plain_port
            no_auth = instance_nginx(build, plain_port)
            layer_alone = instance_nginx(build, alone_port)
            with_auth = instance_nginx(build, guarded_port)
            basic_auth = instance_nginx(build, theirs_port)
            auth_basic = instance_nginx(build, plain_port, nginx_auth_basic=True)
            cert, key = localhost_certificate(workdir / "tls")
            front = FrontDoor(workdir / "front", free_port(), free_port(), cert, key)
            front.configure([with_auth.port])
            front.start()
            fronts += [no_auth, layer_alone, with_auth, basic_auth, auth_basic, front]
            full_stack = "https://127.0.0.1:%d" % front.https_port
            if not wait_until(lambda: http_status("http://127.0.0.1:%d/health" % front.http_port) == 200, 30, 0.2):
                sys.exit("the front door did not start")
            experiment = call(direct, "/api/2.0/mlflow/experiments/create", {"name": "bench"})["experiment_id"]
            get = "/api/2.0/mlflow/experiments/get?experiment_id=%s" % experiment
            grant_edit(with_auth.url, experiment)
            call(basic_auth.url, "/api/2.0/mlflow/users/create", {"username": USER, "password": PASSWORD}, basic(ADMIN, ADMIN_PASSWORD))
            grant_edit(basic_auth.url, experiment)
            setups = [("MLflow direct", direct, False, True), ("nginx, no auth", no_auth.url, False, True),
                      ("nginx + auth layer alone", layer_alone.url, True, True),
                      ("nginx + layer + permissions", with_auth.url, True, True),
                      ("MLflow basic-auth, defaults", basic_auth.url, True, True),
                      ("nginx auth_basic, bcrypt-10", auth_basic.url, True, True),
                      ("whole stack (TLS front door)", full_stack, True, False)]
            # Rounds in turn, each setup once per round: a disturbance on this noisy machine hits
            # one round of one setup, and the median of the rounds leaves it out.
            measured = {name: {} for name, _url, _auth, _loaded in setups}
            for _round in range(ROUNDS):
                for name, url, auth, loaded in setups:
                    run_id = call(direct, "/api/2.0/mlflow/runs/create", {"experiment_id": experiment})["run"]["info"]["run_id"]
                    body = '{"run_id": "%s", "key": "m", "value": %%d, "timestamp": 1, "step": %%d}' % run_id
                    rows = measured[name]
                    if loaded:
                        rows.setdefault("GET", []).append(wrk(url, get, "GET", None, auth, CONNECTIONS, seconds, workdir))
                        rows.setdefault("POST", []).append(
                            wrk(url, "/api/2.0/mlflow/runs/log-metric", "POST", body, auth, CONNECTIONS, seconds, workdir))
                    rows.setdefault("GET 1 conn", []).append(wrk(url, get, "GET", None, auth, 1, seconds, workdir))
                    rows.setdefault("POST 1 conn", []).append(
                        wrk(url, "/api/2.0/mlflow/runs/log-metric", "POST", body, auth, 1, seconds, workdir))
            results = medians(measured)
            # First logins, idle and during a flood of guesses from another address.
            half = len(NEWCOMERS) // 2
            idle_first, idle_known = first_login_cost(with_auth.port, get, NEWCOMERS[:half])
            flooding = {}
            flooder = threading.Thread(target=lambda: flooding.update(zip(("statuses", "seconds"), flood(with_auth.port, get))))
            flooder.start()
            time.sleep(0.05)  # the flood is under way
            flood_first, flood_known = first_login_cost(with_auth.port, get, NEWCOMERS[half:])
            flooder.join()
            layer_us = min(in_process_cost(build) for _round in range(ROUNDS))
        finally:
            stop_all(fronts, processes, cluster)
    print("wrk, 1 thread, %d connections (bounded load) and 1 connection, %d s each, median of %d rounds; MLflow with 1 worker"
          % (CONNECTIONS, seconds, ROUNDS))
    print("%-30s %-12s %10s %9s %9s" % ("setup", "request", "req/s", "p50 ms", "p99 ms"))
    for name, rows in results.items():
        for kind, (rps, p50, p99) in rows.items():
            print("%-30s %-12s %10.0f %9.2f %9.2f" % (name, kind, rps, p50, p99))
    base = results["nginx, no auth"]
    alone = results["nginx + auth layer alone"]
    for name in ("nginx + layer + permissions", "MLflow basic-auth, defaults"):
        for kind in ("GET", "POST"):
            print("%s / auth layer alone, %s throughput: %.1f%%" % (name, kind, 100 * results[name][kind][0] / alone[kind][0]))
        for kind in ("GET 1 conn", "POST 1 conn"):
            print("%s - auth layer alone, %s p50: %+.2f ms" % (name, kind, results[name][kind][1] - alone[kind][1]))
    for name in ("nginx + auth layer alone", "nginx + layer + permissions", "nginx auth_basic, bcrypt-10"):
        for kind in ("GET", "POST"):
            print("%s / no auth, %s throughput: %.1f%%" % (name, kind, 100 * results[name][kind][0] / base[kind][0]))
    for name in ("nginx + auth layer alone", "nginx + layer + permissions", "MLflow basic-auth, defaults", "nginx auth_basic, bcrypt-10",
                 "whole stack (TLS front door)"):
        for kind in ("GET 1 conn", "POST 1 conn"):
            print("%s - direct, %s p50: %+.2f ms" % (name, kind, results[name][kind][1] - results["MLflow direct"][kind][1]))
    print()
    print("First logins behind nginx + auth layer (GET, a new connection each; ms): median / max of %d" % len(idle_first))
    print("%-44s %8s %8s" % ("", "median", "max"))
    for label, figures in (("first login, idle", idle_first), ("remembered credential, idle", idle_known),
                           ("first login, during the flood", flood_first), ("remembered credential, during the flood", flood_known)):
        print("%-44s %8.1f %8.1f" % (label, statistics.median(figures), max(figures)))
    print("flood: %d distinct wrong guesses from 127.0.0.2 over %d connections in %.1f s: %s" % (
        FLOOD_GUESSES, FLOOD_CONNECTIONS, flooding["seconds"],
        ", ".join("%d x %d" % (count, status) for status, count in sorted(flooding["statuses"].items()))))
    print("first login during the flood - idle, median: %+.1f ms" % (statistics.median(flood_first) - statistics.median(idle_first)))
    print("in process: the auth layer adds %.1f us to a request with a remembered credential (best of %d)" % (layer_us, ROUNDS))


if __name__ == "__main__":
    main()

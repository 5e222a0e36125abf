"""The bundle's entrypoint on a real PostgreSQL: instances started together share one schema.

Three entrypoints start at the same moment on an empty database, as EB starts the instances of a
new environment. The schema must be created exactly once (under the advisory lock), every
instance must serve, they must see the same data, and the database password must never be on a
command line.
"""

import base64
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from localcloud import tls
from localcloud.postgres import pg_bin
from localcloud.procs import as_user
from support.ebnginx import free_port
from support.postgres import ThrowawayPostgres
from support.instance import instance_env as support_instance_env
from support.instance import wait_healthy
from support.servervenv import server_venv

DB_PASSWORD = "p@ss:w/rd%?#-9Zx"  # characters a URI must escape
LOGIN = {"username": "mlflow_server_a", "password": "L0gin:p@ss/w%rd"}

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the throwaway PostgreSQL runs as the postgres user"),
    pytest.mark.skipif(not Path("/usr/lib/postgresql").is_dir(), reason="PostgreSQL is installed by `make setup`"),
]


@pytest.fixture(scope="module")
def venv(rendered_bundle):
    return server_venv(rendered_bundle["source"] / "requirements.txt")


@pytest.fixture(scope="module")
def database():
    server = ThrowawayPostgres().start()
    server.create_database("mlflow", "mlflow", DB_PASSWORD)
    yield server
    server.stop()


def instance_env(venv, database, tmp_path, port, **extra):
    return support_instance_env(venv, database, tmp_path, port, DB_PASSWORD, **extra)


def process_tree(pid):
    children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False).stdout.split()
    tree = [pid]
    for child in children:
        tree.extend(process_tree(int(child)))
    return tree


CREDENTIALS = {"Authorization": "Basic " + base64.b64encode(b"alice:alice-Password-0001").decode()}  # rendered_bundle's


def api(port, method, body, headers=None):
    request = urllib.request.Request(
        "http://127.0.0.1:%d/api/2.0/mlflow/%s" % (port, method),
        data=json.dumps(body).encode() if body is not None else None,
        headers=dict(CREDENTIALS if headers is None else headers, **{"Content-Type": "application/json"}),
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_instances_started_together_create_the_schema_once_and_share_it(rendered_bundle, venv, database, tmp_path):
    entrypoint = rendered_bundle["source"] / "mlflowops" / "entrypoint.sh"
    ports = [free_port() for index in range(3)]
    logs = [tmp_path / ("instance-%d.log" % index) for index in range(3)]
    processes = []
    try:
        for port, log in zip(ports, logs):
            handle = open(log, "w")
            processes.append(
                subprocess.Popen(
                    [str(entrypoint)],
                    # The same login for all three, as the secret gives it: the first makes it, the others set it again.
                    env=instance_env(venv, database, tmp_path, port, MLFLOW_DB_LOGIN=json.dumps(LOGIN)),
                    cwd=tmp_path,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        healthy = [wait_healthy(port, process) for port, process in zip(ports, processes)]
        outputs = [log.read_text() for log in logs]
        assert all(healthy), "\n\n".join(outputs)
        assert sum("creating the MLflow schema" in output for output in outputs) == 1, outputs
        assert sum("schema is current" in output for output in outputs) == 2, outputs
        assert all("the server connects as mlflow_server_a" in output for output in outputs), outputs
        # One worker per vCPU unless MLFLOW_WORKERS says otherwise.
        workers = len(os.sched_getaffinity(0))
        assert all("--workers %d " % workers in output for output in outputs), outputs

        # The database password is never on a command line, nor in the logs; the job runner is
        # off in every server process.
        for process in processes:
            servers = 0
            for pid in process_tree(process.pid):
                try:
                    cmdline = Path("/proc/%d/cmdline" % pid).read_bytes()
                    environ = Path("/proc/%d/environ" % pid).read_bytes().split(b"\0")
                except FileNotFoundError:
                    continue
                assert DB_PASSWORD.encode() not in cmdline and LOGIN["password"].encode() not in cmdline
                assert b"--backend-store-uri" not in cmdline
                if b"uvicorn" in cmdline:
                    servers += 1
                    assert b"MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false" in environ
                    assert b"MLFLOW_ENABLE_AI_GATEWAY=false" in environ
            assert servers >= 1, "no uvicorn process found under the entrypoint"
        for output in outputs:
            assert DB_PASSWORD not in output and LOGIN["password"] not in output

        # The server itself asks for credentials (its auth layer), whoever reaches its port.
        for headers in ({}, {"Authorization": "Basic " + base64.b64encode(b"alice:bob-Password-000002").decode()}):
            with pytest.raises(urllib.error.HTTPError) as refused:
                api(ports[0], "experiments/search", {"max_results": 1}, headers)
            assert refused.value.code == 401
        # One shared store: what one instance writes, the others read.
        created = api(ports[0], "experiments/create", {"name": "shared-%d" % time.time_ns()})
        for port in ports[1:]:
            found = api(port, "experiments/get?experiment_id=" + created["experiment_id"], None)
            assert found["experiment"]["experiment_id"] == created["experiment_id"]
        # Artifacts are proxied by the server (clients need no storage credentials).
        assert found["experiment"]["artifact_location"].startswith("mlflow-artifacts:")
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, 15)
            except ProcessLookupError:
                pass
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)


def run_entrypoint(entrypoint, env, timeout):
    """Run an entrypoint to its end; on time-out its whole process group is killed."""
    process = subprocess.Popen(
        [str(entrypoint)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        stdout, stderr = process.communicate()
        pytest.fail("the entrypoint did not stop within %d s:\n%s" % (timeout, stderr))
    return process.returncode, stdout + stderr


def test_a_missing_artifact_destination_is_a_clear_error(rendered_bundle, venv, database, tmp_path):
    env = instance_env(venv, database, tmp_path, free_port())
    del env["MLFLOW_ARTIFACTS_DESTINATION"]
    code, output = run_entrypoint(rendered_bundle["source"] / "mlflowops" / "entrypoint.sh", env, 60)
    assert code != 0
    assert "MLFLOW_ARTIFACTS_DESTINATION" in output
    assert DB_PASSWORD not in output


@pytest.mark.parametrize("workers", ["two", "-1", "1.5"])
def test_a_bad_worker_count_is_a_clear_error_before_anything_is_migrated(rendered_bundle, venv, database, tmp_path, workers):
    env = instance_env(venv, database, tmp_path, free_port(), MLFLOW_WORKERS=workers)
    code, output = run_entrypoint(rendered_bundle["source"] / "mlflowops" / "entrypoint.sh", env, 60)
    assert code != 0
    assert "MLFLOW_WORKERS must be a whole number (0: one per vCPU), not '%s'" % workers in output, output
    assert "migrate:" not in output


def test_a_missing_users_file_is_a_clear_error(rendered_bundle, venv, database, tmp_path):
    env = instance_env(venv, database, tmp_path, free_port(), MLFLOWOPS_USERS_FILE=str(tmp_path / "nothing-here"))
    code, output = run_entrypoint(rendered_bundle["source"] / "mlflowops" / "entrypoint.sh", env, 60)
    assert code != 0
    assert "nothing-here is missing or unreadable: nobody could log in" in output


def test_a_wrong_database_password_fails_without_printing_it(rendered_bundle, venv, database, tmp_path):
    wrong = "Wr0ng-db-secret-77"
    env = instance_env(venv, database, tmp_path, free_port(), MLFLOW_DB_PASSWORD=wrong)
    code, output = run_entrypoint(rendered_bundle["source"] / "mlflowops" / "entrypoint.sh", env, 180)
    assert code != 0
    assert "password authentication failed" in output
    assert wrong not in output


def test_the_database_is_reached_over_tls_with_its_certificate_verified(rendered_bundle, venv, database, tmp_path):
    # The attack: the server trusts another CA of the same name than the one that signed the
    # database's certificate (a server in the middle with a look-alike CA). Refused at once.
    other_ca, _key = tls.make_ca(tmp_path / "other-ca")
    env = instance_env(venv, database, tmp_path, free_port(), MLFLOW_DB_SSLROOTCERT=str(other_ca))
    code, output = run_entrypoint(rendered_bundle["source"] / "mlflowops" / "entrypoint.sh", env, 60)
    assert code != 0 and "failed: SSL error: " in output and "retrying" not in output
    # The right CA, but the server reached by a name its certificate doesn't carry.
    env = instance_env(venv, database, tmp_path, free_port(), MLFLOW_DB_HOST="localhost")
    code, output = run_entrypoint(rendered_bundle["source"] / "mlflowops" / "entrypoint.sh", env, 60)
    assert code != 0 and "does not match host name" in output
    # Without its CA bundle it doesn't start at all.
    env = instance_env(venv, database, tmp_path, free_port(), MLFLOW_DB_SSLROOTCERT=str(tmp_path / "none.pem"))
    code, output = run_entrypoint(rendered_bundle["source"] / "mlflowops" / "entrypoint.sh", env, 60)
    assert code != 0 and "none.pem is missing or unreadable" in output
    # And the database refuses what doesn't encrypt, as RDS does (rds.force_ssl).
    python = str(venv / "bin" / "python")
    plain = subprocess.run([python, "-c", "import psycopg2, sys; psycopg2.connect(sys.argv[1])",
                            "host=127.0.0.1 port=%d dbname=mlflow user=mlflow password=%s sslmode=disable" % (database.port, DB_PASSWORD)],
                           capture_output=True, text=True, check=False, timeout=30)
    assert plain.returncode != 0 and "no encryption" in plain.stderr


MIGRATION_LOCK = 0x6D6C666C6F77  # migrate.py's advisory lock id ("mlflow")


def test_nobody_migrates_while_another_holds_the_migration_lock(rendered_bundle, venv, database, tmp_path):
    """The attack on the lock: we hold it, an instance starts on an empty database and must wait
    (blocked on the lock, no table made) until we let go, then migrate and serve."""
    database.create_database("locked", "mlflow", DB_PASSWORD)
    holder = subprocess.Popen(  # pylint: disable=consider-using-with
        as_user(database.user, [pg_bin("psql"), "-h", str(database.root), "-p", str(database.port), "-U", "postgres", "-d", "locked",
                                "-v", "ON_ERROR_STOP=1", "-qAt"]),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    holder.stdin.write("SELECT pg_advisory_lock(%d);\n\\echo held\n" % MIGRATION_LOCK)
    holder.stdin.flush()
    while holder.stdout.readline().strip() != "held":
        assert holder.poll() is None, "psql could not take the lock"
    port = free_port()
    log = tmp_path / "instance.log"
    with open(log, "w", encoding="utf-8") as handle:
        instance = subprocess.Popen(  # pylint: disable=consider-using-with
            [str(rendered_bundle["source"] / "mlflowops" / "entrypoint.sh")], env=instance_env(venv, database, tmp_path, port, MLFLOW_DB_NAME="locked"),
            cwd=tmp_path, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        waiting = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = %d AND objid = %d"
                   % (MIGRATION_LOCK >> 32, MIGRATION_LOCK & 0xFFFFFFFF))
        # The event: the instance's session is queued behind ours on the lock.
        deadline = time.monotonic() + 180
        while database.sql(waiting, "locked").strip() != "1":
            assert instance.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert database.sql("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", "locked").strip() == "0"
        assert "creating the MLflow schema" not in log.read_text()
        holder.stdin.write("SELECT pg_advisory_unlock(%d);\n\\q\n" % MIGRATION_LOCK)
        holder.stdin.flush()
        holder.wait(timeout=30)
        assert wait_healthy(port, instance), log.read_text()
        assert "creating the MLflow schema" in log.read_text()
        assert int(database.sql("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", "locked")) > 10
    finally:
        if holder.poll() is None:
            holder.kill()
        os.killpg(instance.pid, signal.SIGTERM)
        instance.wait(timeout=30)


def test_the_server_connects_as_its_own_login_and_a_rotated_login_leaves_the_other_working(rendered_bundle, venv, database, tmp_path):
    """AWS's alternating users: the login secret names one of two users; the migration step (as
    the schema's owner) gives it the secret's password; the server connects as it and may read
    and write the tables but not change or drop them; naming the other user with a new password
    leaves the first one working for the instances that still use it."""
    entrypoint = rendered_bundle["source"] / "mlflowops" / "entrypoint.sh"
    python = str(venv / "bin" / "python")

    def connect(user, password, statement="SELECT count(*) FROM experiments"):
        return subprocess.run([python, "-c", "import psycopg2, sys; c = psycopg2.connect(sys.argv[1]); cur = c.cursor(); "
                               "cur.execute(sys.argv[2]); c.commit()",
                               "host=127.0.0.1 port=%d dbname=mlflow user=%s password=%s sslmode=verify-full sslrootcert=%s"
                               % (database.port, user, password, database.ca), statement],
                              capture_output=True, text=True, check=False, timeout=30)

    def serve(login):
        port = free_port()
        env = instance_env(venv, database, tmp_path, port, MLFLOW_DB_LOGIN=json.dumps(login))
        process = subprocess.Popen([str(entrypoint)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            assert wait_healthy(port, process), process.stdout.read().decode() if process.poll() is not None else "not healthy"
            server_env = {}
            for pid in process_tree(process.pid):
                try:
                    environ = Path("/proc/%d/environ" % pid).read_bytes().split(b"\0")
                except OSError:
                    continue
                wanted = (b"MLFLOW_BACKEND_STORE_URI=", b"MLFLOW_DB_LOGIN=", b"MLFLOW_DB_PASSWORD=")
                server_env.update(item.decode().split("=", 1) for item in environ if item.startswith(wanted))
            # A write through the server, as its login.
            api(port, "experiments/create", {"name": "as-%s" % login["username"]})
            return server_env
        finally:
            os.killpg(process.pid, 15)
            process.wait(timeout=30)

    # The master user is what RDS makes it: it may create roles, and is no superuser.
    master = subprocess.run([python, "-c", "import psycopg2, sys; c = psycopg2.connect(sys.argv[1]); cur = c.cursor(); "
                             "cur.execute('SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user'); print(cur.fetchone())",
                             "host=127.0.0.1 port=%d dbname=mlflow user=mlflow password=%s sslmode=verify-full sslrootcert=%s"
                             % (database.port, DB_PASSWORD, database.ca)], capture_output=True, text=True, check=False, timeout=30)
    assert master.stdout.strip() == "(False, True)", master.stderr
    first = {"username": "mlflow_server_a", "password": "Login-a-0001"}
    server_env = serve(first)
    # The server has its login's URI, and neither the owner's password nor the login secret.
    assert "//mlflow_server_a:Login-a-0001@" in server_env["MLFLOW_BACKEND_STORE_URI"]
    assert "MLFLOW_DB_LOGIN" not in server_env and "MLFLOW_DB_PASSWORD" not in server_env
    assert connect("mlflow_server_a", "Login-a-0001").returncode == 0
    # The login may not change the schema: the owner's tables stay the owner's.
    refused = connect("mlflow_server_a", "Login-a-0001", "DROP TABLE experiments CASCADE")
    assert refused.returncode != 0 and "must be owner" in refused.stderr
    # Rotation: the other user with a new password. The first keeps working for the instances
    # that still use it; the second works for the new ones.
    serve({"username": "mlflow_server_b", "password": "Login-b-0002"})
    assert connect("mlflow_server_a", "Login-a-0001").returncode == 0
    assert connect("mlflow_server_b", "Login-b-0002").returncode == 0
    # The owner is a login of its own, not the server's.
    code, output = run_entrypoint(entrypoint, instance_env(venv, database, tmp_path, free_port(),
                                                           MLFLOW_DB_LOGIN=json.dumps({"username": "mlflow", "password": "x"})), 120)
    assert code != 0 and "names the schema's owner mlflow" in output
    code, output = run_entrypoint(entrypoint, instance_env(venv, database, tmp_path, free_port(), MLFLOW_DB_LOGIN="not json"), 120)
    assert code != 0 and "MLFLOW_DB_LOGIN is not a JSON object with a username and a password" in output
    # A login goes with the URI the entrypoint builds from MLFLOW_DB_*, not with one given whole.
    code, output = run_entrypoint(entrypoint, instance_env(venv, database, tmp_path, free_port(), MLFLOW_DB_LOGIN=json.dumps(first),
                                                           MLFLOW_BACKEND_STORE_URI="postgresql://mlflow@127.0.0.1/mlflow"), 60)
    assert code != 0 and "MLFLOW_DB_LOGIN goes with MLFLOW_DB_HOST and the other MLFLOW_DB_* properties" in output

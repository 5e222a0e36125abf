"""MLflow's permission engine behind the auth layer, on a real server and PostgreSQL.

One instance (its entrypoint, behind the bundle's nginx as the load balancer reaches it) of a
bundle rendered with three users (alice an admin, bob and carol not) and
`bundle_default_permission: NO_PERMISSIONS`. alice makes an experiment, a run with an artifact and
a registered model with a version; bob is then given each permission in turn on them with the
mlflow_permissions module, and every route family is probed as bob, carol and alice: each cell
must be allowed (200) where the permission allows the call and denied (403, or left out of a
search's or GraphQL's answer) where it doesn't, and the probe fails on any cell that differs.
The module's own behaviour (check mode, diff, a re-run changing nothing, a
removed grant revoked, grants made through MLflow kept, bad input refused before any change) and
the refusal of MLflow's user-management routes are checked on the same server.
"""

import base64
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from support.ansible import ansible_playbook
from support.ebnginx import EBNginx, free_port
from support.instance import instance_env, wait_healthy
from support.postgres import ThrowawayPostgres
from support.servervenv import server_venv

PASSWORD = "p@ss:w/rd%?#-9Zx"
LOGIN = {"username": "mlflow_server_a", "password": "L0gin:p@ss/w%rd"}
USERS = [
    {"name": "alice", "password": "alice-Password-0001", "admin": True},
    {"name": "bob", "password": "bob-Password-000002"},
    {"name": "carol", "password": "carol-Password-0003"},
]
NAMES = [user["name"] for user in USERS]
EXPERIMENT, MODEL = "team-experiment", "team-model"
LEVELS = ["NONE", "READ", "USE", "EDIT", "MANAGE"]  # NONE: no grant (the default, NO_PERMISSIONS)

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the throwaway PostgreSQL runs as the postgres user"),
    pytest.mark.skipif(not Path("/usr/lib/postgresql").is_dir(), reason="PostgreSQL is installed by `make setup`"),
]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("permissions-bundle")
    result = ansible_playbook(
        "tests/support/playbooks/bundle.yml",
        {"bundle_build_dir": str(workdir / "build"), "bundle_users": USERS, "bundle_default_permission": "NO_PERMISSIONS"},
        workdir,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return workdir / "build" / "source"


class Server:
    def __init__(self, url, log):
        self.url, self.log = url, log
        self.password = {user["name"]: user["password"] for user in USERS}

    def call(self, user, method, path, body=None, params=None, data=None, headers=None):
        response = requests.request(
            method,
            self.url + path,
            json=body,
            params=params,
            data=data,
            headers=headers,
            auth=(user, self.password[user]) if user else None,
            timeout=30,
        )
        return response.status_code, response.text

    def ok(self, user, method, path, body=None, **kwargs):
        status, text = self.call(user, method, path, body, **kwargs)
        assert status == 200, "%s %s as %s: %d %s" % (method, path, user, status, text)
        return json.loads(text) if text.strip() else {}


@pytest.fixture(scope="module")
def server(bundle, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("permissions-server")
    venv = server_venv(bundle / "requirements.txt")
    database = ThrowawayPostgres().start()
    database.create_database("mlflow", "mlflow", PASSWORD)
    port = free_port()
    log = workdir / "instance.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [str(bundle / "mlflowops" / "entrypoint.sh")],
            env=instance_env(venv, database, workdir, port, PASSWORD, MLFLOW_DB_LOGIN=json.dumps(LOGIN)),
            cwd=workdir,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    nginx = None
    try:
        assert wait_healthy(port, process), log.read_text()
        # Through the bundle's nginx, as the load balancer reaches an instance.
        nginx = EBNginx(bundle.parent / "bundle.zip", port).start()
        server = Server(nginx.url, log)
        server.migrate_env = dict(
            instance_env(venv, database, workdir, port, PASSWORD),
            PYTHONPATH=str(bundle / "mlflowops" / "lib"),
            MLFLOW_BACKEND_STORE_URI="postgresql+psycopg2://mlflow:%s@127.0.0.1:%d/mlflow?sslmode=verify-full&sslrootcert=%s"
            % (quote(PASSWORD, safe=""), database.port, database.ca),
        )
        server.bundle = bundle
        server.database = database
        yield server
    finally:
        if nginx is not None:
            nginx.stop()
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        database.stop()


def run_module(server, workdir, grants, args=(), users=NAMES):
    """The mlflow_permissions module's result for these grants, run by alice (the play itself must
    succeed: it keeps the module's result, failed or not)."""
    result_file = workdir / "result.json"
    if result_file.exists():
        result_file.unlink()
    run = ansible_playbook(
        "tests/support/playbooks/mlflow_permissions.yml",
        {"url": server.url, "admin": "alice", "admin_password": server.password["alice"], "users": users, "grants": grants,
         "result_file": str(result_file)},
        workdir,
        args=list(args),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(result_file.read_text())


def converge(server, workdir, grants, check=False, users=NAMES):
    """The module's result for these grants (--diff, and --check when asked)."""
    return run_module(server, workdir, grants, ["--diff"] + (["--check"] if check else []), users)


def run_migrate(server, **env):
    """The bundle's start-up step (migrate.py) on the server's database, `env` over its environment."""
    return subprocess.run(["python3", str(server.bundle / "mlflowops" / "migrate.py")], env=dict(server.migrate_env, **env),
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def world(server):
    """What alice (an admin) made: the experiment, a run with an artifact, the model and a version."""
    experiment = server.ok("alice", "POST", "/api/2.0/mlflow/experiments/create", {"name": EXPERIMENT})["experiment_id"]
    run = server.ok("alice", "POST", "/api/2.0/mlflow/runs/create", {"experiment_id": experiment})["run"]["info"]["run_id"]
    server.ok("alice", "PUT", "/api/2.0/mlflow-artifacts/artifacts/%s/%s/artifacts/hello.txt" % (experiment, run), data=b"hello")
    server.ok("alice", "POST", "/api/2.0/mlflow/registered-models/create", {"name": MODEL})
    source = "mlflow-artifacts:/%s/%s/artifacts" % (experiment, run)
    server.ok("alice", "POST", "/api/2.0/mlflow/model-versions/create", {"name": MODEL, "source": source, "run_id": run})
    return {"experiment": experiment, "run": run, "source": source}


def fresh_run(server, world):
    return server.ok("alice", "POST", "/api/2.0/mlflow/runs/create", {"experiment_id": world["experiment"]})["run"]["info"]["run_id"]


def fresh_version(server, world):
    created = server.ok("alice", "POST", "/api/2.0/mlflow/model-versions/create", {"name": MODEL, "source": world["source"], "run_id": world["run"]})
    return created["model_version"]["version"]


def graphql(query):
    return {"query": query}


def otlp_span():
    """An OTLP export of one span, as an OpenTelemetry exporter sends it."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # pylint: disable=import-outside-toplevel

    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = os.urandom(16), os.urandom(8), "probe"
    span.start_time_unix_nano = time.time_ns()
    span.end_time_unix_nano = span.start_time_unix_nano + 1000
    return request.SerializeToString()


def without_carols_grant(server):
    """carol's direct grant on the model gone (alice revokes it; absent is fine), so granting it
    again is a new grant."""
    server.call("alice", "POST", "/api/3.0/mlflow/users/permissions/revoke",
                {"username": "carol", "resource_type": "registered_model", "resource_id": MODEL})


GET_EXPERIMENT = 'query { mlflowGetExperiment(input: {experimentId: "%s"}) { experiment { name } } }'
OTLP = "application/x-protobuf"
CAROL_READS_THE_MODEL = {"username": "carol", "resource_type": "registered_model", "resource_id": MODEL, "permission": "READ"}
# Each probe: (route family, the least permission that lets the call through, request maker). A
# request maker takes the server and alice's world and gives (method, path, keyword arguments).
PROBES = [
    ("experiments get", "READ", lambda s, w: ("GET", "/api/2.0/mlflow/experiments/get", {"params": {"experiment_id": w["experiment"]}})),
    ("experiments get (ajax)", "READ",
     lambda s, w: ("GET", "/ajax-api/2.0/mlflow/experiments/get", {"params": {"experiment_id": w["experiment"]}})),
    ("experiments get-by-name", "READ",
     lambda s, w: ("GET", "/api/2.0/mlflow/experiments/get-by-name", {"params": {"experiment_name": EXPERIMENT}})),
    ("experiments set-tag", "EDIT",
     lambda s, w: ("POST", "/api/2.0/mlflow/experiments/set-experiment-tag", {"body": {"experiment_id": w["experiment"], "key": "k", "value": "v"}})),
    ("runs get", "READ", lambda s, w: ("GET", "/api/2.0/mlflow/runs/get", {"params": {"run_id": w["run"]}})),
    ("runs search", "READ", lambda s, w: ("POST", "/api/2.0/mlflow/runs/search", {"body": {"experiment_ids": [w["experiment"]]}})),
    ("runs create", "EDIT", lambda s, w: ("POST", "/api/2.0/mlflow/runs/create", {"body": {"experiment_id": w["experiment"]}})),
    ("runs log-metric", "EDIT",
     lambda s, w: ("POST", "/api/2.0/mlflow/runs/log-metric", {"body": {"run_id": w["run"], "key": "m", "value": 1.0, "timestamp": 0, "step": 0}})),
    ("runs log-batch (ajax)", "EDIT",
     lambda s, w: ("POST", "/ajax-api/2.0/mlflow/runs/log-batch", {"body": {"run_id": w["run"], "params": [], "tags": [{"key": "t", "value": "v"}]}})),
    ("runs update", "EDIT", lambda s, w: ("POST", "/api/2.0/mlflow/runs/update", {"body": {"run_id": w["run"], "status": "RUNNING"}})),
    ("runs delete", "MANAGE", lambda s, w: ("POST", "/api/2.0/mlflow/runs/delete", {"body": {"run_id": fresh_run(s, w)}})),
    ("artifacts list", "READ",
     lambda s, w: ("GET", "/api/2.0/mlflow-artifacts/artifacts", {"params": {"path": "%s/%s/artifacts" % (w["experiment"], w["run"])}})),
    ("artifacts get", "READ",
     lambda s, w: ("GET", "/api/2.0/mlflow-artifacts/artifacts/%s/%s/artifacts/hello.txt" % (w["experiment"], w["run"]), {})),
    ("artifacts put", "EDIT",
     lambda s, w: ("PUT", "/api/2.0/mlflow-artifacts/artifacts/%s/%s/artifacts/more.txt" % (w["experiment"], w["run"]), {"data": b"more"})),
    ("registered-models get", "READ", lambda s, w: ("GET", "/api/2.0/mlflow/registered-models/get", {"params": {"name": MODEL}})),
    ("registered-models set-tag", "EDIT",
     lambda s, w: ("POST", "/api/2.0/mlflow/registered-models/set-tag", {"body": {"name": MODEL, "key": "k", "value": "v"}})),
    ("model-versions get", "READ", lambda s, w: ("GET", "/api/2.0/mlflow/model-versions/get", {"params": {"name": MODEL, "version": "1"}})),
    ("model-versions set-tag", "EDIT",
     lambda s, w: ("POST", "/api/2.0/mlflow/model-versions/set-tag", {"body": {"name": MODEL, "version": "1", "key": "k", "value": "v"}})),
    ("model-versions delete", "MANAGE",
     lambda s, w: ("DELETE", "/api/2.0/mlflow/model-versions/delete", {"body": {"name": MODEL, "version": fresh_version(s, w)}})),
    ("graphql get experiment", "READ",
     lambda s, w: ("POST", "/graphql", {"body": graphql(GET_EXPERIMENT % w["experiment"])})),
    ("traces (OTLP)", "EDIT",
     lambda s, w: ("POST", "/v1/traces", {"data": otlp_span(), "headers": {"Content-Type": OTLP, "X-Mlflow-Experiment-Id": w["experiment"]}})),
    ("grant on the model", "MANAGE",
     lambda s, w: without_carols_grant(s) or ("POST", "/api/3.0/mlflow/users/permissions/grant", {"body": CAROL_READS_THE_MODEL})),
]


def observe(server, world, user, probe):
    """"allowed", "denied", or what else the server answered. Searches and GraphQL answer 200
    either way, leaving out what the user may not read: there, seeing alice's run or experiment is
    the call being allowed."""
    _family, _least, make = probe
    method, path, options = make(server, world)
    status, text = server.call(user, method, path, **options)
    if status == 200 and path == "/graphql":
        return "allowed" if json.loads(text)["data"]["mlflowGetExperiment"] else "denied"
    if status == 200 and path.endswith("/runs/search"):
        return "allowed" if world["run"] in [run["info"]["run_id"] for run in json.loads(text).get("runs", [])] else "denied"
    if status in (200, 403):
        return {200: "allowed", 403: "denied"}[status]
    return "%d %s" % (status, text[:300])


def expected(level, least):
    return "allowed" if level != "NONE" and LEVELS.index(level) >= LEVELS.index(least) else "denied"


def test_each_permission_lets_exactly_its_calls_through_on_every_route_family(server, world, tmp_path):
    differences = []
    # carol has no grant (the default gives nothing); alice is an admin.
    for probe in PROBES:
        for user, want in (("carol", "denied"), ("alice", "allowed")):
            got = observe(server, world, user, probe)
            if got != want:
                differences.append("%s, %s: %s, expected %s" % (user, probe[0], got, want))
    for level in LEVELS:
        grants = [] if level == "NONE" else [
            {"user": "bob", "experiment": EXPERIMENT, "permission": level},
            {"user": "bob", "registered_model": MODEL, "permission": level},
        ]
        converge(server, tmp_path, grants)
        for probe in PROBES:
            got = observe(server, world, "bob", probe)
            want = expected(level, probe[1])
            if got != want:
                differences.append("bob with %s, %s: %s, expected %s" % (level, probe[0], got, want))
    assert not differences, "\n".join(differences)


def test_the_module_plans_in_check_mode_applies_once_and_then_changes_nothing(server, world, tmp_path):
    grants = [
        {"user": "bob", "experiment": EXPERIMENT, "permission": "EDIT"},
        {"user": "carol", "experiment": "made-by-the-inventory", "permission": "READ"},
        {"user": "carol", "registered_model": "model-made-by-the-inventory", "permission": "MANAGE"},
    ]
    planned = converge(server, tmp_path, grants, check=True)
    assert planned["changed"], planned
    assert sorted(planned["created"]) == ["experiment made-by-the-inventory", "registered_model model-made-by-the-inventory"]
    assert planned["diff"]["after"]["carol"] == {"experiment made-by-the-inventory": "READ", "registered_model model-made-by-the-inventory": "MANAGE"}
    # Check mode changed nothing: the experiment doesn't exist and carol can't read the model.
    assert server.call("alice", "GET", "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "made-by-the-inventory"})[0] == 404
    applied = converge(server, tmp_path, grants)
    assert applied["changed"] and sorted(applied["created"]) == sorted(planned["created"]), applied
    assert applied["diff"]["after"] == planned["diff"]["after"]
    assert server.call("carol", "GET", "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "made-by-the-inventory"})[0] == 200
    assert server.call("carol", "POST", "/api/2.0/mlflow/registered-models/set-tag",
                       {"name": "model-made-by-the-inventory", "key": "k", "value": "v"})[0] == 200
    again = converge(server, tmp_path, grants)
    assert not again["changed"] and again["changes"] == [] and again["created"] == [], again
    assert again["diff"]["before"] == again["diff"]["after"]


def test_a_removed_grant_is_revoked_and_grants_made_through_mlflow_are_kept(server, world, tmp_path):
    converge(server, tmp_path, [{"user": "bob", "experiment": EXPERIMENT, "permission": "EDIT"}])
    # bob creates an experiment (MLflow gives him MANAGE on it) and, as its manager, lets carol edit it.
    own = server.ok("bob", "POST", "/api/2.0/mlflow/experiments/create", {"name": "bobs-own"})["experiment_id"]
    server.ok("bob", "POST", "/api/3.0/mlflow/users/permissions/grant",
              {"username": "carol", "resource_type": "experiment", "resource_id": own, "permission": "EDIT"})
    tag = {"experiment_id": world["experiment"], "key": "k", "value": "v"}
    assert server.call("bob", "POST", "/api/2.0/mlflow/experiments/set-experiment-tag", tag)[0] == 200
    revoked = converge(server, tmp_path, [])
    assert revoked["changed"] and "delete_role bob" in revoked["changes"], revoked
    assert revoked["diff"]["before"]["bob"] == {"experiment %s" % EXPERIMENT: "EDIT"} and "bob" not in revoked["diff"]["after"]
    assert server.call("bob", "POST", "/api/2.0/mlflow/experiments/set-experiment-tag", tag)[0] == 403
    # What MLflow granted stays: bob still manages his experiment, carol still edits it.
    assert server.call("carol", "POST", "/api/2.0/mlflow/experiments/set-experiment-tag", dict(tag, experiment_id=own))[0] == 200
    assert server.call("bob", "POST", "/api/2.0/mlflow/experiments/delete", {"experiment_id": own})[0] == 200
    assert not converge(server, tmp_path, [])["changed"]


def auth_sql(server, statement):
    """A statement on the user store, committed on a connection of its own: what another instance
    (or the start-up step) writing to the store looks like to this one."""
    return server.database.sql(statement, database="mlflow_auth").strip()


def store_version(server):
    return int(auth_sql(server, "SELECT version FROM mlflowops_auth_version"))


def test_a_grant_revoked_through_another_instance_fails_the_very_next_request(server, world, tmp_path):
    """The server keeps the engine's reads of the user store while the store's version stands; a
    revocation committed anywhere moves it in the same transaction, so the next request asks the
    store again: no request after the commit is let through on the old grant."""
    converge(server, tmp_path, [{"user": "bob", "experiment": EXPERIMENT, "permission": "EDIT"}])
    tag = {"experiment_id": world["experiment"], "key": "kept", "value": "v"}
    for _attempt in range(3):  # the grant is kept by now
        assert server.call("bob", "POST", "/api/2.0/mlflow/experiments/set-experiment-tag", tag)[0] == 200
    auth_sql(server, "DELETE FROM user_role_assignments WHERE role_id IN (SELECT id FROM roles WHERE name = 'mlflowops-grants-bob')")
    assert server.call("bob", "POST", "/api/2.0/mlflow/experiments/set-experiment-tag", tag)[0] == 403
    assert server.call("bob", "GET", "/api/2.0/mlflow/experiments/get", params={"experiment_id": world["experiment"]})[0] == 403
    # Given back elsewhere: the next request has it again.
    converge(server, tmp_path, [])
    converge(server, tmp_path, [{"user": "bob", "experiment": EXPERIMENT, "permission": "READ"}])
    assert server.call("bob", "GET", "/api/2.0/mlflow/experiments/get", params={"experiment_id": world["experiment"]})[0] == 200
    converge(server, tmp_path, [])


def test_while_the_user_store_is_unchanged_the_engine_does_not_read_it(server, world, tmp_path):
    """Proof that the kept reads are used, and dropped on a change: with the store's tables out of
    reach (renamed, which moves no version), kept answers still decide; any statement that
    writes to the store moves the version, and the next request must read the store again."""
    converge(server, tmp_path, [{"user": "bob", "experiment": EXPERIMENT, "permission": "EDIT"}])
    tag = {"experiment_id": world["experiment"], "key": "kept", "value": "v"}
    for user in ("bob", "bob", "alice", "alice"):
        assert server.call(user, "POST", "/api/2.0/mlflow/experiments/set-experiment-tag", tag)[0] == 200
    auth_sql(server, "ALTER TABLE users RENAME TO users_away; ALTER TABLE role_permissions RENAME TO role_permissions_away")
    try:
        assert server.call("bob", "POST", "/api/2.0/mlflow/experiments/set-experiment-tag", tag)[0] == 200
        assert server.call("alice", "POST", "/api/2.0/mlflow/experiments/set-experiment-tag", tag)[0] == 200
        before = store_version(server)
        auth_sql(server, "DELETE FROM user_role_assignments WHERE false")  # changes no row, still a write
        assert store_version(server) == before + 1
        status, text = server.call("bob", "POST", "/api/2.0/mlflow/experiments/set-experiment-tag", tag)
        assert status != 200 and 'relation \\"users\\" does not exist' in text, (status, text)
    finally:
        auth_sql(server, "ALTER TABLE users_away RENAME TO users; ALTER TABLE role_permissions_away RENAME TO role_permissions")
    assert server.call("bob", "POST", "/api/2.0/mlflow/experiments/set-experiment-tag", tag)[0] == 200
    converge(server, tmp_path, [])


def test_every_table_of_the_user_store_moves_its_version_and_a_new_table_is_covered_at_start_up(server, world):
    tables = auth_sql(server, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                              "AND tablename <> 'mlflowops_auth_version' ORDER BY 1").split()
    assert {"users", "roles", "role_permissions", "user_role_assignments", "alembic_version_auth"} <= set(tables), tables
    for table in tables:
        before = store_version(server)
        auth_sql(server, 'DELETE FROM "%s" WHERE false' % table)
        assert store_version(server) == before + 1, table
    # A table a newer MLflow's migration adds: the start-up step, which runs after migrations,
    # covers it; run again, it has nothing to add.
    auth_sql(server, "CREATE TABLE newer_mlflow_table (id integer); ALTER TABLE newer_mlflow_table OWNER TO mlflow")
    try:
        as_bundled = {"MLFLOWOPS_USERS_FILE": str(server.bundle / "mlflowops" / "htpasswd"), "MLFLOWOPS_ADMINS": "alice"}
        run = run_migrate(server, **as_bundled)
        assert run.returncode == 0 and "its version now follows changes to newer_mlflow_table" in run.stderr, run.stderr
        for statement in ("INSERT INTO newer_mlflow_table VALUES (1)", "UPDATE newer_mlflow_table SET id = 2", "TRUNCATE newer_mlflow_table"):
            before = store_version(server)
            auth_sql(server, statement)
            assert store_version(server) == before + 1, statement
        run = run_migrate(server, **as_bundled)
        assert run.returncode == 0 and "its version now follows" not in run.stderr, run.stderr
    finally:
        auth_sql(server, "DROP TABLE newer_mlflow_table")


@pytest.mark.parametrize("grant, message", [
    ({"user": "mallory", "experiment": EXPERIMENT, "permission": "READ"}, "names user 'mallory', who is not in the users list"),
    ({"user": "bob", "experiment": EXPERIMENT, "permission": "OWNER"}, "permission must be one of READ, USE, EDIT, MANAGE, not 'OWNER'"),
    ({"user": "bob", "experiment": EXPERIMENT, "registered_model": MODEL, "permission": "READ"}, "must name exactly one of experiment, registered_model"),
    ({"user": "bob", "permission": "READ"}, "must name exactly one of experiment, registered_model"),
    ({"user": "bob", "experiments": EXPERIMENT, "permission": "READ"}, "has unknown keys: experiments"),
])
def test_a_bad_grant_is_refused_before_anything_changes(server, world, tmp_path, grant, message):
    good = {"user": "carol", "experiment": "never-created", "permission": "READ"}
    result = run_module(server, tmp_path, [good, grant])
    assert result["failed"], result
    assert "nothing was changed" in result["msg"] and "grants[1]" in result["msg"] and message in result["msg"], result["msg"]
    assert server.call("alice", "GET", "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "never-created"})[0] == 404


def test_mlflows_user_management_is_closed_to_everyone_even_admins(server):
    attempts = [
        ("POST", "/api/2.0/mlflow/users/create", {"username": "eve", "password": "eve-Password-00001"}),
        ("POST", "/ajax-api/2.0/mlflow/users/create", {"username": "eve", "password": "eve-Password-00001"}),
        ("PATCH", "/api/2.0/mlflow/users/update-password", {"username": "bob", "password": "bob-Password-99999"}),
        ("PATCH", "/api/2.0/mlflow/users/update-admin", {"username": "bob", "is_admin": True}),
        ("DELETE", "/api/2.0/mlflow/users/delete", {"username": "carol"}),
        ("DELETE", "//api/2.0/mlflow/users/delete/", {"username": "carol"}),
        ("GET", "/signup", None),
    ]
    for user in ("alice", "bob"):
        for method, path, body in attempts:
            status, text = server.call(user, method, path, body)
            assert status == 403 and "managed by the deployment's inventory" in text, (user, method, path, status, text)
    # Nothing changed: bob is no admin, carol still exists, eve doesn't.
    assert server.ok("alice", "GET", "/api/2.0/mlflow/users/get", params={"username": "bob"})["user"]["is_admin"] is False
    assert server.call("alice", "GET", "/api/2.0/mlflow/users/get", params={"username": "carol"})[0] == 200
    assert server.call("alice", "GET", "/api/2.0/mlflow/users/get", params={"username": "eve"})[0] == 404


def test_a_header_naming_another_user_with_the_layers_word_for_it_gets_nowhere(server):
    """What the layer writes for MLflow can't be forged: a client sending Basic base64(alice:<anything>)
    is checked against alice's password, and its header never reaches MLflow."""
    forged = "Basic " + base64.b64encode(b"alice:not-the-process-token").decode()
    response = requests.get(server.url + "/api/2.0/mlflow/experiments/search", params={"max_results": 1},
                            headers={"Authorization": forged}, timeout=30)
    assert response.status_code == 401
    # bob's credentials with an extra X-Mlflow-Authorization naming alice: still bob.
    status, _text = server.call("bob", "GET", "/api/2.0/mlflow/users/get", params={"username": "alice"},
                                headers={"X-Mlflow-Authorization": forged})
    assert status == 403


def test_the_start_up_step_makes_mlflows_users_match_the_users_file(server, world, tmp_path):
    """A user dropped from the users file loses its MLflow record and grants; the admins are those
    MLFLOWOPS_ADMINS names. (Each instance's migration step does this under the lock.)"""
    converge(server, tmp_path, [{"user": "carol", "experiment": EXPERIMENT, "permission": "READ"}])
    users_file = server.bundle / "mlflowops" / "htpasswd"
    without_carol = tmp_path / "htpasswd"
    without_carol.write_text("".join(line + "\n" for line in users_file.read_text().splitlines() if not line.startswith("carol:")))

    def migrate(users, admins):
        run = run_migrate(server, MLFLOWOPS_USERS_FILE=str(users), MLFLOWOPS_ADMINS=admins)
        assert run.returncode == 0, run.stdout + run.stderr
        return run.stderr

    output = migrate(without_carol, "alice,bob")
    assert "user store: removed carol and its grants" in output and "user store: bob is now an admin" in output, output
    assert server.call("alice", "GET", "/api/2.0/mlflow/users/get", params={"username": "carol"})[0] == 404
    assert server.ok("alice", "GET", "/api/2.0/mlflow/users/get", params={"username": "bob"})["user"]["is_admin"] is True
    assert PASSWORD not in output
    # The inventory's grants role of a removed user goes with the next convergence.
    assert "delete_role carol" in converge(server, tmp_path, [])["changes"]
    # Back as the bundle has it; a user named as admin but missing from the file is refused.
    output = migrate(users_file, "alice")
    assert "user store: added carol" in output and "user store: bob is no longer an admin" in output, output
    run = run_migrate(server, MLFLOWOPS_USERS_FILE=str(without_carol), MLFLOWOPS_ADMINS="carol")
    assert run.returncode == 1 and "MLFLOWOPS_ADMINS must name at least one user of the users file" in run.stderr, run.stderr
    assert server.call("alice", "GET", "/api/2.0/mlflow/users/get", params={"username": "carol"})[0] == 200


def test_a_user_store_migrated_by_a_newer_mlflow_is_refused_like_the_tracking_schema(server, world):
    """After an upgrade, an older MLflow must not start on the user store a newer one migrated: the
    way back is the snapshot taken before the upgrade, which holds both databases."""
    current = server.database.sql("SELECT version_num FROM alembic_version_auth", database="mlflow_auth").strip()
    server.database.sql("UPDATE alembic_version_auth SET version_num = 'f00df00df00d'", database="mlflow_auth")
    try:
        run = run_migrate(server)
        assert run.returncode == 1, run.stderr
        assert "the user store's schema is at revision f00df00df00d, which MLflow 3.17.2 does not know" in run.stderr, run.stderr
        assert "restore the snapshot taken before the upgrade" in run.stderr
    finally:
        server.database.sql("UPDATE alembic_version_auth SET version_num = '%s'" % current, database="mlflow_auth")


def test_a_grant_on_a_deleted_experiment_is_refused_before_anything_is_created(server, world, tmp_path):
    gone = server.ok("alice", "POST", "/api/2.0/mlflow/experiments/create", {"name": "gone-experiment"})["experiment_id"]
    server.ok("alice", "POST", "/api/2.0/mlflow/experiments/delete", {"experiment_id": gone})
    grants = [{"user": "carol", "experiment": "not-yet-there", "permission": "READ"},
              {"user": "bob", "experiment": "gone-experiment", "permission": "EDIT"}]
    result = run_module(server, tmp_path, grants)
    assert result["failed"], result
    assert "nothing was changed" in result["msg"] and "experiment 'gone-experiment' is deleted" in result["msg"], result["msg"]
    assert server.call("alice", "GET", "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "not-yet-there"})[0] == 404


def test_an_owner_who_may_not_create_the_user_stores_database_gets_a_clear_error(server, tmp_path):
    """An external database's owner without CREATEDB: the start-up step says what to do."""
    server.database.sql("CREATE ROLE plainowner LOGIN PASSWORD 'plain-Password-01'")
    server.database.sql("CREATE DATABASE plain OWNER plainowner")
    uri = server.migrate_env["MLFLOW_BACKEND_STORE_URI"].replace("mlflow:%s@" % quote(PASSWORD, safe=""), "plainowner:plain-Password-01@")
    uri = uri.replace("/mlflow?", "/plain?")
    run = run_migrate(server, MLFLOW_BACKEND_STORE_URI=uri)
    assert run.returncode == 1, run.stderr
    assert "MLflow's user store needs the database plain_auth beside the tracking one, and plainowner may not create it" in run.stderr
    assert "give the user CREATEDB, or name another database in MLFLOWOPS_AUTH_STORE_URI" in run.stderr
    assert "plain-Password-01" not in run.stderr

"""Security probes through the whole stack: the collection's bundle on the local cloud, reached
as a client reaches it (the HTTPS front door, two instances, MLflow on PostgreSQL). Each test
makes the attack and checks that it fails; the same attacks on one instance (the bundle's nginx and its
auth layer around a stand-in for MLflow) are in
tests/bundle/test_instance_auth.py.
"""

import base64
import http.client
import os
import re
import ssl
import stat
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from support.cloud import launch_mlflow, print_events
from support.probes import BAD_CREDENTIAL_IDS, BAD_CREDENTIALS, METHODS, PROTECTED, basic, send

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the bundle's hooks install the users file as root, as on EB")
INSECURE = ssl._create_unverified_context()  # the front door's certificate is self-signed
NAME = "mlflow-probes"
WRONG = "probe-Wrong-Password-7731"
SEARCH = "/api/2.0/mlflow/experiments/search?max_results=1"


@pytest.fixture(scope="module")
def stack(local_cloud, rendered_bundle):
    local_cloud.reset()
    # As on AWS, MLflow answers only the name it is reached by (the hostname, here the local one).
    env = launch_mlflow(local_cloud, rendered_bundle["zip"], name=NAME, properties={"MLFLOW_ALLOWED_HOSTS": "localhost,localhost:*"})
    root = local_cloud.state_dir / "envs" / env["EnvironmentId"]
    assert root.is_dir(), root
    yield {"env": env, "cname": env["CNAME"], "https_port": int(env["CNAME"].split(":")[1]),
           "http_port": int(env["EndpointURL"].split(":")[1]), "root": root, "users": rendered_bundle["users"]}
    print_events(local_cloud, NAME)
    local_cloud.reset()


def request(port, path, headers=None, host=None, tls=True, method="GET"):
    if tls:
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=INSECURE)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    return send(connection, path, host or "localhost:%d" % port, headers, method)


def instance_ports(stack):
    """Each instance's own nginx: where the load balancer's health checks go, over plain HTTP."""
    ports = []
    for conf in sorted(stack["root"].glob("instances/*/nginx/nginx.conf")):
        ports.append(int(re.search(r"listen [0-9.]+:(\d+) default_server", conf.read_text()).group(1)))
    assert len(ports) == 2
    return ports


def assert_refused(status, body, allowed=(400, 401)):
    assert status in allowed, (status, body[:300])
    assert b"Traceback" not in body and b"nginx/" not in body and b"psycopg2" not in body


def test_the_right_credentials_get_in(stack):
    alice = stack["users"][0]
    assert request(stack["https_port"], SEARCH, basic(alice["name"], alice["password"]))[0] == 200
    assert request(stack["https_port"], "/health")[0] == 200


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("path", PROTECTED)
def test_every_path_but_health_needs_credentials(stack, path, method):
    status, body, response = request(stack["https_port"], path, method=method)
    assert_refused(status, body)
    if status == 401:
        assert response.getheader("WWW-Authenticate") == 'Basic realm="MLflow"'


@pytest.mark.parametrize("headers", BAD_CREDENTIALS, ids=BAD_CREDENTIAL_IDS)
def test_bad_credentials_are_refused(stack, headers):
    status, body, _response = request(stack["https_port"], SEARCH, headers)
    assert_refused(status, body, allowed=(401,))


def test_a_100_kb_header_is_refused_without_a_server_error(stack):
    status, body, _response = request(stack["https_port"], SEARCH, {"Authorization": "Basic " + "A" * 100_000})
    assert_refused(status, body, allowed=(400, 401, 431, 494))


def test_a_host_header_not_allowed_is_refused_even_with_credentials(stack):
    alice = stack["users"][0]
    credentials = basic(alice["name"], alice["password"])
    assert request(stack["https_port"], SEARCH, credentials, host=stack["cname"])[0] == 200
    for host in ("evil.example.com", "mlflow.attacker.test:443"):
        status, body, _response = request(stack["https_port"], SEARCH, credentials, host=host)
        assert_refused(status, body, allowed=(400, 403))


@pytest.mark.parametrize("path", ["/", SEARCH, "/graphql", "/health"])
def test_plain_http_is_redirected_to_https(stack, path):
    status, _body, response = request(stack["http_port"], path, tls=False)
    assert status == 301
    assert response.getheader("Location") == "https://localhost:%d%s" % (stack["https_port"], path)


def test_health_checks_reach_each_instance_over_plain_http_and_nothing_else_does(stack):
    for port in instance_ports(stack):
        assert request(port, "/health", tls=False)[0] == 200
        status, body, _response = request(port, SEARCH, tls=False)
        assert_refused(status, body, allowed=(401,))


def test_the_users_file_on_disk_is_not_world_readable(stack):
    # In each instance's bundle and its image (what the container's /opt/mlflowops holds).
    files = sorted(stack["root"].glob("instances/*/current/mlflowops/htpasswd")) + sorted(stack["root"].glob("instances/*/image/opt/mlflowops/htpasswd"))
    assert len(files) == 4, files
    for users_file in files:
        assert users_file.stat().st_mode & 0o007 == 0, oct(users_file.stat().st_mode)
        # The attack: an unprivileged local user tries to read the hashes.
        attempt = subprocess.run(["runuser", "-u", "nobody", "--", "cat", str(users_file)], capture_output=True, text=True, check=False)
        assert attempt.returncode != 0 and "$2b$" not in attempt.stdout


# Run as the server's own account: read the users file, then try to change it every way a file can be.
REWRITE_ATTEMPTS = r"""
import os, sys
path = sys.argv[1]
assert "$2b$" in open(path).read()
attempts = {
    "chmod": lambda: os.chmod(path, 0o660),
    "append": lambda: open(path, "a").write("eve:$2b$10$" + "x" * 53 + "\n"),
    "replace": lambda: (open(path + ".new", "w").write("eve:x\n"), os.replace(path + ".new", path)),
    "unlink": lambda: os.unlink(path),
}
for name, attempt in attempts.items():
    try:
        attempt()
        print(name, "done")
    except PermissionError:
        print(name, "refused")
"""


def process_ids(pid):
    status = Path("/proc/%d/status" % pid).read_text()
    uid, gid = (int(re.search(r"^%s:\s+(\d+)" % key, status, re.M).group(1)) for key in ("Uid", "Gid"))
    return uid, gid, re.search(r"^Groups:(.*)$", status, re.M).group(1).split()


def test_the_server_runs_unprivileged_and_cannot_change_its_users_file(stack):
    instances = sorted(stack["root"].glob("instances/*/app.pid"))
    assert len(instances) == 2
    for pid_file in instances:
        pid = int(pid_file.read_text())
        uid, gid, groups = process_ids(pid)
        assert uid != 0 and gid != 0 and "0" not in groups, (uid, gid, groups)
        users_file = pid_file.parent / "image" / "opt" / "mlflowops" / "htpasswd"
        info = users_file.stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, gid, 0o440)
        before = users_file.read_bytes()
        server_python = os.readlink("/proc/%d/exe" % pid)  # the server's own interpreter
        attack = subprocess.run([server_python, "-c", REWRITE_ATTEMPTS, str(users_file)], user=uid, group=gid, extra_groups=[],
                                capture_output=True, text=True, check=False, timeout=30)
        assert attack.returncode == 0, attack.stderr
        assert attack.stdout.split("\n")[:-1] == ["chmod refused", "append refused", "replace refused", "unlink refused"]
        assert users_file.read_bytes() == before


def test_every_database_connection_of_the_servers_is_encrypted(stack, local_cloud):
    alice = stack["users"][0]
    assert request(stack["https_port"], SEARCH, basic(alice["name"], alice["password"]))[0] == 200
    rows = local_cloud.cli("sql", "postgres", "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                                              "WHERE a.usename = 'mlflow' AND a.client_addr IS NOT NULL").stdout.split()
    assert rows and set(rows) == {"t"}, rows


def test_no_credential_appears_in_any_log(stack, local_cloud):
    alice = stack["users"][0]
    for headers in (basic(alice["name"], alice["password"]), basic(alice["name"], WRONG), basic("carol", WRONG)):
        request(stack["https_port"], SEARCH, headers)
        request(stack["http_port"], SEARCH, headers, tls=False)
    # The database password as given and as it sits inside a URI.
    secrets = [alice["password"], WRONG, "Db-pass:/@-0001", quote("Db-pass:/@-0001", safe="")]
    secrets += [base64.b64encode(("%s:%s" % (user, WRONG)).encode()).decode() for user in (alice["name"], "carol")]
    secrets.append(base64.b64encode(("%s:%s" % (alice["name"], alice["password"])).encode()).decode())
    scanned = 0
    for path in local_cloud.state_dir.rglob("*"):
        if not path.is_file() or "postgres/data" in str(path) or path.suffix in (".pem", ".key"):
            continue
        data = path.read_bytes()
        scanned += 1
        for secret in secrets:
            assert secret.encode() not in data, "a credential is written in %s" % path
    assert scanned > 10

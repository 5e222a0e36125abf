"""One instance as the bundle lays it out: its nginx snippets in a real nginx laid out like EB's,
in front of its auth layer in uvicorn around a stand-in for MLflow. The attack attempts fail."""

import http.client
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from localcloud.procs import free_port, http_status, stop_group, wait_until
from support.ebnginx import EBNginx
from support.probes import BAD_CREDENTIAL_IDS, BAD_CREDENTIALS, PROTECTED, basic, send
from support.servervenv import server_venv

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is installed by `make setup`")

SUPPORT = Path(__file__).resolve().parent.parent / "support"


@pytest.fixture(scope="module")
def front(rendered_bundle):
    venv = server_venv(rendered_bundle["source"] / "requirements.txt")
    port = free_port()
    env = dict(os.environ, PYTHONPATH="%s:%s" % (rendered_bundle["source"] / "mlflowops" / "lib", SUPPORT),
               MLFLOWOPS_USERS_FILE=str(rendered_bundle["source"] / "mlflowops" / "htpasswd"))
    app = subprocess.Popen(  # pylint: disable=consider-using-with
        [str(venv / "bin" / "python"), "-m", "uvicorn", "--factory", "standin_app:create", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log"], env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=sys.stderr)
    instance = EBNginx(rendered_bundle["zip"], port)
    instance.run_hooks("hooks", "predeploy")
    instance.start()
    try:
        assert wait_until(lambda: http_status(instance.url + "/health") == 200, 60, 0.2), "the stand-in did not start"
        yield instance
    finally:
        instance.stop()
        stop_group(app)


def request(front, path, headers=None, method="GET"):
    connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    return send(connection, path, "mlflow.example.com", headers, method)


def seen(front, rendered_bundle):
    """How many requests reached the stand-in for MLflow."""
    user = rendered_bundle["users"][0]
    status, body = request(front, "/_seen", basic(user["name"], user["password"]))[:2]
    assert status == 200
    return int(body)


def test_credentials_open_the_door(front, rendered_bundle):
    for user in rendered_bundle["users"]:
        status, body, _response = request(front, "/api/2.0/mlflow/experiments/search", basic(user["name"], user["password"]))
        assert status == 200
        assert body == b"upstream:/api/2.0/mlflow/experiments/search"


@pytest.mark.parametrize("path", PROTECTED)
def test_every_path_but_health_needs_credentials(front, rendered_bundle, path):
    before = seen(front, rendered_bundle)
    status, body, response = request(front, path)
    assert status in (400, 401), (path, status, body)
    if status == 401:
        assert response.getheader("WWW-Authenticate") == 'Basic realm="MLflow"'
    assert seen(front, rendered_bundle) == before, "nothing may reach MLflow without credentials"
    assert b"nginx/" not in body, "the server must not reveal its version"


@pytest.mark.parametrize("headers", BAD_CREDENTIALS, ids=BAD_CREDENTIAL_IDS)
def test_bad_credentials_are_refused(front, headers):
    status = request(front, "/api/2.0/mlflow/experiments/search", headers)[0]
    assert status == 401


def test_huge_header_is_refused_without_reaching_mlflow(front, rendered_bundle):
    before = seen(front, rendered_bundle)
    status, body = request(front, "/", {"Authorization": "Basic " + "A" * 100_000})[:2]
    assert status in (400, 401, 431, 494), status
    assert seen(front, rendered_bundle) == before
    assert b"Traceback" not in body


def test_health_is_open_and_reaches_only_mlflows_health(front):
    for path in ("/health", "/health?probe=elb"):
        status, body = request(front, path)[:2]
        assert status == 200 and body == b"OK"

"""The bundle's nginx snippets in a real nginx laid out like EB's: the attack attempts fail."""

import http.client
import os
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from support.ebnginx import EBNginx
from support.probes import BAD_CREDENTIAL_IDS, BAD_CREDENTIALS, PROTECTED, basic, send

pytestmark = [
    pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is installed by `make setup`"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the platform hooks run as root, as on EB"),
]


class Upstream(BaseHTTPRequestHandler):
    """Stands in for MLflow: records what reaches it."""

    seen = []

    def do_GET(self):  # noqa: N802 (http.server's naming)
        Upstream.seen.append((self.path, self.headers.get("Authorization")))
        body = b"OK" if self.path.split("?")[0] == "/health" else ("upstream:" + self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def front(rendered_bundle):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    instance = EBNginx(rendered_bundle["zip"], server.server_address[1])
    instance.run_hooks("hooks", "predeploy")
    instance.start()
    yield instance
    instance.stop()
    server.shutdown()


def request(front, path, headers=None, method="GET"):
    connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    return send(connection, path, "mlflow.example.com", headers, method)


def test_credentials_open_the_door(front, rendered_bundle):
    for user in rendered_bundle["users"]:
        status, body, _response = request(front, "/api/2.0/mlflow/experiments/search", basic(user["name"], user["password"]))
        assert status == 200
        assert body == b"upstream:/api/2.0/mlflow/experiments/search"


@pytest.mark.parametrize("path", PROTECTED)
def test_every_path_but_health_needs_credentials(front, path):
    before = len(Upstream.seen)
    status, body, response = request(front, path)
    assert status in (400, 401), (path, status, body)
    if status == 401:
        assert response.getheader("WWW-Authenticate") == 'Basic realm="MLflow"'
    assert len(Upstream.seen) == before, "nothing may reach MLflow without credentials"
    assert b"nginx/" not in body, "the server must not reveal its version"


@pytest.mark.parametrize("headers", BAD_CREDENTIALS, ids=BAD_CREDENTIAL_IDS)
def test_bad_credentials_are_refused(front, headers):
    status = request(front, "/api/2.0/mlflow/experiments/search", headers)[0]
    assert status == 401


def test_huge_header_is_refused_without_reaching_mlflow(front):
    before = len(Upstream.seen)
    status, body = request(front, "/", {"Authorization": "Basic " + "A" * 100_000})[:2]
    assert status in (400, 401, 431, 494), status
    assert len(Upstream.seen) == before
    assert b"Traceback" not in body


def test_health_is_open_and_reaches_only_mlflows_health(front):
    for path in ("/health", "/health?probe=elb"):
        Upstream.seen.clear()
        status, body = request(front, path)[:2]
        assert status == 200 and body == b"OK"
        assert Upstream.seen and Upstream.seen[0][0].startswith("/health")


def test_users_file_is_root_owned_and_unreadable_by_others(front):
    users_file = front.root / "mlflowops" / "htpasswd"
    info = users_file.stat()
    assert info.st_uid == 0
    assert info.st_mode & 0o777 == 0o640
    # The attack: an unprivileged local user tries to read the hashes.
    attempt = subprocess.run(["runuser", "-u", "nobody", "--", "cat", str(users_file)], capture_output=True, text=True, check=False)
    assert attempt.returncode != 0 and "$2b$" not in attempt.stdout


def test_confighooks_install_the_same_file(front, rendered_bundle):
    users_file = front.root / "mlflowops" / "htpasswd"
    users_file.unlink()
    front.run_hooks("confighooks", "predeploy")
    assert users_file.read_bytes() == (rendered_bundle["source"] / ".platform" / "mlflowops" / "htpasswd").read_bytes()
    assert users_file.stat().st_mode & 0o777 == 0o640

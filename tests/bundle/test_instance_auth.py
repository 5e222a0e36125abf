"""One instance as the bundle lays it out: its nginx snippets in a real nginx laid out like EB's,
in front of its auth layer in uvicorn around a stand-in for MLflow. The attack attempts fail."""

import base64
import contextlib
import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from localcloud.procs import free_port, http_status, stop_group, wait_until
from support.ebnginx import EBNginx
from support.probes import BAD_CREDENTIAL_IDS, BAD_CREDENTIALS, METHODS, PROTECTED, basic, send
from support.servervenv import server_venv

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is installed by `make setup`")

SUPPORT = Path(__file__).resolve().parent.parent / "support"


@contextlib.contextmanager
def standin_instance(rendered_bundle, **env):
    """The stand-in app (its own process, nobody logged in yet) behind one instance's nginx."""
    venv = server_venv(rendered_bundle["source"] / "requirements.txt")
    port = free_port()
    env = dict(os.environ, PYTHONPATH="%s:%s" % (rendered_bundle["source"] / "mlflowops" / "lib", SUPPORT),
               MLFLOWOPS_USERS_FILE=str(rendered_bundle["source"] / "mlflowops" / "htpasswd"), **env)
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


@pytest.fixture(scope="module")
def front(rendered_bundle):
    with standin_instance(rendered_bundle) as instance:
        yield instance


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


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("path", PROTECTED)
def test_every_path_but_health_needs_credentials(front, rendered_bundle, path, method):
    before = seen(front, rendered_bundle)
    status, body, response = request(front, path, method=method)
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


def test_a_5_kb_header_passes_nginx_and_gets_the_auth_layers_401(front, rendered_bundle):
    before = seen(front, rendered_bundle)
    value = "Basic " + base64.b64encode(b"alice:" + b"p" * 3800).decode()
    assert 5000 <= len(value) < 8192  # below nginx's large_client_header_buffers (8k)
    status, body, response = request(front, "/api/2.0/mlflow/experiments/search", {"Authorization": value})
    assert status == 401 and body.startswith(b"401 Unauthorized: credentials are needed"), (status, body[:200])
    assert response.getheader("WWW-Authenticate") == 'Basic realm="MLflow"'
    assert seen(front, rendered_bundle) == before


def test_health_is_open_and_reaches_only_mlflows_health(front):
    for path in ("/health", "/health?probe=elb"):
        status, body = request(front, path)[:2]
        assert status == 200 and body == b"OK"


@pytest.fixture
def fresh_front(rendered_bundle):
    """Its own stand-in, nobody logged in yet; nginx is the only proxy here, so the client address
    is the last X-Forwarded-For entry."""
    with standin_instance(rendered_bundle, MLFLOWOPS_TRUSTED_PROXIES="1") as instance:
        yield instance


def timed(front, source, headers):
    """(status, seconds) of one request from the loopback address `source`."""
    connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=30, source_address=(source, 0))
    began = time.perf_counter()
    status = send(connection, "/api/2.0/mlflow/experiments/search", "mlflow.example.com", headers)[0]
    return status, time.perf_counter() - began


def test_a_flood_of_guesses_from_one_address_leaves_first_logins_from_another_unhurt(fresh_front, rendered_bundle):
    """1,000 distinct wrong guesses from 127.0.0.2 (each claiming another X-Forwarded-For), while
    127.0.0.3 logs in for the first time and a user logged in before keeps working."""
    alice, bob = rendered_bundle["users"]
    assert timed(fresh_front, "127.0.0.4", basic(alice["name"], alice["password"]))[0] == 200
    one_check = hash_check_seconds(rendered_bundle)
    answers = []

    def guess(number):
        headers = dict(basic(alice["name"], "guess-%05d-Password" % number), **{"X-Forwarded-For": "10.%d.%d.1" % (number // 250, number % 250)})
        status = timed(fresh_front, "127.0.0.2", headers)[0]
        answers.append((status, time.perf_counter()))

    with ThreadPoolExecutor(max_workers=16) as pool:
        for number in range(1000):
            pool.submit(guess, number)
        began = time.perf_counter()
        first_login = timed(fresh_front, "127.0.0.3", basic(bob["name"], bob["password"]))
        logged_in = timed(fresh_front, "127.0.0.4", basic(alice["name"], alice["password"]))
    statuses = [status for status, _at in answers]
    assert len(statuses) == 1000 and max(at for _status, at in answers) > began, "the logins were made during the flood"
    assert first_login[0] == 200 and first_login[1] < one_check + 1.0, first_login
    assert logged_in[0] == 200 and logged_in[1] < 1.0, logged_in
    # Spoofed X-Forwarded-For entries did not buy more guesses: nearly all were refused unchecked.
    assert set(statuses) == {401, 429} and statuses.count(429) >= 980, {status: statuses.count(status) for status in set(statuses)}


def hash_check_seconds(rendered_bundle):
    """How long one check of a users-file hash takes here."""
    from passlib.context import CryptContext  # pylint: disable=import-outside-toplevel

    hashed = (rendered_bundle["source"] / "mlflowops" / "htpasswd").read_text().splitlines()[0].split(":", 1)[1]
    began = time.perf_counter()
    CryptContext(schemes=["bcrypt"]).verify("not the password", hashed)
    return time.perf_counter() - began


def post_without_reading(front, length, headers, chunk=b"\0" * (1 << 20)):
    """POSTs a body of `length` bytes, sending it only while no answer has come; returns the status,
    the seconds to it, the bytes sent by then and whether nginx stored any body meanwhile."""
    spool = front.root / "tmp" / "client_body"
    stored = False
    connection = socket.create_connection(("127.0.0.1", front.port), timeout=10)
    head = "POST /api/2.0/mlflow/runs/log-batch HTTP/1.1\r\nHost: mlflow.example.com\r\nContent-Type: application/json\r\n"
    head += "".join("%s: %s\r\n" % item for item in headers.items())
    connection.sendall((head + "Content-Length: %d\r\n\r\n" % length).encode())
    began, sent, answer = time.perf_counter(), 0, b""
    connection.setblocking(False)
    while b"\r\n" not in answer and time.perf_counter() - began < 30:
        try:
            answer += connection.recv(4096)
        except BlockingIOError:
            pass
        except OSError:
            break
        stored = stored or any(spool.rglob("*"))
        if b"\r\n" not in answer and sent < length:
            try:
                sent += connection.send(chunk[:length - sent])
            except (BlockingIOError, OSError):
                time.sleep(0.001)
    waited = time.perf_counter() - began
    connection.close()
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else None, waited, sent, stored


@pytest.mark.parametrize("credentials", ["none", "wrong"])
def test_a_large_body_without_valid_credentials_is_refused_before_it_is_read_or_stored(front, rendered_bundle, credentials):
    """Without valid credentials a 1 GiB POST gets 401 within a second, before nginx stored or
    MLflow read it (nginx would otherwise write it to disk, then answer 502 when the server refused
    it mid-way: an error clients retry)."""
    headers = {} if credentials == "none" else basic(rendered_bundle["users"][0]["name"], "wrong-Password-0001")
    before = seen(front, rendered_bundle)
    status, waited, sent, stored = post_without_reading(front, 1 << 30, headers)
    assert status == 401 and waited < 1.0, (status, waited, sent)
    assert sent < 1 << 30 and not stored, "refused before the body was sent, and nothing of it stored"
    assert seen(front, rendered_bundle) == before

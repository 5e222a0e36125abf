"""The bundle's auth layer (roles/bundle/files/mlflowops_auth.py) as an ASGI app, in process."""

import asyncio
import base64
import importlib.util
from pathlib import Path

import pytest

from plugins.module_utils import htpasswd

SOURCE = Path(__file__).resolve().parents[3] / "roles" / "bundle" / "files" / "mlflowops_auth.py"
SPEC = importlib.util.spec_from_file_location("mlflowops_auth", SOURCE)
auth = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(auth)

ALICE, BOB = ("alice", "alice-Password-0001"), ("bob", "bob-Password-0002")


def header(name, password):
    return b"Basic " + base64.b64encode(("%s:%s" % (name, password)).encode())


@pytest.fixture(scope="module")
def users_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("users") / "htpasswd"
    path.write_text(htpasswd.render([{"name": n, "password": p} for n, p in (ALICE, BOB)], "app", "bcrypt", 10))
    return path


@pytest.fixture()
def verifier(users_file):
    return auth.Verifier(auth.load_users(str(users_file)))


class Inner:
    """Stands in for MLflow: records every request that reaches it."""

    def __init__(self):
        self.seen = []

    async def __call__(self, scope, receive, send):
        self.seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"inner"})


def call(app, path="/api/2.0/mlflow/experiments/search", headers=(), kind="http"):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": kind, "path": path, "headers": list(headers)}
    asyncio.run(app(scope, receive, send))
    return sent


def status(sent):
    return sent[0]["status"]


@pytest.fixture()
def app(verifier):
    return auth.BasicAuth(Inner(), verifier)


def test_each_user_gets_in_and_nobody_else(app):
    for name, password in (ALICE, BOB):
        assert status(call(app, headers=[(b"authorization", header(name, password))])) == 200
    refused = call(app, headers=[(b"authorization", header("alice", BOB[1]))])
    assert status(refused) == 401
    assert dict(refused[0]["headers"])[b"www-authenticate"] == b'Basic realm="MLflow"'
    assert app.app.seen == ["/api/2.0/mlflow/experiments/search"] * 2


MALFORMED = [
    [],
    [(b"authorization", b"")],
    [(b"authorization", b"Basic")],
    [(b"authorization", b"Bearer " + header(*ALICE)[6:])],
    [(b"authorization", b"Basic !!!not-base64!!!")],
    [(b"authorization", b"Basic " + base64.b64encode(b"alice"))],
    [(b"authorization", header("alice", ""))],
    [(b"authorization", header("", ALICE[1]))],
    [(b"authorization", header("alice", "x" * 100))],  # longer than bcrypt takes
    [(b"authorization", header("nobody", ALICE[1]))],
    [(b"authorization", b"Basic " + base64.b64encode(b"alice:" + b"\xff\xfe"))],
    [(b"authorization", header(*ALICE) + b"A" * 100000)],
    [(b"authorization", header(*ALICE)), (b"authorization", header(*BOB))],
]


@pytest.mark.parametrize("headers", MALFORMED, ids=[
    "none", "empty", "scheme-only", "bearer", "bad-base64", "no-colon", "empty-password", "empty-user",
    "101-byte-password", "unknown-user", "not-utf8", "100-kb", "two-headers"])
def test_anything_else_is_refused_before_mlflow(app, headers):
    sent = call(app, headers=headers)
    assert status(sent) == 401
    assert app.app.seen == []


def test_only_the_health_path_is_open(app):
    assert status(call(app, path="/health")) == 200
    for path in ("/health/", "/healthz", "/health/../api/2.0/mlflow/experiments/search", "/", "/HEALTH"):
        assert status(call(app, path=path)) == 401, path
    assert app.app.seen == ["/health"]


def test_a_websocket_without_credentials_is_closed(app):
    sent = call(app, path="/ws", kind="websocket")
    assert sent == [{"type": "websocket.close", "code": 1008}]


def test_each_distinct_header_is_checked_once(app, verifier):
    for _round in range(20):
        assert status(call(app, headers=[(b"authorization", header(*ALICE))])) == 200
        assert status(call(app, headers=[(b"authorization", header("alice", "wrong-Password-0001"))])) == 401
    assert verifier.slow_checks == 2


def test_identical_headers_arriving_together_share_one_check(app, verifier):
    async def together():
        sent = []

        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "path": "/api", "headers": [(b"authorization", header(*BOB))]}
        await asyncio.gather(*[app(dict(scope), receive, send) for _copy in range(8)])
        return [m["status"] for m in sent if m["type"] == "http.response.start"]

    assert asyncio.run(together()) == [200] * 8
    assert verifier.slow_checks == 1


def test_an_unknown_user_costs_a_real_hash_check(verifier, monkeypatch):
    checked = []
    real = verifier._context.verify  # pylint: disable=protected-access

    def spy(password, hashed):
        checked.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(verifier._context, "verify", spy)  # pylint: disable=protected-access
    assert verifier.check_now(header("nobody", ALICE[1])) is None
    assert len(checked) == 1 and checked[0].startswith("$2b$10$")


def test_the_cache_is_useless_to_an_attacker(users_file, verifier):
    accepted = header(*ALICE)
    refused = header("alice", "wrong-Password-0001")
    for value in (accepted, refused):
        asyncio.run(verifier.user(value))
    tables = (verifier._accepted, verifier._refused)  # pylint: disable=protected-access
    stored = b"".join(key + str(value).encode() for table in tables for key, value in table.items())
    for secret in (accepted, accepted[6:], refused[6:], ALICE[1].encode(), b"wrong-Password-0001",
                   users_file.read_bytes().split(b":")[1].strip()):
        assert secret not in stored
    # The keys depend on a key drawn per process: another worker's cache says nothing about this one.
    other = auth.Verifier(auth.load_users(str(users_file)))
    asyncio.run(other.user(accepted))
    assert set(other._accepted).isdisjoint(verifier._accepted)  # pylint: disable=protected-access


def test_cached_users_are_answered_while_a_flood_of_guesses_is_checked(app, verifier):
    async def flood():
        await verifier.user(header(*ALICE))
        guesses = [asyncio.ensure_future(verifier.user(header("alice", "guess-%04d-Password" % n))) for n in range(12)]
        await asyncio.sleep(0)
        answer = await verifier.user(header(*ALICE))
        unfinished = sum(not guess.done() for guess in guesses)
        results = await asyncio.gather(*guesses)
        return answer, unfinished, results

    answer, unfinished, results = asyncio.run(flood())
    assert answer == "alice"
    assert unfinished >= 10, "the cached user must not wait for the guesses"
    assert results == [None] * 12


@pytest.mark.parametrize("content, message", [
    (None, "cannot read"),
    ("", "names no user"),
    ("# only a comment\n", "names no user"),
    ("alice\n", "not 'name:hash'"),
])
def test_a_bad_users_file_is_refused(tmp_path, content, message):
    path = tmp_path / "htpasswd"
    if content is not None:
        path.write_text(content)
    with pytest.raises(auth.UsersFileError, match=message):
        auth.load_users(str(path))


def test_an_unknown_hash_scheme_is_refused():
    with pytest.raises(auth.UsersFileError, match="not bcrypt or SHA-crypt"):
        auth.Verifier({"alice": "$apr1$abcdefgh$0123456789abcdefghijkl"})

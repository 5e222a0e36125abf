"""The bundle's auth layer (roles/bundle/files/mlflowops_auth.py) as an ASGI app, in process."""

import asyncio
import base64
import math
import time

import pytest

from plugins.module_utils import htpasswd
from support.authlayer import auth


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


def call(app, path="/api/2.0/mlflow/experiments/search", headers=(), kind="http", client=None):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": kind, "path": path, "headers": list(headers)}
    if client:
        scope.update(client=client, server=("127.0.0.1", 8000))
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
    assert verifier.check_now("nobody", ALICE[1]) is None
    assert len(checked) == 1 and checked[0].startswith("$2b$10$")


def test_an_unknown_user_is_checked_against_the_costliest_hash(tmp_path):
    path = tmp_path / "htpasswd"
    cheap = htpasswd.render([{"name": "alice", "password": ALICE[1]}], "app", "bcrypt", 10)
    dear = htpasswd.render([{"name": "bob", "password": BOB[1]}], "app", "bcrypt", 12)
    path.write_text(cheap + dear)
    verifier = auth.Verifier(auth.load_users(str(path)))
    assert verifier._stand_in.startswith("$2b$12$")  # pylint: disable=protected-access


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
        guesses = [asyncio.ensure_future(verifier.user(header("alice", "guess-%04d-Password" % n), "192.0.2.%d" % n)) for n in range(12)]
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


def test_spellings_of_one_credential_share_one_check(verifier):
    token = header(*ALICE)[6:]
    for spelling in (b"Basic " + token, b"basic " + token, b"BASIC  " + token + b"  ", b" Basic " + token):
        assert asyncio.run(verifier.user(spelling)) == "alice", spelling
    assert verifier.slow_checks == 1


def test_only_the_lifespan_scope_passes_without_credentials(app):
    assert call(app, kind="lifespan") == [{"type": "http.response.start", "status": 200, "headers": []},
                                          {"type": "http.response.body", "body": b"inner"}]
    assert call(app, kind="something-new") == []
    assert app.app.seen == ["/api/2.0/mlflow/experiments/search"]


@pytest.mark.parametrize("realm", ['MLflow"\nRUN evil', "Ml\u00e9flow", "", "x" * 65, "back\\slash"])
def test_a_realm_that_could_break_the_header_is_refused(verifier, realm):
    with pytest.raises(ValueError, match="realm"):
        auth.BasicAuth(Inner(), verifier, realm=realm)


@pytest.mark.parametrize("headers, peer, expected", [
    ([(b"x-forwarded-for", b"203.0.113.7, 10.0.1.5")], "10.0.2.9", "203.0.113.7"),  # client, then the load balancer
    ([(b"x-forwarded-for", b"1.2.3.4, 203.0.113.7, 10.0.1.5")], "10.0.2.9", "203.0.113.7"),  # the client wrote 1.2.3.4
    ([(b"x-forwarded-for", b"1.2.3.4"), (b"x-forwarded-for", b"203.0.113.7, 10.0.1.5")], "10.0.2.9", "203.0.113.7"),
    ([(b"x-forwarded-for", b"10.0.1.5")], "10.0.2.9", "10.0.2.9"),  # fewer entries than proxies: the peer
    ([], "10.0.2.9", "10.0.2.9"),
    ([(b"x-forwarded-for", b"2001:db8:1:2:3:4:5:6, 10.0.1.5")], "10.0.2.9", "2001:db8:1:2::/64"),
    ([(b"x-forwarded-for", b"::ffff:203.0.113.7, 10.0.1.5")], "10.0.2.9", "203.0.113.7"),
])
def test_the_client_address_is_the_one_the_load_balancer_appended(headers, peer, expected):
    assert auth.client_address({"headers": headers, "client": (peer, 50000)}, trusted_proxies=2) == expected


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def guess(number):
    return header("alice", "guess-%05d-Password" % number)


async def attempt(verifier, value, client):
    try:
        return await verifier.user(value, client)
    except auth.Busy as busy:
        return busy


def test_failed_checks_per_address_are_budgeted_then_refused_with_retry_after(users_file):
    clock = Clock()
    verifier = auth.Verifier(auth.load_users(str(users_file)), clock=clock)
    results = [asyncio.run(attempt(verifier, guess(n), "198.51.100.1")) for n in range(auth.FAILURE_BUDGET + 3)]
    assert results[:auth.FAILURE_BUDGET] == [None] * auth.FAILURE_BUDGET
    assert all(isinstance(result, auth.Busy) for result in results[auth.FAILURE_BUDGET:])
    assert results[-1].retry_after == math.ceil(auth.FAILURE_REFILL_SECONDS)
    assert verifier.slow_checks == auth.FAILURE_BUDGET, "past the budget nothing is hashed"
    # Another address has its own budget; the right password from the flooded address too waits.
    assert asyncio.run(attempt(verifier, header(*BOB), "198.51.100.2")) == "bob"
    assert isinstance(asyncio.run(attempt(verifier, header(*ALICE), "198.51.100.1")), auth.Busy)
    clock.now += auth.FAILURE_REFILL_SECONDS
    assert asyncio.run(attempt(verifier, header(*ALICE), "198.51.100.1")) == "alice"
    # Cached answers cost nothing and are given whatever the budget.
    assert asyncio.run(attempt(verifier, guess(0), "198.51.100.1")) is None


def test_a_flood_from_one_address_neither_queues_without_bound_nor_delays_another_address(verifier):
    async def scenario():
        assert await verifier.user(header(*ALICE), "192.0.2.9") == "alice"  # logged in before
        flood = [asyncio.ensure_future(attempt(verifier, guess(n), "192.0.2.2")) for n in range(1000)]
        await asyncio.sleep(0)
        queued = len(verifier._pending)  # pylint: disable=protected-access
        assert await verifier.user(header(*ALICE), "192.0.2.9") == "alice"
        waiting_meanwhile = len(verifier._pending)  # pylint: disable=protected-access
        began = time.perf_counter()
        first_login = await verifier.user(header(*BOB), "192.0.2.3")
        waited = time.perf_counter() - began
        return queued, waiting_meanwhile, first_login, waited, await asyncio.gather(*flood)

    began = time.perf_counter()
    verifier.check_now(*BOB)
    one_check = time.perf_counter() - began
    queued, waiting_meanwhile, first_login, waited, results = asyncio.run(scenario())
    assert queued == auth.MAX_QUEUED_PER_CLIENT, "one address may queue only a few checks"
    assert sum(isinstance(result, auth.Busy) for result in results) == 1000 - auth.MAX_QUEUED_PER_CLIENT
    assert all(result.retry_after >= 1 for result in results if isinstance(result, auth.Busy))
    assert first_login == "bob" and waited < one_check + 1.0
    assert waiting_meanwhile == auth.MAX_QUEUED_PER_CLIENT, "a logged-in user is answered while the guesses are still checked"


def test_the_worker_queues_a_bounded_number_of_checks_in_all(verifier):
    async def scenario():
        many = [asyncio.ensure_future(attempt(verifier, guess(n), "192.0.2.%d" % n)) for n in range(auth.MAX_QUEUED + 5)]
        await asyncio.sleep(0)
        return len(verifier._pending), await asyncio.gather(*many)  # pylint: disable=protected-access

    queued, results = asyncio.run(scenario())
    assert queued == auth.MAX_QUEUED
    assert sum(isinstance(result, auth.Busy) for result in results) == 5


def test_memory_stays_bounded_whatever_the_number_of_addresses_and_credentials(users_file):
    verifier = auth.Verifier(auth.load_users(str(users_file)), cache_size=16)
    for number in range(auth.TRACKED_CLIENTS + 50):
        verifier._budget("10.%d.%d.%d" % (number >> 16, (number >> 8) & 255, number & 255))  # pylint: disable=protected-access
    assert len(verifier._budgets) == auth.TRACKED_CLIENTS  # pylint: disable=protected-access
    for number in range(40):
        asyncio.run(attempt(verifier, guess(number), "172.16.0.%d" % (number // auth.FAILURE_BUDGET)))
    assert len(verifier._refused) == 16  # pylint: disable=protected-access


def test_429_carries_retry_after_and_reaches_nothing(users_file):
    # A stopped clock: on a busy machine the ten failed checks may take longer than a refill.
    verifier = auth.Verifier(auth.load_users(str(users_file)), clock=lambda: 1000.0)
    app = auth.BasicAuth(Inner(), verifier, trusted_proxies=1)
    for number in range(auth.FAILURE_BUDGET):
        assert status(call(app, headers=[(b"authorization", guess(number)), (b"x-forwarded-for", b"203.0.113.5")])) == 401
    refused = call(app, headers=[(b"authorization", guess(99)), (b"x-forwarded-for", b"203.0.113.5")])
    assert status(refused) == 429 and dict(refused[0]["headers"])[b"retry-after"] == b"%d" % math.ceil(auth.FAILURE_REFILL_SECONDS)
    assert app.app.seen == []


# One route of each feature that lets users make the server act (MLflow 3.17), and spellings of it.
FEATURE_ROUTES = {
    "gateway": ["/gateway/chat/mlflow/invocations", "/gateway/mlflow/v1/chat/completions",
                "/ajax-api/3.0/mlflow/gateway/secrets/create", "/api/3.0/mlflow/gateway/endpoints/create",
                "/ajax-api/2.0/mlflow/gateway-proxy", "//gateway//proxy/x/y"],
    "assistant": ["/ajax-api/3.0/mlflow/assistant/message", "/ajax-api/3.0/mlflow/assistant/config/",
                  "/ajax-api//3.0/mlflow/assistant/providers"],
    "jobs": ["/ajax-api/3.0/jobs/", "/ajax-api/3.0/jobs/search", "/ajax-api/3.0/mlflow/scorer/invoke",
             "/ajax-api/3.0/mlflow/genai/evaluate/invoke", "/api/3.0/mlflow/prompt-optimization/jobs"],
    "webhooks": ["/api/2.0/mlflow/webhooks", "/ajax-api/2.0/mlflow/webhooks/123/test"],
}


def test_features_that_give_users_server_side_powers_are_closed_unless_turned_on(verifier):
    credentials = [(b"authorization", header(*ALICE))]
    closed = auth.BasicAuth(Inner(), verifier)
    for routes in FEATURE_ROUTES.values():
        for path in routes:
            assert status(call(closed, path=path, headers=credentials)) == 403, path
            assert status(call(closed, path=path)) == 401, path  # credentials are still asked first
    # Neighbouring routes stay open.
    for path in ("/api/2.0/mlflow/experiments/search", "/ajax-api/3.0/mlflow/mcp-servers", "/gatewayx",
                 "/ajax-api/3.0/mlflow/server-info", "/api/2.0/mlflow/registered-models/search"):
        assert status(call(closed, path=path, headers=credentials)) == 200, path
    assert closed.app.seen == ["/api/2.0/mlflow/experiments/search", "/ajax-api/3.0/mlflow/mcp-servers", "/gatewayx",
                               "/ajax-api/3.0/mlflow/server-info", "/api/2.0/mlflow/registered-models/search"]
    gateway_on = auth.BasicAuth(Inner(), verifier, features=["gateway"])
    for feature, routes in FEATURE_ROUTES.items():
        for path in routes:
            assert status(call(gateway_on, path=path, headers=credentials)) == (200 if feature == "gateway" else 403), path
    with pytest.raises(ValueError, match="unknown server features: shell"):
        auth.BasicAuth(Inner(), verifier, features=["shell"])


@pytest.mark.parametrize("scheme, rounds", [("bcrypt", 10), ("sha512_crypt", 535000)])
def test_a_72_byte_password_plus_a_suffix_is_refused(tmp_path, scheme, rounds):
    """bcrypt reads 72 bytes; a longer header must not match by silent truncation."""
    password = "Lx7-" * 18
    assert len(password.encode()) == 72
    path = tmp_path / "htpasswd"
    path.write_text(htpasswd.render([{"name": "carol", "password": password}], "x" * 32, scheme, rounds))
    app = auth.BasicAuth(Inner(), auth.Verifier(auth.load_users(str(path))))
    assert status(call(app, headers=[(b"authorization", header("carol", password))])) == 200
    for suffix in ("x", "Lx7-", "\u00e9" * 10):
        assert status(call(app, headers=[(b"authorization", header("carol", password + suffix))])) == 401, suffix
    assert status(call(app, headers=[(b"authorization", header("carol", password[:-1]))])) == 401


def test_a_5_kb_header_below_nginx_limit_reaches_the_layer_and_gets_401(app):
    """Large enough to be cheap for an attacker, small enough for nginx to pass: refused, unhashed."""
    value = b"Basic " + base64.b64encode(b"alice:" + b"p" * 3800)
    assert 5000 <= len(value) < 8192
    before = app.verifier.slow_checks
    assert status(call(app, headers=[(b"authorization", value)])) == 401
    assert app.verifier.slow_checks == before and app.app.seen == []


def test_connections_accepted_on_a_listener_uvicorn_makes_for_several_workers_get_tcp_nodelay():
    """uvicorn's several-worker listener (`socket.socket(family=...)`, proto 0: asyncio then leaves
    TCP_NODELAY off on what it accepts) gets TCP_NODELAY, which its accepted connections inherit,
    whether it listens already or is only bound (a worker makes its app before asyncio calls
    listen()); sockets that don't listen are left as they are."""
    import socket  # pylint: disable=import-outside-toplevel

    bound = socket.socket(family=socket.AF_INET)
    bound.bind(("127.0.0.1", 0))
    listener = socket.socket(family=socket.AF_INET)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    idle = socket.socket(family=socket.AF_INET)
    client = socket.create_connection(listener.getsockname())
    try:
        before, _peer = listener.accept()
        assert before.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0  # what uvicorn's workers got
        before.close()
        assert auth.nodelay_listeners() >= 2
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert idle.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        second = socket.create_connection(listener.getsockname())
        accepted, _peer = listener.accept()
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        accepted.close()
        second.close()
        bound.listen()  # as asyncio does once the worker's app is made
        third = socket.create_connection(bound.getsockname())
        accepted, _peer = bound.accept()
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        accepted.close()
        third.close()
    finally:
        for sock in (bound, listener, idle, client):
            sock.close()


def test_a_connection_is_closed_after_its_last_allowed_response_so_new_ones_spread_over_the_workers(app):
    """nginx keeps its connections to the server alive; each is closed after
    REQUESTS_PER_CONNECTION responses (accepted or refused), counted per connection."""
    alice = [(b"authorization", header(*ALICE))]

    def closes(sent):
        return (b"connection", b"close") in sent[0]["headers"]

    first, other = ("127.0.0.1", 40001), ("127.0.0.1", 40002)
    answers = [call(app, headers=alice, client=first) for _number in range(auth.REQUESTS_PER_CONNECTION - 2)]
    answers.append(call(app, client=first))  # a refused one counts too
    assert not any(closes(sent) for sent in answers)
    assert not closes(call(app, headers=alice, client=other))
    last = call(app, headers=alice, client=first)
    assert status(last) == 200 and closes(last)
    # A new connection (a port used again later included) starts counting afresh.
    assert not closes(call(app, headers=alice, client=first))

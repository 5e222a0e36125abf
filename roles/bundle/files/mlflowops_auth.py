# -*- coding: utf-8 -*-
# Copyright: mlflowops.beanstalk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Basic auth in front of MLflow's ASGI app, each distinct credential verified once.

`mlflow server --app-name mlflowops-auth` runs `create_app()` in every uvicorn worker: it wraps
MLflow's own app (`mlflow.server.fastapi_app:app`) with `BasicAuth`, which checks the
Authorization header against the users file (`MLFLOWOPS_USERS_FILE`: `name:hash` lines, bcrypt
or SHA-crypt).

Why here and not in nginx: nginx's `auth_basic` runs the slow hash on every request, so a hash
strong enough to resist offline cracking (bcrypt cost 10: ~44 ms of CPU) would cost more than
the request itself. Here the slow hash runs once per distinct header and worker; the outcome is
kept in memory under HMAC-SHA256(key, header), the key drawn at random when the worker starts
and never written anywhere. The cache holds no password, no hash and nothing from which either
could be checked faster than through the users file; it ends with the process (a new users file
comes with a new deployment, hence new processes).

Slow checks run in a small thread pool (bcrypt releases the GIL), so cached clients keep being
answered while unknown credentials are checked; identical credentials arriving together share
one check; an unknown user name costs the same as the costliest password in the file. Only
MLflow's health path is open; it is matched on the decoded path MLflow's router sees.

The server faces the internet, so the slow path is bounded. Each client address (the one the
load balancer appended to X-Forwarded-For, never one the client wrote) may have a few checks
queued at a time and a budget of failed ones that refills slowly; the worker queues a bounded
number of checks in all. Past either limit the answer is 429 with Retry-After, at once and
without a hash, so a flood of guesses from one address can't delay another address's first
login by more than the checks already running, and memory stays bounded.

What an accepted user may do is MLflow's permission engine's decision (`mlflow.server.auth`:
READ / USE / EDIT / MANAGE per experiment and registered model, admins, a default permission):
`create_app()` wraps MLflow's auth app, not its bare one. This layer stays the gate: it replaces
the client's Authorization header with one naming the accepted user and a password drawn at
random when the worker starts (`PROCESS_TOKEN`), and the engine's authorization function
(`authorization`, named in its configuration) accepts only that password. So the engine never
runs a password hash, no removed password lingers in a cache of its own, and a header the client
wrote can't speak for another user. MLflow's user store lives in its own database beside the
tracking one (`auth_store_uri`); its records follow the users file (the start-up step creates,
updates and removes them), and MLflow's own user-management routes (`USER_MANAGEMENT_PATHS`:
sign-up, create, change password, make admin, delete) answer 403 to everyone.

Features of MLflow that let any user make the server act (call LLM providers with stored keys,
run jobs, run the assistant's tools, send webhooks to any URL) are closed here unless the
deployment turns them on (`MLFLOWOPS_SERVER_FEATURES`): their routes answer 403 to everyone,
whatever MLflow's own switches say.
"""

import asyncio
import base64
import binascii
import hashlib
import hmac
import ipaddress
import math
import os
import secrets
import tempfile
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

USERS_FILE_VARIABLE = "MLFLOWOPS_USERS_FILE"
REALM_VARIABLE = "MLFLOWOPS_AUTH_REALM"
PROXIES_VARIABLE = "MLFLOWOPS_TRUSTED_PROXIES"
FEATURES_VARIABLE = "MLFLOWOPS_SERVER_FEATURES"
# The routes of each feature that gives users server-side powers (MLflow 3.17), closed unless on.
FEATURE_PATHS = {
    # Stores LLM provider keys and calls the providers (or any api_base) for whoever asks.
    "gateway": ("/gateway", "/ajax-api/3.0/mlflow/gateway", "/api/3.0/mlflow/gateway", "/ajax-api/2.0/mlflow/gateway-proxy"),
    # Runs an agent with a Bash tool on the server (MLflow limits it to localhost clients).
    "assistant": ("/ajax-api/3.0/mlflow/assistant",),
    # Runs evaluation, scorer and optimisation jobs on the server.
    "jobs": ("/ajax-api/3.0/jobs", "/ajax-api/3.0/mlflow/jobs", "/ajax-api/3.0/mlflow/scorer/invoke",
             "/ajax-api/3.0/mlflow/genai/evaluate/invoke", "/ajax-api/3.0/mlflow/issues/invoke",
             "/ajax-api/3.0/mlflow/prompt-optimization", "/api/3.0/mlflow/prompt-optimization"),
    # Makes the server send HTTP requests to URLs users register (inside the VPC too).
    "webhooks": ("/api/2.0/mlflow/webhooks", "/ajax-api/2.0/mlflow/webhooks"),
}
# MLflow's user management: users come from the deployment's inventory, so these answer 403.
USER_MANAGEMENT_PATHS = tuple(
    prefix + route
    for prefix in ("/api/2.0/mlflow/users/", "/ajax-api/2.0/mlflow/users/")
    for route in ("create", "create-ui", "update-password", "update-admin", "delete")
) + ("/signup",)
OPEN_PATHS = ("/health",)
# The password this worker's layer writes into the Authorization header of each accepted request:
# MLflow's engine accepts no other (see `authorization`).
PROCESS_TOKEN = secrets.token_urlsafe(32)
# Headers that carry credentials to MLflow: replaced by the layer's own (the second is the one
# MLflow reads instead of Authorization on its gateway routes).
CREDENTIAL_HEADERS = (b"authorization", b"x-mlflow-authorization")
AUTH_STORE_VARIABLE = "MLFLOWOPS_AUTH_STORE_URI"
ADMIN_VARIABLE = "MLFLOWOPS_ADMIN"
DEFAULT_PERMISSION_VARIABLE = "MLFLOWOPS_DEFAULT_PERMISSION"
PERMISSIONS = ("READ", "USE", "EDIT", "MANAGE", "NO_PERMISSIONS")
MAX_HEADER_BYTES = 4096
CACHE_SIZE = 1024
CHECK_THREADS = 2
# Proxies of our own that each append the address they were reached from to X-Forwarded-For:
# the load balancer, then the instance's nginx. The client address is the load balancer's entry.
TRUSTED_PROXIES = 2
# Bounds of the slow path, per worker.
MAX_QUEUED = 32  # distinct credentials being checked or waiting for a thread
MAX_QUEUED_PER_CLIENT = 2
FAILURE_BUDGET = 10  # failed checks a client address may make at once...
FAILURE_REFILL_SECONDS = 6.0  # ...and one more each this many seconds
TRACKED_CLIENTS = 4096
# Responses on one connection from nginx before it is closed (see `BasicAuth.recycle`).
REQUESTS_PER_CONNECTION = 100
TRACKED_CONNECTIONS = 4096


class UsersFileError(Exception):
    pass


def load_users(path):
    """{name: hash} from a users file; refuses a missing, empty or malformed one."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        raise UsersFileError("cannot read the users file %s: %s" % (path, exc.strerror)) from None
    users = {}
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        name, colon, hashed = line.partition(":")
        if not colon or not name or not hashed:
            raise UsersFileError("line %d of %s is not 'name:hash'" % (number, path))
        users[name] = hashed
    if not users:
        raise UsersFileError("the users file %s names no user: nobody could log in" % path)
    return users


class Busy(Exception):
    """The slow path is full for this client (or for everyone): try again after `retry_after` s."""

    def __init__(self, retry_after):
        super().__init__(retry_after)
        self.retry_after = max(1, int(math.ceil(retry_after)))


def client_address(scope, trusted_proxies=TRUSTED_PROXIES):
    """The address the load balancer saw the request come from.

    Each of our `trusted_proxies` appends the address it was reached from to X-Forwarded-For, so
    the client's is that many entries from the end; whatever the client wrote itself comes before
    and is ignored. An IPv6 address stands for its /64, which one machine can fill at will.
    Without enough entries (a request that came past our proxies), the socket's peer.
    """
    forwarded = b",".join(value for name, value in scope.get("headers", ()) if name == b"x-forwarded-for")
    entries = [entry.strip() for entry in forwarded.decode("latin-1").split(",") if entry.strip()]
    if trusted_proxies and len(entries) >= trusted_proxies:
        address = entries[-trusted_proxies]
    else:
        address = (scope.get("client") or ("unknown",))[0]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network("%s/64" % parsed, strict=False))


def parse_basic(header):
    """(name, password) from a Basic Authorization header value (bytes), or None."""
    scheme, _space, token = header.strip().partition(b" ")
    if scheme.lower() != b"basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    name, colon, password = decoded.partition(":")
    if not colon or not name or not password:
        return None
    return name, password


class FailureBudget:
    """Failed checks a client address may still make: a token bucket, one token per failure."""

    def __init__(self, now):
        self.tokens, self.at = float(FAILURE_BUDGET), now

    def refill(self, now):
        self.tokens = min(float(FAILURE_BUDGET), self.tokens + (now - self.at) / FAILURE_REFILL_SECONDS)
        self.at = now

    def wait(self):
        """Seconds until the next failure is allowed (0 when one is)."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) * FAILURE_REFILL_SECONDS


class Verifier:
    """Checks credentials against the users' hashes, each distinct credential once, within bounds."""

    def __init__(self, users, cache_size=CACHE_SIZE, threads=CHECK_THREADS, clock=time.monotonic):
        # libpass (the maintained passlib) provides the `passlib` package.
        from passlib.context import CryptContext  # pylint: disable=import-outside-toplevel

        self._context = CryptContext(schemes=["bcrypt", "sha512_crypt", "sha256_crypt"])
        for name, hashed in users.items():
            if self._context.identify(hashed) is None:
                raise UsersFileError("the hash of user %r is not bcrypt or SHA-crypt" % name)
        self._users = dict(users)
        # Unknown names are checked against a real hash too, the costliest: no answer is quicker.
        self._stand_in = self._costliest(self._users.values())
        self._key = os.urandom(32)
        self._accepted = OrderedDict()  # HMAC of a credential -> user name
        self._refused = OrderedDict()  # HMAC of a credential -> True
        self._cache_size = cache_size
        self._pending = {}
        self._queued = {}  # client -> checks it has pending
        self._budgets = OrderedDict()  # client -> FailureBudget, least recently used first
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mlflowops-auth")
        self.slow_checks = 0

    def _costliest(self, hashes):
        """The hash whose check takes longest (one timed check per distinct setting)."""
        timed = {}
        for hashed in hashes:
            setting = hashed.rsplit("$", 1)[0]
            if setting not in timed:
                began = time.perf_counter()
                self._context.verify("not the password", hashed)
                timed[setting] = (time.perf_counter() - began, hashed)
        return max(timed.values())[1]

    def _remember(self, table, key, value):
        table[key] = value
        if len(table) > self._cache_size:
            table.popitem(last=False)

    def check_now(self, name, password):
        """The slow path: the user name, or None. Runs the password hash."""
        self.slow_checks += 1
        hashed = self._users.get(name)
        try:
            matches = self._context.verify(password, hashed or self._stand_in)
        except (ValueError, TypeError):  # e.g. a password bcrypt refuses (> 72 bytes)
            matches = False
        return name if matches and hashed is not None else None

    async def user(self, header, client="unknown"):
        """The user a header authenticates, or None; every credential is checked at most once.

        Raises Busy when `client` (or the worker) may not start another check now.
        """
        if not header or len(header) > MAX_HEADER_BYTES:
            return None
        parsed = parse_basic(header)
        if parsed is None:
            return None
        name, password = parsed
        # Keyed by the credential, not the header: spellings of one header share one entry (a
        # name has no colon, so name:password is unambiguous).
        key = hmac.new(self._key, ("%s:%s" % (name, password)).encode(), hashlib.sha256).digest()
        cached = self._accepted.get(key)
        if cached is not None:
            self._accepted.move_to_end(key)
            return cached
        if key in self._refused:
            return None
        pending = self._pending.get(key)
        if pending is None:
            self._admit(client)
            pending = asyncio.get_running_loop().run_in_executor(self._pool, self.check_now, name, password)
            self._pending[key] = pending
            self._queued[client] = self._queued.get(client, 0) + 1
            pending.add_done_callback(lambda done: self._settle(key, client, done))
        # Shielded: a client that hangs up must not cancel a check others are waiting for.
        return await asyncio.shield(pending)

    def _budget(self, client):
        now = self._clock()
        budget = self._budgets.pop(client, None) or FailureBudget(now)
        budget.refill(now)
        self._budgets[client] = budget
        while len(self._budgets) > TRACKED_CLIENTS:
            self._budgets.popitem(last=False)
        return budget

    def _admit(self, client):
        wait = self._budget(client).wait()
        if wait:
            raise Busy(wait)
        if self._queued.get(client, 0) >= MAX_QUEUED_PER_CLIENT or len(self._pending) >= MAX_QUEUED:
            raise Busy(1)

    def _settle(self, key, client, done):
        del self._pending[key]
        self._queued[client] -= 1
        if not self._queued[client]:
            del self._queued[client]
        if done.cancelled() or done.exception() is not None:
            return
        name = done.result()
        if name is None:
            self._remember(self._refused, key, True)
            self._budget(client).tokens -= 1
        else:
            self._remember(self._accepted, key, name)


class BasicAuth:
    """ASGI middleware: requests without an accepted Authorization header get 401."""

    def __init__(self, app, verifier, realm="MLflow", open_paths=OPEN_PATHS, trusted_proxies=TRUSTED_PROXIES, features=()):
        self.app = app
        self.verifier = verifier
        self.open_paths = frozenset(open_paths)
        self.trusted_proxies = trusted_proxies
        self.challenge = challenge(realm)
        unknown = set(features) - set(FEATURE_PATHS)
        if unknown:
            raise ValueError("unknown server features: %s (known: %s)" % (", ".join(sorted(unknown)), ", ".join(sorted(FEATURE_PATHS))))
        self.closed_paths = tuple(path for feature, paths in FEATURE_PATHS.items() if feature not in features for path in paths)
        self._served = OrderedDict()  # (peer, own address) of a connection -> responses on it so far

    def recycle(self, scope, send):
        """`send`, made to close the connection after its response once it has carried
        REQUESTS_PER_CONNECTION of them.

        The workers share one listener, and asyncio accepts every connection waiting at once: the
        connections nginx opens together (it keeps them alive, for hours) can all land on one
        worker while the others idle. A connection closed after its response is replaced by a new
        one when nginx next needs it, and a worker waiting for work accepts it before a busy
        one can: the load spreads back over the workers within a few hundred requests."""
        if not scope.get("client"):
            return send  # not a TCP connection: nothing to spread
        key = (tuple(scope["client"]), tuple(scope.get("server") or ()))
        count = self._served.pop(key, 0) + 1
        if count < REQUESTS_PER_CONNECTION:
            self._served[key] = count
            while len(self._served) > TRACKED_CONNECTIONS:
                self._served.popitem(last=False)
            return send

        async def closing(message):
            if message["type"] == "http.response.start":
                message = dict(message, headers=list(message.get("headers", [])) + [(b"connection", b"close")])
            await send(message)

        return closing

    def closed(self, path):
        """Why `path` is closed to everyone (a feature that is off, or user management), or None.
        Repeated slashes count as one, and a trailing one doesn't make another path."""
        path = "/" + "/".join(part for part in path.split("/") if part)
        if path in USER_MANAGEMENT_PATHS:
            return b"403 Forbidden: users are managed by the deployment's inventory, not through MLflow\n"
        if any(path == prefix or path.startswith(prefix + "/") for prefix in self.closed_paths):
            return b"403 Forbidden: this feature is turned off on this server\n"
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self.app(scope, receive, send)
        if scope["type"] not in ("http", "websocket"):
            return None  # nothing else is served
        if scope["type"] == "http":
            send = self.recycle(scope, send)
        if scope["type"] == "http" and scope["path"] in self.open_paths:
            return await self.app(scope, receive, send)
        headers = [value for name, value in scope["headers"] if name == b"authorization"]
        try:
            user = await self.verifier.user(headers[0], client_address(scope, self.trusted_proxies)) if len(headers) == 1 else None
        except Busy as busy:
            return await self.refuse(scope, send, 429, b"429 Too Many Requests: try again later\n",
                                     [(b"retry-after", str(busy.retry_after).encode("ascii"))])
        if user is None:
            return await self.refuse(scope, send, 401, b"401 Unauthorized: credentials are needed\n",
                                     [(b"www-authenticate", self.challenge)])
        reason = self.closed(scope["path"])
        if reason:
            return await self.refuse(scope, send, 403, reason, [])
        return await self.app(dict(scope, headers=as_user(scope["headers"], user)), receive, send)

    @staticmethod
    async def refuse(scope, send, status, body, headers):
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({
            "type": "http.response.start",
            "status": status,
            "headers": headers + [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        })
        await send({"type": "http.response.body", "body": body})


def as_user(headers, user):
    """The request's headers with its credentials replaced by the layer's word for `user`."""
    token = base64.b64encode(("%s:%s" % (user, PROCESS_TOKEN)).encode())
    kept = [(name, value) for name, value in headers if name not in CREDENTIAL_HEADERS]
    return kept + [(b"authorization", b"Basic " + token)]


def authorization():
    """MLflow's authorization function (its Flask request context): the user this worker's layer
    accepted, or 401 for a request that didn't come through the layer."""
    from flask import Response, request  # pylint: disable=import-outside-toplevel,import-error

    given = request.authorization
    if given is not None and given.type == "basic" and given.username and given.password:
        if hmac.compare_digest(given.password.encode(), PROCESS_TOKEN.encode()):
            return given
    return Response("401 Unauthorized: credentials are needed\n", status=401, mimetype="text/plain")


def auth_store_uri(tracking_uri):
    """MLflow's user store beside the tracking database: the same server, the database's name
    with `_auth` appended (a SQLite file's stem likewise)."""
    from sqlalchemy.engine import make_url  # pylint: disable=import-outside-toplevel,import-error

    url = make_url(tracking_uri)
    name = url.database or ""
    if url.get_backend_name() == "sqlite":
        stem, dot, suffix = name.rpartition(".")
        name = "%s_auth.%s" % (stem, suffix) if dot and "/" not in suffix else name + "_auth"
    else:
        name += "_auth"
    return url.set(database=name).render_as_string(hide_password=False)


def engine_config(database_uri, admin, default_permission):
    """The text of MLflow's auth configuration (`%` doubled: configparser interpolates)."""
    if default_permission not in PERMISSIONS:
        raise ValueError("the default permission must be one of %s, not %r" % (", ".join(PERMISSIONS), default_permission))
    return "\n".join([
        "[mlflow]",
        "default_permission = %s" % default_permission,
        "database_uri = %s" % database_uri.replace("%", "%%"),
        "admin_username = %s" % admin,
        "authorization_function = mlflowops_auth:authorization",
        "",
    ])


def permission_engine():
    """MLflow's app with its permission engine, configured from the environment: the user store's
    URI (the tracking store's sibling unless MLFLOWOPS_AUTH_STORE_URI names one), the admin
    MLflow checks for at start-up (it exists: the start-up step made it), the default permission."""
    from mlflow.server.constants import BACKEND_STORE_URI_ENV_VAR  # pylint: disable=import-outside-toplevel,import-error

    # The tracking store the server was started with (`mlflow server` hands it to its workers).
    tracking = os.environ.get(BACKEND_STORE_URI_ENV_VAR) or os.environ["MLFLOW_BACKEND_STORE_URI"]
    config = engine_config(os.environ.get(AUTH_STORE_VARIABLE) or auth_store_uri(tracking), os.environ[ADMIN_VARIABLE],
                           os.environ.get(DEFAULT_PERMISSION_VARIABLE) or "READ")
    # A route without a permission rule is refused rather than open.
    os.environ["MLFLOW_BASIC_AUTH_FAIL_CLOSED"] = "true"
    # The key signs the CSRF token of MLflow's sign-up form only, which is closed here: the
    # deployment's (an environment secret), or else one of this worker's own.
    os.environ.setdefault("MLFLOW_FLASK_SERVER_SECRET_KEY", secrets.token_urlsafe(32))
    # MLflow reads its configuration once, on import; the file (it holds the database password)
    # is private to this process and gone once read.
    handle, path = tempfile.mkstemp(prefix="mlflowops-auth-", suffix=".ini")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as config_file:
            config_file.write(config)
        os.environ["MLFLOW_AUTH_CONFIG_PATH"] = path
        from mlflow.server import app as flask_app  # pylint: disable=import-outside-toplevel,import-error
        import mlflowops_permission_cache  # pylint: disable=import-outside-toplevel
        from mlflow.server import auth as engine  # pylint: disable=import-outside-toplevel,import-error

        app = engine.create_app(flask_app)
        # The engine's reads of the user store, kept while the store is unchanged.
        mlflowops_permission_cache.apply(engine, engine.auth_config.database_uri)
        return app
    finally:
        os.unlink(path)
        del os.environ["MLFLOW_AUTH_CONFIG_PATH"]


def challenge(realm):
    """The WWW-Authenticate value; a realm must be printable ASCII without quotes or backslashes."""
    if not realm or len(realm) > 64 or any(not " " <= char <= "~" or char in '"\\' for char in realm):
        raise ValueError("the realm must be 1-64 printable ASCII characters without quotes or backslashes")
    return ('Basic realm="%s"' % realm).encode("ascii")


def nodelay_listeners(fd_folder="/proc/self/fd"):
    """Sets TCP_NODELAY on this process's listening TCP sockets, and on bound ones not connected
    (about to listen); returns how many it set.

    With two or more workers uvicorn makes the listening socket itself, as
    `socket.socket(family=...)` (`Config.bind_socket`): its `proto` is 0, and asyncio sets
    TCP_NODELAY only on accepted sockets whose `proto` is IPPROTO_TCP. Without it Nagle's
    algorithm meets the peer's delayed ACK and every response on a kept-alive connection (nginx
    keeps its upstream connections alive) waits ~40 ms. On Linux an accepted socket takes
    TCP_NODELAY from its listener, and the workers share one listener: set there, it holds for
    every connection any worker accepts. Each worker makes its app before it starts listening
    (asyncio calls listen()), so the listener may still be only bound here. With one worker there
    is no socket yet (asyncio makes it, and sets TCP_NODELAY itself): nothing to do.
    """
    import errno  # pylint: disable=import-outside-toplevel
    import socket  # pylint: disable=import-outside-toplevel

    def listener(sock):
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
            return False
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            return True
        try:
            sock.getpeername()
        except OSError as error:
            return error.errno == errno.ENOTCONN and sock.getsockname()[1] != 0
        return False

    count = 0
    for name in os.listdir(fd_folder):
        try:
            if not os.readlink(os.path.join(fd_folder, name)).startswith("socket:"):
                continue
            # A duplicate: closing it leaves the worker's own descriptor open.
            sock = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue  # closed meanwhile (e.g. listdir's own descriptor)
        try:
            if listener(sock):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                count += 1
        finally:
            sock.close()
    return count


def create_app():
    """MLflow's app with its permission engine, behind BasicAuth (uvicorn calls this in every
    worker)."""
    nodelay_listeners()
    users = load_users(os.environ.get(USERS_FILE_VARIABLE, "/opt/mlflowops/htpasswd"))
    features = [name for name in (os.environ.get(FEATURES_VARIABLE) or "").split(",") if name]
    return BasicAuth(permission_engine(), Verifier(users), realm=os.environ.get(REALM_VARIABLE) or "MLflow",
                     trusted_proxies=int(os.environ.get(PROXIES_VARIABLE) or TRUSTED_PROXIES), features=features)

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
answered while unknown credentials are checked; identical headers arriving together share one
check; an unknown user name costs the same as a wrong password. Only MLflow's health path is
open; it is matched on the decoded path MLflow's router sees.
"""

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

USERS_FILE_VARIABLE = "MLFLOWOPS_USERS_FILE"
REALM_VARIABLE = "MLFLOWOPS_AUTH_REALM"
OPEN_PATHS = ("/health",)
MAX_HEADER_BYTES = 4096
CACHE_SIZE = 1024
CHECK_THREADS = 2


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


class Verifier:
    """Checks Authorization headers against the users' hashes, each distinct header once."""

    def __init__(self, users, cache_size=CACHE_SIZE, threads=CHECK_THREADS):
        # libpass (the maintained passlib) provides the `passlib` package.
        from passlib.context import CryptContext  # pylint: disable=import-outside-toplevel

        self._context = CryptContext(schemes=["bcrypt", "sha512_crypt", "sha256_crypt"])
        for name, hashed in users.items():
            if self._context.identify(hashed) is None:
                raise UsersFileError("the hash of user %r is not bcrypt or SHA-crypt" % name)
        self._users = dict(users)
        # Unknown names are checked against a real hash too: their answer takes as long.
        self._stand_in = next(iter(self._users.values()))
        self._key = os.urandom(32)
        self._accepted = OrderedDict()  # HMAC of a header -> user name
        self._refused = OrderedDict()  # HMAC of a header -> True
        self._cache_size = cache_size
        self._pending = {}
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mlflowops-auth")
        self.slow_checks = 0

    def _remember(self, table, key, value):
        table[key] = value
        if len(table) > self._cache_size:
            table.popitem(last=False)

    def check_now(self, header):
        """The slow path: the user name, or None. Runs the password hash."""
        self.slow_checks += 1
        parsed = parse_basic(header)
        if parsed is None:
            return None
        name, password = parsed
        hashed = self._users.get(name)
        try:
            matches = self._context.verify(password, hashed or self._stand_in)
        except (ValueError, TypeError):  # e.g. a password bcrypt refuses (> 72 bytes)
            matches = False
        return name if matches and hashed is not None else None

    async def user(self, header):
        """The user a header authenticates, or None; every header is checked at most once."""
        if not header or len(header) > MAX_HEADER_BYTES:
            return None
        key = hmac.new(self._key, header, hashlib.sha256).digest()
        name = self._accepted.get(key)
        if name is not None:
            self._accepted.move_to_end(key)
            return name
        if key in self._refused:
            return None
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.get_running_loop().run_in_executor(self._pool, self.check_now, header)
            self._pending[key] = pending
            pending.add_done_callback(lambda done: self._settle(key, done))
        # Shielded: a client that hangs up must not cancel a check others are waiting for.
        return await asyncio.shield(pending)

    def _settle(self, key, done):
        del self._pending[key]
        if done.cancelled() or done.exception() is not None:
            return
        name = done.result()
        if name is None:
            self._remember(self._refused, key, True)
        else:
            self._remember(self._accepted, key, name)


class BasicAuth:
    """ASGI middleware: requests without an accepted Authorization header get 401."""

    def __init__(self, app, verifier, realm="MLflow", open_paths=OPEN_PATHS):
        self.app = app
        self.verifier = verifier
        self.open_paths = frozenset(open_paths)
        self.challenge = ('Basic realm="%s"' % realm.replace('"', "")).encode("latin-1")

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        if scope["type"] == "http" and scope["path"] in self.open_paths:
            return await self.app(scope, receive, send)
        headers = [value for name, value in scope["headers"] if name == b"authorization"]
        user = await self.verifier.user(headers[0]) if len(headers) == 1 else None
        if user is None:
            return await self.refuse(scope, send)
        return await self.app(scope, receive, send)

    async def refuse(self, scope, send):
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = b"401 Unauthorized: credentials are needed\n"
        await send({
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"www-authenticate", self.challenge),
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        })
        await send({"type": "http.response.body", "body": body})


def create_app():
    """MLflow's app behind BasicAuth (uvicorn calls this in every worker)."""
    from mlflow.server.fastapi_app import app  # pylint: disable=import-outside-toplevel

    users = load_users(os.environ.get(USERS_FILE_VARIABLE, "/opt/mlflowops/htpasswd"))
    return BasicAuth(app, Verifier(users), realm=os.environ.get(REALM_VARIABLE) or "MLflow")

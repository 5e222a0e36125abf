# -*- coding: utf-8 -*-
# Copyright: mlflowops.beanstalk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What MLflow's permission engine reads from its user store, remembered within a worker for as
long as the store has not changed, and no longer.

MLflow's engine (`mlflow.server.auth`) reads the user and their grants from the user store on
every request, in sessions of their own: on this project's measurements, most of what a request
of a user who is no admin costs. Those answers change only when the store changes, so each worker
keeps them, under one rule that makes a kept answer as good as a fresh one:

- The store keeps a version (`VERSION_TABLE`, one row). A trigger on every other table of the
  store adds one to it in the same transaction as any change (`install`, which the start-up step
  runs under the migration lock after each migration, so a table a new MLflow adds is covered).
  The version and the change become visible together, at commit.
- A request reads the version once, at the engine's first look into the store (`Versions`: one
  primary-key read on the worker's own connection; requests waiting for it at the same time share
  one read that began after they asked), and is answered only from what was read at that version.
  A revoked grant, a removed user or a new admin therefore counts from the first request that
  asks after the change committed, on every instance: as strict as reading the store itself.
- Without a version (no request in progress, the version table missing, the database not
  answering), the engine reads the store as it always does.

The experiment a run belongs to never changes (MLflow has no call that moves a run), so the
engine's look-up of a run's experiment is kept without a version (`RunExperiments`).

A kept answer is the object MLflow's store returned; the engine only reads those.
"""

import threading
import time
from collections import OrderedDict

VERSION_TABLE = "mlflowops_auth_version"
TRIGGER = "mlflowops_auth_version_bump"
CACHE_SIZE = 4096
# The store's methods whose answers are kept: each reads, and its answer depends on its arguments
# and the store's content only. Every other public method may write: it runs, then everything
# kept is forgotten (its own change is then visible at once, even within the request).
READ_PREFIXES = ("get_", "list_", "has_", "is_", "user_has_")


def install(cursor):
    """(PostgreSQL, the store's owner) The version table, and the trigger on every other table of
    the store's schema that lacks it; returns the tables it added the trigger to."""
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS %s (id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL)" % VERSION_TABLE)
    cursor.execute("INSERT INTO %s (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING" % VERSION_TABLE)
    # BEFORE each statement: the version's row is locked before any row of the table, in every
    # transaction that writes, so two writers can't each hold what the other waits for.
    cursor.execute(
        "CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "UPDATE %s SET version = version + 1 WHERE id = 1; RETURN NULL; END $$" % (TRIGGER, VERSION_TABLE))
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname <> %s "
        "AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = %s) ORDER BY c.relname",
        (VERSION_TABLE, TRIGGER))
    tables = [row[0] for row in cursor.fetchall()]
    for table in tables:
        cursor.execute('CREATE TRIGGER %s BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "%s" '
                       "FOR EACH STATEMENT EXECUTE FUNCTION %s()" % (TRIGGER, table.replace('"', '""'), TRIGGER))
    return tables


def keep(table, key, value, size):
    """Puts `value` in the ordered `table` as its newest entry, dropping the oldest past `size`."""
    table[key] = value
    while len(table) > size:
        table.popitem(last=False)


def freeze(value):
    """A hashable stand-in for an argument (sets, lists and dicts by their content)."""
    if isinstance(value, (set, frozenset)):
        return frozenset(freeze(item) for item in value)
    if isinstance(value, (list, tuple)):
        return tuple(freeze(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((key, freeze(item)) for key, item in value.items()))
    hash(value)  # anything else must be hashable as it is (TypeError otherwise)
    return value


class Versions:
    """The store's version, read once per request on a connection of this worker's own (one
    connection, held for one primary-key read at a time)."""

    def __init__(self, connect, errors, request_state, clock=time.monotonic):
        self._connect = connect  # () -> a DB-API connection in autocommit
        self._errors = errors  # the driver's exceptions
        # () -> a per-request namespace (Flask's `g`), or None outside a request.
        self._request_state = request_state
        self._clock = clock
        self._connection = None
        self._lock = threading.Lock()
        self._last = None  # (when the last successful read began, the version it read)
        self.reads = 0

    def current(self):
        """The version for the request in progress, or None (no request, or no version to read)."""
        state = self._request_state()
        if state is None:
            return None
        version = getattr(state, "mlflowops_auth_version", False)
        if version is False:
            version = self.read(self._clock())
            setattr(state, "mlflowops_auth_version", version)
        return version

    def moved(self):
        """The request in progress changed the store: its next look reads the version again (what
        it changed is committed, so that read sees it)."""
        state = self._request_state()
        if state is not None:
            setattr(state, "mlflowops_auth_version", False)

    def read(self, since):
        """The version as a read that began after `since` found it. Reads take turns; one that
        began while this request waited for its turn serves it too (it saw every change
        committed before the request asked), so concurrent requests share a read."""
        with self._lock:
            if self._last is not None and self._last[0] > since:
                return self._last[1]
            began = self._clock()
            self.reads += 1
            try:
                if self._connection is None:
                    self._connection = self._connect()
                cursor = self._connection.cursor()
                cursor.execute("SELECT version FROM %s WHERE id = 1" % VERSION_TABLE)
                row = cursor.fetchone()
                cursor.close()
                if row is None:
                    return None
                self._last = (began, row[0])
                return row[0]
            except self._errors:
                # Read the store itself this time (it reports what is wrong); connect afresh next time.
                connection, self._connection = self._connection, None
                if connection is not None:
                    try:
                        connection.close()
                    except self._errors:
                        pass
                return None


class CachedStore:
    """MLflow's user store, its reads kept per version (see the module's description)."""

    def __init__(self, store, versions, size=CACHE_SIZE):
        self._store = store
        self._versions = versions
        self._size = size
        self._lock = threading.Lock()
        self._kept = OrderedDict()  # (version, method, arguments) -> answer
        self._latest = None  # the newest version seen: answers kept at older ones are dropped
        self.hits = 0
        self.misses = 0

    def __getattr__(self, name):
        found = getattr(self._store, name)
        if name.startswith("_") or not callable(found):
            return found
        if name.startswith(READ_PREFIXES):
            return lambda *args, **kwargs: self._read(name, found, args, kwargs)
        return lambda *args, **kwargs: self._write(found, args, kwargs)

    def _read(self, name, method, args, kwargs):
        version = self._versions.current()
        try:
            key = (version, name, freeze(args), freeze(kwargs))
        except TypeError:
            version = None
        if version is None:
            return method(*args, **kwargs)
        with self._lock:
            if self._latest is None or version > self._latest:
                self._latest = version
                self._kept.clear()
            if key in self._kept:
                self._kept.move_to_end(key)
                self.hits += 1
                return self._kept[key]
        self.misses += 1
        answer = method(*args, **kwargs)  # an exception is not kept: the next request asks again
        with self._lock:
            keep(self._kept, key, answer, self._size)
        return answer

    def _write(self, method, args, kwargs):
        try:
            return method(*args, **kwargs)
        finally:
            self.forget()
            self._versions.moved()

    def forget(self):
        with self._lock:
            self._kept.clear()


class KnownRun:  # pylint: disable=too-few-public-methods
    """What the engine reads of a run whose experiment is known: `info.experiment_id`, nothing else
    (any other attribute fails loudly rather than being answered from memory)."""

    class Info:  # pylint: disable=too-few-public-methods
        __slots__ = ("experiment_id",)

        def __init__(self, experiment_id):
            self.experiment_id = experiment_id

    __slots__ = ("info",)

    def __init__(self, experiment_id):
        self.info = KnownRun.Info(experiment_id)


class RunExperiments:
    """The engine's view of the tracking store (`tracking_store()` gives MLflow's): as it is,
    except that `get_run` of a run whose experiment is already known answers with a KnownRun."""

    def __init__(self, tracking_store, size=CACHE_SIZE):
        self._tracking_store, self._size = tracking_store, size
        self._known = OrderedDict()  # run id -> experiment id
        self._lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self._tracking_store(), name)

    def get_run(self, run_id):
        with self._lock:
            experiment_id = self._known.get(run_id)
        if experiment_id is not None:
            return KnownRun(experiment_id)
        run = self._tracking_store().get_run(run_id)
        with self._lock:
            keep(self._known, run_id, run.info.experiment_id, self._size)
        return run


def apply(auth_module, database_uri):
    """Puts the kept answers into MLflow's engine (`mlflow.server.auth`, after its create_app):
    its user store, when on PostgreSQL, and its view of runs."""
    import sqlalchemy  # pylint: disable=import-outside-toplevel,import-error
    from flask import g, has_request_context  # pylint: disable=import-outside-toplevel,import-error

    url = sqlalchemy.engine.make_url(database_uri)
    if url.get_backend_name() == "postgresql":
        dialect = sqlalchemy.create_engine(url).dialect  # the driver and its arguments, as MLflow's store connects
        arguments, keywords = dialect.create_connect_args(url)

        def connect():
            connection = dialect.dbapi.connect(*arguments, **keywords)
            connection.autocommit = True
            return connection

        versions = Versions(connect, (dialect.dbapi.Error,), lambda: g if has_request_context() else None)
        auth_module.store = CachedStore(auth_module.store, versions)
    runs = RunExperiments(auth_module._get_tracking_store)  # pylint: disable=protected-access
    auth_module._get_tracking_store = lambda: runs  # pylint: disable=protected-access

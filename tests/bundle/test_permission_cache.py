"""The permission engine's kept reads (roles/bundle/files/mlflowops_permission_cache.py), in
process against a stand-in store. The same rules on a real server and PostgreSQL, with changes
made by another writer, are in test_permissions.py."""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "roles" / "bundle" / "files" / "mlflowops_permission_cache.py"
_SPEC = importlib.util.spec_from_file_location("mlflowops_permission_cache", SOURCE)
cache = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(cache)


class Store:
    """MLflow's user store as the engine calls it: each call counted, answers from `grants`."""

    def __init__(self):
        self.grants = {"bob": ["EDIT"]}
        self.calls = []

    def get_user(self, username):
        self.calls.append(("get_user", username))
        if username not in self.grants:
            raise LookupError(username)
        return SimpleNamespace(username=username, is_admin=False)

    def list_grants(self, user, workspace, types):
        self.calls.append(("list_grants", user, workspace, frozenset(types)))
        return list(self.grants[user])

    def delete_grants_for_resource(self, user):
        self.calls.append(("delete", user))
        self.grants[user] = []

    @staticmethod
    def _scorer_pattern(experiment_id, name):
        return "%s/%s" % (experiment_id, name)


class Versions:
    """The store's version as a request sees it: None outside a request."""

    def __init__(self, version=1):
        self.version = version
        self.moves = 0

    def current(self):
        return self.version

    def moved(self):
        self.moves += 1


def test_a_read_is_kept_for_as_long_as_the_version_stands():
    store, versions = Store(), Versions()
    kept = cache.CachedStore(store, versions)
    for _attempt in range(3):
        assert kept.list_grants("bob", "default", {"experiment"}) == ["EDIT"]
        assert kept.get_user("bob").username == "bob"
    assert len(store.calls) == 2 and (kept.hits, kept.misses) == (4, 2)
    # The arguments are part of what is kept: a set spelt in another order is the same question,
    # another resource type is another one.
    kept.list_grants("bob", "default", {"experiment"})
    kept.list_grants("bob", "default", {"registered_model"})
    assert len(store.calls) == 3


def test_a_change_elsewhere_moves_the_version_and_the_next_read_asks_the_store():
    store, versions = Store(), Versions()
    kept = cache.CachedStore(store, versions)
    assert kept.list_grants("bob", "default", {"experiment"}) == ["EDIT"]
    store.grants["bob"] = []  # revoked by another instance: its commit moved the version
    versions.version = 2
    assert kept.list_grants("bob", "default", {"experiment"}) == []
    # A request still at the old version (it started before the change) asks the store again:
    # what was kept at the old version is gone once a newer one was seen.
    versions.version = 1
    assert kept.list_grants("bob", "default", {"experiment"}) == []
    assert [call[0] for call in store.calls] == ["list_grants"] * 3


def test_a_write_through_this_worker_forgets_everything_at_once():
    store, versions = Store(), Versions()
    kept = cache.CachedStore(store, versions)
    kept.list_grants("bob", "default", {"experiment"})
    kept.delete_grants_for_resource("bob")  # same request, same version: still seen at once
    assert kept.list_grants("bob", "default", {"experiment"}) == []
    assert versions.moves == 1  # and the request reads the version again before its next look


def test_without_a_version_every_read_goes_to_the_store():
    store = Store()
    kept = cache.CachedStore(store, Versions(version=None))
    for _attempt in range(3):
        kept.get_user("bob")
    assert len(store.calls) == 3 and kept.hits == 0


def test_a_failed_read_is_not_kept_and_private_helpers_pass_through():
    store = Store()
    kept = cache.CachedStore(store, Versions())
    for _attempt in range(2):
        with pytest.raises(LookupError):
            kept.get_user("mallory")
    assert store.calls == [("get_user", "mallory")] * 2
    assert kept._scorer_pattern("1", "s") == "1/s"  # pylint: disable=protected-access
    store.grants["mallory"] = []
    assert kept.get_user("mallory").username == "mallory"


def test_an_argument_that_cant_be_a_key_is_asked_every_time():
    store = Store()
    kept = cache.CachedStore(store, Versions())
    store.get_resource = lambda key: store.calls.append(("get_resource", key))
    kept.get_resource([{"a dict": ["in a list"]}, bytearray(b"not hashable")])
    kept.get_resource([{"a dict": ["in a list"]}, bytearray(b"not hashable")])
    assert store.calls == [("get_resource", [{"a dict": ["in a list"]}, bytearray(b"not hashable")])] * 2
    kept.get_resource([{"a dict": ["in a list"]}, "hashable once frozen"])
    kept.get_resource([{"a dict": ["in a list"]}, "hashable once frozen"])
    assert len(store.calls) == 3


def test_kept_answers_are_bounded():
    store = Store()
    store.grants.update({"user%d" % number: [] for number in range(10)})
    kept = cache.CachedStore(store, Versions(), size=4)
    for number in range(10):
        kept.get_user("user%d" % number)
    kept.get_user("user0")  # dropped long ago
    kept.get_user("user9")  # still there
    assert len(store.calls) == 11


def test_a_runs_experiment_is_read_once_and_nothing_else_of_the_run_is_answered_from_memory():
    runs = {"r1": SimpleNamespace(info=SimpleNamespace(experiment_id="7", status="RUNNING"))}
    asked = []

    class Tracking:
        def get_run(self, run_id):
            asked.append(run_id)
            return runs[run_id]

        @staticmethod
        def get_experiment(experiment_id):
            return experiment_id

    view = cache.RunExperiments(Tracking)
    assert view.get_run("r1").info.status == "RUNNING"  # the first answer is the store's own
    known = view.get_run("r1")
    assert known.info.experiment_id == "7" and asked == ["r1"]
    with pytest.raises(AttributeError):
        known.info.status  # pylint: disable=pointless-statement
    assert view.get_experiment("7") == "7"
    with pytest.raises(KeyError):
        view.get_run("missing")  # not found is not remembered
    with pytest.raises(KeyError):
        view.get_run("missing")
    assert asked == ["r1", "missing", "missing"]


class Connection:
    """A DB-API connection whose reads of the version answer `versions` in turn (an Exception is
    raised); counts its reads and whether it was closed."""

    def __init__(self, versions):
        self.versions, self.reads, self.closed = list(versions), 0, False

    def cursor(self):
        connection = self

        class Cursor:
            answer = None

            def execute(self, statement):
                assert statement == "SELECT version FROM mlflowops_auth_version WHERE id = 1"
                connection.reads += 1
                self.answer = connection.versions.pop(0)
                if isinstance(self.answer, Exception):
                    raise self.answer

            def fetchone(self):
                return (self.answer,)

            def close(self):
                pass

        return Cursor()

    def close(self):
        self.closed = True


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1.0
        return self.now


def test_a_request_uses_only_a_version_read_that_began_after_it_asked():
    """Reads take turns; one that began after a request asked serves it too, one that began
    before never does (it may have missed a change committed in between)."""
    connection, clock = Connection([5, 6]), Clock()
    versions = cache.Versions(lambda: connection, (OSError,), lambda: None, clock=clock)
    asked = clock()  # a request asks...
    assert versions.read(asked) == 5  # ...and its read begins after that: 5
    assert versions.read(asked) == 5 and connection.reads == 1  # another request that asked as early shares it
    assert versions.read(clock()) == 6 and connection.reads == 2  # one that asked after it began reads again


def test_one_request_reads_the_version_once_and_none_is_read_outside_a_request():
    connection, state = Connection([3, 4]), SimpleNamespace()
    versions = cache.Versions(lambda: connection, (OSError,), lambda: state)
    assert versions.current() == 3 and versions.current() == 3 and connection.reads == 1
    outside = cache.Versions(lambda: connection, (OSError,), lambda: None)
    assert outside.current() is None and connection.reads == 1


def test_a_failed_version_read_means_no_kept_answer_and_a_new_connection_next_time():
    broken, fresh = Connection([OSError("server closed the connection")]), Connection([9])
    made = [broken, fresh]
    versions = cache.Versions(lambda: made.pop(0), (OSError,), lambda: None)
    assert versions.read(0.0) is None and broken.closed
    assert versions.read(0.0) == 9 and not made
    store = Store()
    kept = cache.CachedStore(store, SimpleNamespace(current=lambda: None))
    kept.get_user("bob")
    kept.get_user("bob")
    assert len(store.calls) == 2


def test_after_a_write_the_same_request_reads_the_version_again():
    """Another request at the old version may keep an answer read before this request's write;
    this request must not use it: its next look reads the (moved) version again."""
    connection, state = Connection([3, 4]), SimpleNamespace()
    versions = cache.Versions(lambda: connection, (OSError,), lambda: state)
    assert versions.current() == 3
    versions.moved()
    assert versions.current() == 4 and connection.reads == 2

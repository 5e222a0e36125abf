"""Shared test helpers: the repository root and a playbook runner."""

import os
import shutil
import sys
from pathlib import Path

import pytest

from support.ansible import ansible_playbook

ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS = ROOT / ".cache" / "collections"

# Unit tests import the collection as ansible_collections.mlflowops.beanstalk.
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))


def skip_is_failure():
    """Under CI=true every tool is installed and the tests run as root: a skip there hides a test."""
    return os.environ.get("CI", "").lower() == "true"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # pylint: disable=unused-argument
    outcome = yield
    report = outcome.get_result()
    if report.skipped and skip_is_failure() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = "skipped under CI=true, where nothing may be: %s" % reason


@pytest.fixture(scope="session")
def repo_root():
    return ROOT


@pytest.fixture
def run_playbook(tmp_path):
    def run(playbook, extra_vars=None, args=(), env=None):
        return ansible_playbook(playbook, extra_vars, tmp_path, args, env)

    return run


@pytest.fixture(scope="session")
def rendered_bundle(tmp_path_factory):
    """A bundle rendered once by the role, with two known users."""
    workdir = tmp_path_factory.mktemp("bundle")
    users = [{"name": "alice", "password": "alice-Password-0001", "admin": True}, {"name": "bob", "password": "bob-Password-000002"}]
    result = ansible_playbook(
        "tests/support/playbooks/bundle.yml",
        {"bundle_build_dir": str(workdir / "build"), "bundle_users": users},
        workdir,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return {"zip": workdir / "build" / "bundle.zip", "source": workdir / "build" / "source", "users": users}


@pytest.fixture(scope="session")
def local_cloud():
    """The local cloud, on its own ports and state folder, for the whole session."""
    from localcloud.procs import free_port  # pylint: disable=import-outside-toplevel
    from support.cloud import LocalCloud  # pylint: disable=import-outside-toplevel

    if not Path("/usr/lib/postgresql").is_dir() or not shutil.which("nginx"):
        pytest.skip("nginx and PostgreSQL are installed by `make setup`")
    cloud = LocalCloud(ROOT / ".state" / "localcloud-test", free_port(), os.environ.get("LOCALCLOUD_TEST_PORTS", "21000-21999"))
    cloud.cli("start")
    yield cloud
    cloud.cli("stop")


@pytest.fixture
def cloud(local_cloud):
    """The local cloud, reset: no resource and no environment from an earlier test."""
    local_cloud.reset()
    return local_cloud

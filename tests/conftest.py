"""Shared test helpers: the repository root and a playbook runner."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS = ROOT / ".cache" / "collections"

# Unit tests import the collection as ansible_collections.mlflowops.beanstalk.
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))


@pytest.fixture(scope="session")
def repo_root():
    return ROOT


def ansible_env():
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    return env


@pytest.fixture
def run_playbook(tmp_path):
    """Run a playbook on localhost with extra vars passed through a file (never argv)."""

    def run(playbook, extra_vars=None, args=()):
        vars_file = tmp_path / "extra-vars.json"
        vars_file.write_text(json.dumps(extra_vars or {}))
        vars_file.chmod(0o600)
        command = [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i", str(ROOT / "inventories" / "local"),
            "-e", "@" + str(vars_file),
            str(playbook),
            *args,
        ]
        return subprocess.run(command, cwd=ROOT, env=ansible_env(), capture_output=True, text=True, timeout=600)

    return run

"""ansible-playbook as the tests and the benchmarks run it: the repository's ansible.cfg, no
colour, this virtualenv first on PATH, extra variables through a private file (never argv)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def ansible_env(base=None):
    env = dict(os.environ if base is None else base)
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    return env


def ansible_playbook(playbook, extra_vars, workdir, args=(), env=None, timeout=900):
    """Run a playbook with the local inventory and extra vars passed through a file."""
    vars_file = Path(workdir) / "extra-vars.json"
    vars_file.write_text(json.dumps(extra_vars or {}))
    vars_file.chmod(0o600)
    command = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i", str(ROOT / "inventories" / "local"),
        "-e", "@" + str(vars_file),
        str(playbook),
        *args,
    ]
    return subprocess.run(command, cwd=ROOT, env=playbook_env(env), capture_output=True, text=True, timeout=timeout, check=False)


def playbook_env(overrides=None):
    """ansible_env() with `overrides` and, unless they name one, the local cloud's CA in
    AWS_CA_BUNDLE for the lookups, as `make deploy` gives it."""
    overrides = overrides or {}
    env = dict(ansible_env(), **overrides)
    if "AWS_CA_BUNDLE" not in overrides:
        env["AWS_CA_BUNDLE"] = "%s/tls/ca.pem" % env.get("LOCALCLOUD_STATE_DIR", ROOT / ".state" / "localcloud")
    return env

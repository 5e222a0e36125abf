"""What several benchmarks share: rendering a bundle with the role, and its server virtualenv."""

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def render_bundle(build, **variables):
    """The bundle role's output in `build` (source/ and bundle.zip), rendered with these variables."""
    build = Path(build)
    build.mkdir(parents=True, exist_ok=True)
    extra = build.parent / (build.name + ".vars.json")
    extra.write_text(json.dumps(dict(variables, bundle_build_dir=str(build))))
    subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(ROOT / "inventories" / "local"),
                    "-e", "@" + str(extra), str(ROOT / "tests" / "playbooks" / "bundle.yml")],
                   cwd=ROOT, check=True, capture_output=True, env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg")))
    extra.unlink()
    return build


def server_venv(build):
    """The virtualenv the local platform runs the bundle's MLflow from (cached by requirements)."""
    # pylint: disable=import-outside-toplevel
    from localcloud.config import load
    from localcloud.platform.image import prepared_venv

    return prepared_venv(Path(build) / "source" / "requirements.txt", load().venv_cache)

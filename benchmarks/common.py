"""What several benchmarks share: rendering a bundle with the role, and its server virtualenv.

Imported after ROOT and ROOT/tests are put on sys.path, as every benchmark does first.
"""

import sys
from pathlib import Path

from support.ansible import ROOT, ansible_playbook


def render_bundle(build, **variables):
    """The bundle role's output in `build` (source/ and bundle.zip), rendered with these variables."""
    build = Path(build)
    build.parent.mkdir(parents=True, exist_ok=True)
    result = ansible_playbook(ROOT / "tests" / "playbooks" / "bundle.yml", dict(variables, bundle_build_dir=str(build)), build.parent)
    if result.returncode != 0:
        sys.exit("rendering the bundle failed:\n" + result.stdout[-4000:])
    return build


def server_venv(build):
    """The virtualenv the local platform runs the bundle's MLflow from (cached by requirements)."""
    # pylint: disable=import-outside-toplevel
    from localcloud.config import load
    from localcloud.platform.image import prepared_venv

    return prepared_venv(Path(build) / "source" / "requirements.txt", load().venv_cache)

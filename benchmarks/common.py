"""What several benchmarks share: rendering a bundle with the role, and its server virtualenv.

Imported after ROOT and ROOT/tests are put on sys.path, as every benchmark does first.
"""

import os
import subprocess
import sys
from pathlib import Path

from support.ansible import ROOT, ansible_playbook


def render_bundle(build, **variables):
    """The bundle role's output in `build` (source/ and bundle.zip), rendered with these variables."""
    build = Path(build)
    build.parent.mkdir(parents=True, exist_ok=True)
    result = ansible_playbook(ROOT / "tests" / "support" / "playbooks" / "bundle.yml", dict(variables, bundle_build_dir=str(build)), build.parent)
    if result.returncode != 0:
        sys.exit("rendering the bundle failed:\n" + result.stdout[-4000:])
    return build


def server_venv(build):
    """The virtualenv the local platform runs the bundle's MLflow from (cached by requirements)."""
    # pylint: disable=import-outside-toplevel
    from localcloud.config import load
    from localcloud.platform.image import prepared_venv

    return prepared_venv(Path(build) / "source" / "requirements.txt", load().venv_cache)


def start_mlflow(venv, backend_store_uri, artifacts_destination, cwd=None, env=None, args=()):
    """A plain `mlflow server` (one worker, job runner off) on a free port, once it answers /health.

    Returns the process (in its own session, for `stop_group`) and its port.
    """
    # pylint: disable=import-outside-toplevel
    from localcloud.procs import free_port, http_status, wait_until

    port = free_port()
    process = subprocess.Popen(  # pylint: disable=consider-using-with
        [str(Path(venv) / "bin" / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", backend_store_uri, "--serve-artifacts", "--artifacts-destination", artifacts_destination, *args],
        cwd=cwd, env=dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", **(env or {})),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    if not wait_until(lambda: http_status("http://127.0.0.1:%d/health" % port) == 200, 180, 0.5):
        sys.exit("MLflow did not start")
    return process, port

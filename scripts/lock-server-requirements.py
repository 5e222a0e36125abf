"""Writes the server image's hash-locked requirements for one MLflow release.

    make lock MLFLOW_VERSION=3.17.2

Resolves `mlflow[auth]==<version>` (the auth extra: MLflow's permission engine, which the auth layer
hands each request's permission decision to) and the role's `bundle_server_requirements` (read from
roles/bundle/defaults/main.yml, so the pins live in one place) on this Python, which must be the
base image's minor version, into roles/bundle/files/requirements/mlflow-<version>.txt, with the
hashes of every file of each pinned release (every architecture: x86_64 and Graviton instances
install from the same file). The bundle installs it with `pip install --require-hashes`. An existing
file's pins are kept where they still fit (pip-compile's default), so adding a package changes
only what it brings; delete the file first to resolve everything anew.
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS = ROOT / "roles" / "bundle" / "defaults" / "main.yml"
BASE_PYTHON = (3, 11)


def main(version, pip_compile):
    if not re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", version):
        sys.exit("MLFLOW_VERSION must be X.Y.Z, got %r" % version)
    if sys.version_info[:2] != BASE_PYTHON:
        sys.exit("resolve on Python %d.%d, the base image's" % BASE_PYTHON)
    pins = ["mlflow[auth]==" + version] + yaml.safe_load(DEFAULTS.read_text())["bundle_server_requirements"]
    output = ROOT / "roles" / "bundle" / "files" / "requirements" / ("mlflow-%s.txt" % version)
    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "server.in"
        source.write_text("\n".join(pins) + "\n")
        subprocess.run(
            [pip_compile, "--quiet", "--generate-hashes", "--allow-unsafe", "--no-strip-extras", "--no-emit-index-url",
             "--no-emit-find-links", "--no-emit-trusted-host", "--output-file", str(output), source.name],
            check=True, cwd=work, env=dict(os.environ, CUSTOM_COMPILE_COMMAND="make lock MLFLOW_VERSION=%s" % version))
    print(output.relative_to(ROOT))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

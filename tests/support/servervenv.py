"""The MLflow server's virtualenv, built from a bundle's own requirements.txt.

This is what the container image installs; the same pins run the server on this machine.
Virtualenvs are kept under .cache/venvs, keyed by the requirements' hash, and reused.
"""

import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def server_venv(requirements_file):
    content = Path(requirements_file).read_bytes()
    venv = ROOT / ".cache" / "venvs" / ("server-" + hashlib.sha256(content).hexdigest()[:12])
    ready = venv / ".ready"
    if not ready.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "-r", str(requirements_file)],
            check=True,
            capture_output=True,
            text=True,
        )
        ready.write_text(content.decode())
    return venv

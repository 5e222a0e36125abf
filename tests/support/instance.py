"""One server instance as EB runs it: the bundle's entrypoint with its environment properties,
on a throwaway PostgreSQL (support.postgres), reached on its own port."""

import os
import time
import urllib.request


def instance_env(venv, database, workdir, port, password, **extra):
    """The entrypoint's environment: the database owner `mlflow` with `password`, artifacts under
    `workdir`, MLflow on `port`; `extra` adds or replaces properties."""
    env = {
        "PATH": "%s:%s" % (venv / "bin", os.environ["PATH"]),
        "HOME": str(workdir),
        "MLFLOW_DB_HOST": "127.0.0.1",
        "MLFLOW_DB_PORT": str(database.port),
        "MLFLOW_DB_USER": "mlflow",
        "MLFLOW_DB_PASSWORD": password,
        "MLFLOW_DB_NAME": "mlflow",
        "MLFLOW_DB_SSLROOTCERT": str(database.ca),
        "MLFLOW_ARTIFACTS_DESTINATION": str(workdir / "artifacts"),
        "MLFLOW_PORT": str(port),
    }
    env.update(extra)
    return env


def wait_healthy(port, process, timeout=120):
    """Whether the instance answers its health path before `timeout` (False once it exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False

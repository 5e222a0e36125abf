"""What several benchmarks share: rendering a bundle with the role, and its server virtualenv.

Imported after ROOT and ROOT/tests are put on sys.path, as every benchmark does first.
"""

import os
import re
import statistics
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


def start_mlflow(venv, backend_store_uri, artifacts_destination, cwd=None, env=None, args=(), workers=1):
    """A plain `mlflow server` (one worker unless asked, job runner off) on a free port, once it
    answers /health.

    Returns the process (in its own session, for `stop_group`) and its port.
    """
    # pylint: disable=import-outside-toplevel
    from localcloud.procs import free_port, http_status, wait_until

    port = free_port()
    process = subprocess.Popen(  # pylint: disable=consider-using-with
        [str(Path(venv) / "bin" / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
         "--backend-store-uri", backend_store_uri, "--serve-artifacts", "--artifacts-destination", artifacts_destination, *args],
        cwd=cwd, env=dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", **(env or {})),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    if not wait_until(lambda: http_status("http://127.0.0.1:%d/health" % port) == 200, 180, 0.5):
        sys.exit("MLflow did not start")
    return process, port


def tree(root_pids):
    """The processes `root_pids` and all their descendants, from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    members, changed = set(root_pids), True
    while changed:
        grown = {pid for pid, parent in parents.items() if parent in members}
        changed = not grown <= members
        members |= grown
    return members


def tree_rss(root_pids):
    """Resident memory (MB) of processes and all their descendants."""
    total = 0
    for pid in tree(root_pids):
        try:
            match = re.search(r"VmRSS:\s+(\d+) kB", Path("/proc/%d/status" % pid).read_text())
        except OSError:
            continue
        total += int(match.group(1)) if match else 0
    return total / 1024


def tree_cpu(root_pids):
    """CPU seconds (user and system) used so far by processes and all their descendants alive now."""
    ticks = 0
    for pid in tree(root_pids):
        try:
            fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def medians(measured):
    """{setup: {request: (median of each figure over the rounds)}} from {setup: {request: [figures of each round]}}."""
    return {name: {kind: tuple(statistics.median(figure) for figure in zip(*values)) for kind, values in rows.items()}
            for name, rows in measured.items()}


def stop_all(nginxes, processes, cluster):
    """Stops what a benchmark started: its nginx servers, its process groups, its PostgreSQL."""
    from localcloud.procs import stop_group  # pylint: disable=import-outside-toplevel

    for nginx in nginxes:
        nginx.stop()
    for process in processes:
        stop_group(process)
    cluster.stop()


def bundle_on_postgres(workdir, users):
    """In `workdir` (opened to PostgreSQL's and nginx's own users): a bundle rendered for `users`
    at bcrypt-10, its server virtualenv, and a throwaway PostgreSQL with an empty database.
    Returns (build, venv, cluster, database URI)."""
    # pylint: disable=import-outside-toplevel
    from localcloud.postgres import Cluster
    from localcloud.procs import free_port

    workdir = Path(workdir)
    workdir.chmod(0o755)
    build = render_bundle(workdir / "bundle", bundle_users=users, bundle_htpasswd_rounds=10)
    venv = server_venv(build)
    cluster = Cluster(workdir / "pg", free_port()).start()
    cluster.ensure_database("mlflow", "mlflow", "bench-db-0001")
    return build, venv, cluster, "postgresql+psycopg2://mlflow:bench-db-0001@127.0.0.1:%d/mlflow" % cluster.port


def mlflow_app(workdir, name, module, source):
    """A folder for PYTHONPATH registering `--app-name <name>` with MLflow: `module` (written from
    `source`) with its `create_app`, found through an entry point in a dist-info of its own."""
    folder = Path(workdir) / name
    info = folder / ("%s-1.0.dist-info" % name.replace("-", "_"))
    info.mkdir(parents=True)
    (folder / ("%s.py" % module)).write_text(source)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n" % name)
    (info / "entry_points.txt").write_text("[mlflow.app]\n%s = %s:create_app\n" % (name, module))
    return folder

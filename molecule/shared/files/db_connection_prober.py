"""Opens new database connections with every running instance's own settings, until a stop file appears.

As a server does when its pool grows or a connection is recycled: each round, for each MLflow
server process of the local cloud (under the state folder given as the first argument), a new
connection with the URI the instance's server has (read from /proc, so this runs as root) and a
`SELECT 1`. A connection that fails while its instance still runs is a failure; an instance
that stopped meanwhile (replaced by a deployment) is not. Prints JSON at the end: connections,
failures (with any password masked), the logins seen and the instances seen.
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

STATE, STOP = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
sys.path.insert(0, sys.argv[3])  # the repository, for the local cloud's PostgreSQL tools
from localcloud.postgres import pg_bin  # noqa: E402  pylint: disable=wrong-import-position

PSQL = pg_bin("psql")


def servers():
    """{pid: (instance folder, libpq URI)} of the MLflow servers the local cloud runs."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().decode(errors="replace")
            # The server's processes, not the start-up steps that connect as the schema's owner.
            if "mlflow" not in command or "migrate.py" in command or "entrypoint.sh" in command:
                continue
            cwd = Path(os.readlink(proc / "cwd"))
            environ = dict(item.split("=", 1) for item in (proc / "environ").read_bytes().decode(errors="replace").split("\0") if "=" in item)
        except OSError:
            continue
        uri = environ.get("MLFLOW_BACKEND_STORE_URI", "")
        if uri.startswith("postgresql") and STATE in cwd.parents:
            found[int(proc.name)] = (str(cwd), re.sub(r"^postgresql\+psycopg2://", "postgresql://", uri))
    return found


def login_of(uri):
    return unquote(urlsplit(uri).username or "")


def masked(text, uri):
    password = urlsplit(uri).password
    return text.replace(password, "****").replace(unquote(password), "****") if password else text


report = {"connections": 0, "failures": [], "logins": set(), "instances": set()}
while not STOP.exists():
    # One connection per instance and round: its server's processes share one URI.
    per_instance = {}
    for pid, (instance, uri) in sorted(servers().items()):
        per_instance.setdefault(instance, (pid, uri))
    for instance, (pid, uri) in per_instance.items():
        result = subprocess.run([PSQL, "-d", uri, "-Atc", "SELECT 1"], capture_output=True, text=True, check=False, timeout=30)
        report["connections"] += 1
        report["logins"].add(login_of(uri))
        report["instances"].add(instance)
        if result.returncode != 0 and Path("/proc/%d" % pid).exists():
            report["failures"].append({"instance": instance, "login": login_of(uri), "error": masked(result.stderr.strip(), uri)})
    time.sleep(0.25)
print(json.dumps({key: sorted(value) if isinstance(value, set) else value for key, value in report.items()}))

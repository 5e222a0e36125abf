"""python -m localcloud start|stop|status|reset|env|sql DATABASE STATEMENT

  start   start the local cloud in the background (nothing happens if it already runs)
  stop    stop it: every instance, nginx and PostgreSQL it started; remove its state
  status  say whether it runs, and where
  reset   forget every resource (moto's reset API) and stop every environment, in seconds
  env     print the variables that point AWS clients at it
  sql     run one SQL statement in a database of its PostgreSQL (an RDS instance's db_name),
          as the superuser, and print the rows (inspection and tests)
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from localcloud import config as config_module
from localcloud.procs import wait_until

START_TIMEOUT = 120


def read_pid(config):
    try:
        pid = int(config.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if Path("/proc/%d" % pid).exists() else None


def answers(config):
    """Whether the API answers (a cheap call: moto's data.json dumps every resource)."""
    request = urllib.request.Request(config.http_endpoint + "/", data=b"Action=GetCallerIdentity&Version=2011-06-15",
                                     headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "localcloud-platform (cli)",
                                              "Authorization": "AWS4-HMAC-SHA256 Credential=localcloud/20260101/us-east-1/sts/aws4_request"})
    try:
        with urllib.request.urlopen(request, timeout=10):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def start(config):
    if read_pid(config) and answers(config):
        print("The local cloud already runs at %s" % config.endpoint)
        return 0
    stop(config, quiet=True)
    config.state_dir.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with open(config.log_file, "ab") as log:
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-m", "localcloud", "serve"], cwd=config_module.REPO_ROOT,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    up = wait_until(lambda: process.poll() is not None or (read_pid(config) and answers(config)), START_TIMEOUT, 0.1)
    if not up or process.poll() is not None:
        print("The local cloud did not start; its log (%s) ends with:" % config.log_file, file=sys.stderr)
        print(config.log_file.read_text()[-3000:], file=sys.stderr)
        stop(config, quiet=True)
        return 1
    print("The local cloud runs at %s (started in %.1f s; state in %s)" % (config.endpoint, time.monotonic() - began, config.state_dir))
    return 0


def _kill_leftovers(config):
    """Whatever a daemon that died hard left behind: apps, nginx masters, PostgreSQL."""
    # pylint: disable=import-outside-toplevel
    from localcloud.postgres import Cluster
    from localcloud.daemon import clean_state

    if not config.state_dir.is_dir():
        return
    for pid_file in list(config.state_dir.rglob("app.pid")) + list(config.state_dir.rglob("nginx.pid")):
        try:
            pid = int(pid_file.read_text().strip())
            if pid_file.name == "app.pid":
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGQUIT)
        except (OSError, ValueError):
            pass
    postgres = config.state_dir / "postgres"
    if (postgres / "data" / "postmaster.pid").exists():
        try:
            Cluster(postgres, 0).stop(mode="immediate")
        except subprocess.CalledProcessError:
            pass
    time.sleep(0.2)
    clean_state(config)


def stop(config, quiet=False):
    pid = read_pid(config)
    if pid:
        os.kill(pid, signal.SIGTERM)
        process = Path("/proc/" + str(pid))
        if not wait_until(lambda: read_pid(config) is None and not process.exists(), 60, 0.1):
            os.kill(pid, signal.SIGKILL)
    _kill_leftovers(config)
    if not quiet:
        print("The local cloud is stopped." if pid else "The local cloud was not running.")
    return 0


def status(config):
    if read_pid(config) and answers(config):
        print(json.dumps(json.loads((config.state_dir / "localcloud.json").read_text()), indent=2))
        return 0
    print("The local cloud is not running.")
    return 3


def reset(config):
    began = time.monotonic()
    request = urllib.request.Request(config.http_endpoint + "/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=60):
        pass
    print("Reset in %.2f s" % (time.monotonic() - began))
    return 0


def env(config):
    print("export AWS_ENDPOINT_URL=%s" % config.endpoint)
    print("export AWS_CA_BUNDLE=%s" % config.ca_certificate)
    print("export AWS_DEFAULT_REGION=%s" % config.region)
    print("export AWS_ACCESS_KEY_ID=localcloud AWS_SECRET_ACCESS_KEY=localcloud")
    return 0


def serve(config):
    from localcloud import daemon  # pylint: disable=import-outside-toplevel

    daemon.serve(config)
    return 0


def sql(config, database, statement):
    from localcloud.postgres import Cluster  # pylint: disable=import-outside-toplevel

    if not (read_pid(config) and answers(config)):
        print("The local cloud is not running.", file=sys.stderr)
        return 3
    port = json.loads((config.state_dir / "localcloud.json").read_text())["postgres_port"]
    print(Cluster(config.state_dir / "postgres", port).sql(statement, database), end="")
    return 0


COMMANDS = {"start": start, "stop": stop, "status": status, "reset": reset, "env": env, "serve": serve}


def main(argv):
    if len(argv) == 3 and argv[0] == "sql":
        return sql(config_module.load(), argv[1], argv[2])
    if len(argv) != 1 or argv[0] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](config_module.load())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

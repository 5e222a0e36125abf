"""A throwaway PostgreSQL cluster on 127.0.0.1, run as the postgres user (it refuses root)."""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from support.ebnginx import free_port


def pg_bin(name):
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/" + name))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (make setup installs it)")
    return found[-1]


class ThrowawayPostgres:
    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="mlflowops-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres")

    def _run(self, *command, **kwargs):
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run(prefix + list(command), check=True, capture_output=True, text=True, **kwargs)

    def start(self):
        self._run(pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8")
        options = "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off" % (self.port, self.root)
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")
        return self

    def sql(self, statement, database="postgres"):
        return self._run(
            pg_bin("psql"), "-h", str(self.root), "-p", str(self.port), "-U", "postgres", "-d", database,
            "-v", "ON_ERROR_STOP=1", "-Atc", statement,
        ).stdout

    def create_database(self, name, owner, password):
        self.sql("CREATE ROLE \"%s\" LOGIN PASSWORD '%s'" % (owner, password.replace("'", "''")))
        self.sql('CREATE DATABASE "%s" OWNER "%s"' % (name, owner))

    def stop(self):
        try:
            self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)

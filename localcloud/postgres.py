"""The throwaway PostgreSQL cluster that stands in for RDS (initdb in the state folder).

PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` account.
Local connections over the socket are trusted (the harness administers the cluster); TCP on
127.0.0.1 needs a password (scram-sha-256), as an RDS endpoint does. Given a certificate and key,
the cluster serves TCP over TLS only, as RDS for PostgreSQL 15 and later does by default
(`rds.force_ssl` = 1: a connection without encryption finds no pg_hba.conf entry), see
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/PostgreSQL.Concepts.General.SSL.html
"""

import glob
import re
import shutil
from pathlib import Path

from localcloud.config import HOST
from localcloud.procs import as_user, is_root, run, service_user


def pg_bin(name):
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/" + name))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (`make setup` installs it from Debian's packages)")
    return found[-1]


def quote_ident(name):
    return '"%s"' % name.replace('"', '""')


def quote_literal(value):
    return "'%s'" % value.replace("'", "''")


class Cluster:
    def __init__(self, root, port, tls=None):
        """`tls`: (certificate, key) paths to serve TCP with, TLS only; kept in the cluster's own
        configuration, so that whoever restarts it later serves TLS too."""
        self.root = Path(root)
        self.data = self.root / "data"
        self.port = port
        self.user = service_user("postgres")
        self.tls = tls

    def _run(self, *command):
        return run(as_user(self.user, command))

    def start(self):
        self.root.mkdir(parents=True, exist_ok=True)
        if is_root():
            shutil.chown(self.root, user=self.user)
        if not (self.data / "PG_VERSION").exists():
            shutil.rmtree(self.data, ignore_errors=True)
            self._run(pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-E", "UTF8",
                      "--auth-local=trust", "--auth-host=scram-sha-256")
        if self.tls:
            self._serve_tls_only()
        options = "-p %d -k %s -c listen_addresses=%s -c fsync=off -c max_connections=200" % (self.port, self.root, HOST)
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "postgresql.log"), "-w", "-t", "30", "start")
        return self

    def _serve_tls_only(self):
        cert, key = self.tls
        for source, name in ((cert, "server.crt"), (key, "server.key")):
            shutil.copyfile(source, self.data / name)
            (self.data / name).chmod(0o600)
            if is_root():
                shutil.chown(self.data / name, user=self.user)
        conf = self.data / "postgresql.conf"
        if "\nssl = on\n" not in conf.read_text():
            with open(conf, "a", encoding="utf-8") as handle:
                handle.write("\n# TLS only on TCP, as RDS (rds.force_ssl = 1)\nssl = on\n")
        hba = self.data / "pg_hba.conf"
        hba.write_text(re.sub(r"(?m)^host(\s)", r"hostssl\1", hba.read_text()))

    def running(self):
        return (self.data / "postmaster.pid").exists()

    def stop(self, mode="fast"):
        if self.running():
            self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def sql(self, statement, database="postgres"):
        return self._run(
            pg_bin("psql"), "-h", str(self.root), "-p", str(self.port), "-U", "postgres", "-d", database,
            "-v", "ON_ERROR_STOP=1", "-Atc", statement,
        ).stdout

    def ensure_database(self, name, owner, password):
        """The database and its owner exist, the owner with this password and what RDS gives its
        master user: CREATEROLE and CREATEDB, not SUPERUSER
        (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.MasterAccounts.html)."""
        exists = self.sql("SELECT 1 FROM pg_roles WHERE rolname = %s" % quote_literal(owner)).strip()
        verb = "ALTER" if exists else "CREATE"
        self.sql("%s ROLE %s LOGIN NOSUPERUSER CREATEROLE CREATEDB PASSWORD %s" % (verb, quote_ident(owner), quote_literal(password)))
        if name != "postgres" and not self.sql("SELECT 1 FROM pg_database WHERE datname = %s" % quote_literal(name)).strip():
            self.sql("CREATE DATABASE %s OWNER %s" % (quote_ident(name), quote_ident(owner)))

    def drop_database(self, name, owner=None):
        """Drops the database and, with `owner`, every other database the owner made and the owner:
        an RDS instance's deletion takes every database on it, not only the one it was created with."""
        names = [name] if name else []
        if owner:
            names += self.sql("SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = %s"
                              % quote_literal(owner)).split()
        for database in dict.fromkeys(names):
            self.sql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % quote_ident(database))
        if owner:
            self.sql("DROP ROLE IF EXISTS %s" % quote_ident(owner))

    def drop_everything(self):
        """Drops every database and role a test made: the reset between scenarios (one psql run)."""
        names = self.sql("SELECT datname FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1')").split()
        roles = self.sql("SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' AND rolname <> 'postgres'").split()
        statements = ["DROP DATABASE IF EXISTS %s WITH (FORCE)" % quote_ident(name) for name in names]
        statements += ["DROP OWNED BY %s" % quote_ident(role) for role in roles]
        statements += ["DROP ROLE IF EXISTS %s" % quote_ident(role) for role in roles]
        if statements:
            command = [pg_bin("psql"), "-h", str(self.root), "-p", str(self.port), "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1"]
            for statement in statements:
                command += ["-c", statement]
            self._run(*command)

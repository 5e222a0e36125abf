"""The local cloud's server process: moto with our EB, the platform and the PostgreSQL cluster.

Run by `python -m localcloud start` in the background (never by hand): it writes its pid file
once it answers, and on SIGTERM stops every instance, nginx and PostgreSQL it started, then
removes its state (all but its log).
"""

import json
import logging
import os
import shutil
import signal
import socket
import ssl
import sys
import threading
import time
from urllib.parse import parse_qs

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

# pylint: disable=wrong-import-position
from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import ThreadedWSGIServer

from localcloud import config as config_module
from localcloud.config import HOST
from localcloud.iamcheck import credential_scope, peek_body
from localcloud.postgres import Cluster
from localcloud.procs import is_root

WRITE_PREFIXES = ("Create", "Update", "Delete", "Put", "Terminate", "Modify", "Attach", "Detach", "Add", "Remove",
                  "Tag", "Untag", "Rebuild", "Restart", "Swap", "Abort", "Apply", "Authorize", "Revoke", "Associate",
                  "Disassociate", "Set", "Reboot", "Start", "Stop", "Rotate", "Restore", "Upload", "Enable", "Disable",
                  "Register", "Deregister", "Copy", "Compose", "Send", "Import", "Run", "Replace", "Cancel", "Reset")


def classify(method, action):
    if action.startswith(method + " "):  # a REST call (S3): its method tells
        return "read" if method in ("GET", "HEAD") else "write"
    return "write" if action.startswith(WRITE_PREFIXES) else "read"


class RequestLog:
    """WSGI middleware: one JSON line per AWS API call (service, action, read or write, caller).

    The platform's own reads (fetching a bundle, a secret) are not logged: they stand for what
    an instance does, not for calls the collection makes.
    """

    def __init__(self, app, path, instance_key=lambda key: False):
        """`instance_key(access key id)`: whether the key is one the instances' metadata service handed out."""
        self.app = app
        self.path = path
        self.instance_key = instance_key
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if "localcloud-platform" in environ.get("HTTP_USER_AGENT", "") or environ.get("PATH_INFO", "").startswith("/moto-api"):
            return self.app(environ, start_response)
        service, action = self.describe(environ)
        # Calls signed with an instance profile's credentials come from an instance (its app or hooks).
        scope = credential_scope(environ)
        caller = "instance" if scope and self.instance_key(scope[0]) else "client"
        record = {"time": time.time(), "service": service, "action": action, "caller": caller,
                  "kind": classify(environ.get("REQUEST_METHOD", ""), action)}
        with self.lock, open(self.path, "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        return self.app(environ, start_response)

    @staticmethod
    def describe(environ):
        scope = credential_scope(environ)
        service = scope[3] if len(scope) >= 4 else "unknown"
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            return service, target.rsplit(".", 1)[-1]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        content_type = environ.get("CONTENT_TYPE", "")
        if length and "x-www-form-urlencoded" in content_type:
            action = parse_qs(peek_body(environ).decode("utf-8", "replace")).get("Action", [""])[0]
            if action:
                return service, action
        query_action = parse_qs(environ.get("QUERY_STRING", "")).get("Action", [""])[0]
        if query_action:
            return service, query_action
        return service, "%s %s" % (environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", "/"))


class EitherProtocolHandler(MotoRequestHandler):
    def make_environ(self):
        environ = super().make_environ()
        # What aws:SecureTransport reads: whether this connection is TLS.
        environ["wsgi.url_scheme"] = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
        return environ


class EitherProtocolServer(ThreadedWSGIServer):
    """The AWS APIs on one port over HTTPS and over plain HTTP, as S3 answers both: a connection
    whose first byte opens a TLS handshake is served over TLS with the local CA's certificate."""

    def __init__(self, host, port, app, tls_context):
        super().__init__(host, port, app, handler=EitherProtocolHandler)
        self.ssl_context = tls_context  # not the listening socket's: werkzeug reads it for its TLS errors

    def finish_request(self, request, client_address):
        request.settimeout(60)
        try:
            first = request.recv(1, socket.MSG_PEEK)
            if first == b"\x16":  # a TLS record: handshake
                request = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        request.settimeout(None)
        try:
            self.RequestHandlerClass(request, client_address, self)
        finally:
            if isinstance(request, ssl.SSLSocket):
                self.shutdown_request(request)


def open_state_dir(config):
    config.state_dir.mkdir(parents=True, exist_ok=True)
    if is_root():
        # nginx's workers and PostgreSQL run under their own accounts: they must traverse it.
        config.state_dir.chmod(0o755)
        parent = config.state_dir.parent
        if parent == config_module.REPO_ROOT / ".state":
            parent.chmod(parent.stat().st_mode | 0o011)


def clean_state(config):
    for entry in config.state_dir.iterdir():
        if entry == config.log_file:
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def serve(config):
    # pylint: disable=import-outside-toplevel
    from moto.moto_api._internal import models as moto_api_models
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from localcloud import acm, eb, ec2, iamcheck, rds, s3large, s3policy, s3presign, tls
    from localcloud.platform import Platform
    from localcloud.procs import PortPool

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    log = logging.getLogger("localcloud")
    open_state_dir(config)
    ca_cert, ca_key = tls.make_ca(config.state_dir / "tls")
    pool = PortPool(config.port_range)
    # RDS's endpoint serves TLS only, with a certificate from the CA the instances get as RDS's.
    database_tls = tls.issue(ca_cert, ca_key, ["localhost"], config.state_dir / "tls" / "postgres.pem",
                             config.state_dir / "tls" / "postgres-key.pem", addresses=[HOST])
    cluster = Cluster(config.state_dir / "postgres", pool.take(), tls=database_tls).start()
    log.info("PostgreSQL on %s:%d", HOST, cluster.port)
    platform = Platform(config, ca_cert, ca_key, ports=pool, logger=log.info)
    eb.install(platform)
    acm.install()
    ec2.install()
    rds.install(cluster)
    s3policy.install()
    s3large.install()

    original_reset = moto_api_models.MotoAPIBackend.reset

    def reset(self):
        platform.reset()
        cluster.drop_everything()
        original_reset(self)
        s3large.forget()
        acm.add_standing_certificate(ca_cert, ca_key, config.state_dir / "tls", config.region)
        config.request_log.write_text("")

    moto_api_models.MotoAPIBackend.reset = reset

    moto_app = s3presign.PresignedRegion(DomainDispatcherApplication(create_backend_app))
    checked = iamcheck.Authorizer(moto_app, platform.instance_identity, iamcheck.moto_role_documents, iamcheck.moto_bucket_document,
                                  iamcheck.moto_instance_tags, user_of_key=iamcheck.moto_user_of_key, roles_of=iamcheck.moto_roles_of,
                                  principal_documents=iamcheck.moto_principal_documents, eb_environment=iamcheck.local_eb_environment)
    app = RequestLog(checked, config.request_log, platform.is_instance_key)
    api_cert, api_key = tls.issue(ca_cert, ca_key, ["localhost"], config.state_dir / "tls" / "api.pem", config.state_dir / "tls" / "api-key.pem",
                                  addresses=[HOST])
    tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_context.load_cert_chain(api_cert, api_key)
    server = EitherProtocolServer(HOST, config.port, app, tls_context)
    config.request_log.write_text("")
    acm.add_standing_certificate(ca_cert, ca_key, config.state_dir / "tls", config.region)

    def stop(_signum, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    (config.state_dir / "localcloud.json").write_text(json.dumps({
        "pid": os.getpid(), "endpoint": config.endpoint, "region": config.region,
        "ca_certificate": str(ca_cert), "postgres_port": cluster.port,
    }, indent=2))
    config.pid_file.write_text(str(os.getpid()))
    log.info("local cloud answering on %s", config.endpoint)
    try:
        server.serve_forever()
    finally:
        log.info("stopping: environments, PostgreSQL")
        platform.reset()
        cluster.stop()
        clean_state(config)
        log.info("stopped")

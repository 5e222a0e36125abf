"""The nginx processes of the local platform: one per instance, and the front door.

An instance's nginx is laid out like the one on EB's Docker platform (Amazon Linux 2023):
`upstream docker` with keepalive, a server whose `location /` proxies to the container,
`include conf.d/*.conf` at http level and `include conf.d/elasticbeanstalk/*.conf` inside the
server, where the bundle's `.platform/nginx/conf.d/**` files go verbatim. The front door stands
in for the load balancer: HTTP and HTTPS listeners, X-Forwarded-Proto/-Port/-For set, traffic
only to instances whose health check passes (503 when none does, as an ALB answers), bodies
streamed both ways, and the load balancer's idle timeout: a connection on which no byte goes
either way for that long is closed, with 504 when the client was waiting for the response.

nginx applies a new configuration some time after `nginx -s reload` returns: new workers start,
and each old one goes on accepting connections until it handles the signal and closes its
listening sockets. Until then a new connection may be routed by the old configuration. A change
of targets returns only once the new configuration answers and no old worker still listens, so
the environment's health, reported after it, never says Green while the front door answers 503.
"""

import http.client
import os
import shutil
import subprocess
import time
from pathlib import Path

from localcloud.config import HOST
from localcloud.procs import is_root, port_is_open, service_user, wait_until

INSTANCE_CONF = """\
{user_line}worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    server_tokens off;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {root}/logs/access.log;
{temp_paths}
    include conf.d/*.conf;
    map $http_upgrade $connection_upgrade {{ default "upgrade"; }}
    server {{
        listen {host}:{port} default_server;
        client_header_timeout 60;
        client_body_timeout 60;
        keepalive_timeout 60;
        gzip off;
        location / {{
            proxy_pass http://docker;
            proxy_http_version 1.1;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
        include conf.d/elasticbeanstalk/*.conf;
    }}
}}
"""

UPSTREAM_CONF = """\
upstream docker {{
    server {host}:{app_port};
    keepalive 256;
}}
"""

FRONT_CONF = """\
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    server_tokens off;
    access_log {root}/logs/access.log;
{temp_paths}
    client_max_body_size 0;
    add_header X-Localcloud-Generation {generation} always;
    # The ALB's idle timeout, on the client's side and the target's, and its 10 s connect timeout.
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#connection-idle-timeout
    client_header_timeout {idle};
    client_body_timeout {idle};
    send_timeout {idle};
    keepalive_timeout {idle};
    proxy_connect_timeout 10;
    proxy_read_timeout {idle};
    proxy_send_timeout {idle};
    proxy_request_buffering off;
    proxy_buffering off;
{upstream}
    server {{
        listen {host}:{http_port};
        # Answered by the front door itself: which configuration serves (see FrontDoor.wait_applied).
        location = /.localcloud/generation {{
            return 204;
        }}
{locations_http}
    }}
    server {{
        listen {host}:{https_port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
{locations_https}
    }}
}}
"""

FRONT_LOCATION = """\
        location / {{
            proxy_pass http://instances;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto {proto};
            proxy_set_header X-Forwarded-Port {port};
        }}"""

REDIRECT = """\
        location / {{
            return {status} https://$host:{https_port}$request_uri;
        }}"""

NO_TARGET = """\
        location / {
            return 503;
        }"""


def temp_paths(root):
    return "\n".join(
        "    %s_temp_path %s/tmp/%s;" % (kind, root, kind) for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )


class Nginx:
    """One nginx master process with its configuration under `root` (also its -p prefix)."""

    def __init__(self, root, port):
        self.root = Path(root)
        self.port = port

    def prepare(self):
        for folder in ("logs", "tmp", "conf.d"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    def _nginx(self, *args):
        return subprocess.run(
            ["nginx", "-p", str(self.root), "-c", str(self.root / "nginx.conf"), *args],
            capture_output=True, text=True, check=False,
        )

    def test(self):
        result = self._nginx("-t")
        if result.returncode != 0:
            raise RuntimeError("nginx configuration test failed: " + result.stderr.strip())

    @property
    def pid(self):
        try:
            return int((self.root / "nginx.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def running(self):
        pid = self.pid
        if pid is None:
            return False
        return Path("/proc/%d" % pid).exists()

    def start(self):
        self.test()
        if self.running():
            return self.reload()
        result = self._nginx()
        if result.returncode != 0:
            raise RuntimeError("nginx failed to start: " + result.stderr.strip())
        if not wait_until(lambda: port_is_open(self.port), 10, 0.05):
            raise RuntimeError("nginx did not listen on port %d" % self.port)
        return None

    def reload(self):
        self.test()
        result = self._nginx("-s", "reload")
        if result.returncode != 0:
            raise RuntimeError("nginx failed to reload: " + result.stderr.strip())

    def stop(self, fast=False):
        if self.running():
            self._nginx("-s", "stop" if fast else "quit")
            if not wait_until(lambda: not self.running(), 10, 0.05):
                self._nginx("-s", "stop")
                wait_until(lambda: not self.running(), 5, 0.05)


class InstanceNginx(Nginx):
    def configure(self, bundle, app_port):
        """(Re)writes the configuration from a bundle's `.platform/nginx`, as EB does on deploy."""
        self.prepare()
        conf_d = self.root / "conf.d"
        shutil.rmtree(conf_d)
        conf_d.mkdir()
        platform_nginx = Path(bundle) / ".platform" / "nginx"
        if (platform_nginx / "conf.d").is_dir():
            shutil.copytree(platform_nginx / "conf.d", conf_d, dirs_exist_ok=True)
        (conf_d / "elasticbeanstalk").mkdir(exist_ok=True)
        (conf_d / "elasticbeanstalk-nginx-docker-upstream.conf").write_text(UPSTREAM_CONF.format(host=HOST, app_port=app_port))
        if (platform_nginx / "nginx.conf").is_file():
            text = (platform_nginx / "nginx.conf").read_text()
        else:
            user = service_user("nginx", "www-data")
            text = INSTANCE_CONF.format(
                user_line="user %s;\n" % user if is_root() else "",
                root=self.root, port=self.port, host=HOST, temp_paths=temp_paths(self.root),
            )
        (self.root / "nginx.conf").write_text(text)


class FrontDoor(Nginx):
    def __init__(self, root, http_port, https_port, cert, key):
        super().__init__(root, https_port)
        self.http_port, self.https_port = http_port, https_port
        self.cert, self.key = cert, key
        self.targets = None
        self.redirect = None
        self.generation = 0
        self.idle_timeout = 60

    def configure(self, targets):
        """Routes to these instance ports only; returns whether anything changed."""
        return self._write(sorted(targets), self.redirect)

    def use_certificate(self, cert, key):
        """Serves this certificate on HTTPS from now on."""
        self.cert, self.key = cert, key
        return self._write(self.targets or [], self.redirect, force=True)

    def set_idle_timeout(self, seconds):
        """Closes connections idle for this many seconds from now on (the ALB's IdleTimeout)."""
        if seconds == self.idle_timeout:
            return False
        self.idle_timeout = seconds
        return self._write(self.targets or [], self.redirect, force=True)

    def set_redirect(self, status):
        """HTTP answers with a redirect to HTTPS (`status`: 301 or 302), or forwards (None)."""
        return self._write(self.targets or [], status)

    def _write(self, targets, redirect, force=False):
        if targets == self.targets and redirect == self.redirect and not force:
            return False
        self.prepare()
        if targets:
            upstream = "    upstream instances {\n%s        keepalive 64;\n        keepalive_timeout %ds;\n    }" % (
                "".join("        server %s:%d;\n" % (HOST, port) for port in targets), self.idle_timeout)
            http = FRONT_LOCATION.format(proto="http", port=self.http_port)
            https = FRONT_LOCATION.format(proto="https", port=self.https_port)
        else:
            upstream, http, https = "", NO_TARGET, NO_TARGET
        if redirect:
            http = REDIRECT.format(status=redirect, https_port=self.https_port)
        self.generation += 1
        (self.root / "nginx.conf").write_text(FRONT_CONF.format(
            root=self.root, host=HOST, http_port=self.http_port, https_port=self.https_port,
            cert=self.cert, key=self.key, upstream=upstream, locations_http=http, locations_https=https,
            temp_paths=temp_paths(self.root), generation=self.generation, idle=self.idle_timeout,
        ))
        self.targets, self.redirect = targets, redirect
        if self.running():
            old_workers = self.workers()
            self.reload()
            self.wait_applied(old_workers)
        return True

    def workers(self):
        """The pids of the master's worker processes."""
        master, found = self.pid, []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == master:
                    found.append(int(proc.name))
            except (OSError, IndexError, ValueError):
                continue
        return found

    def _listening_sockets(self):
        ports = {"%04X" % self.http_port, "%04X" % self.https_port}
        sockets = set()
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[1].rsplit(":", 1)[1] in ports:
                sockets.add("socket:[%s]" % fields[9])
        return sockets

    @staticmethod
    def _holds(pid, sockets):
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            return False
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) in sockets:
                    return True
            except OSError:
                continue
        return False

    def answering_generation(self):
        """The configuration generation a new connection to the front door is served by, or None."""
        connection = http.client.HTTPConnection(HOST, self.http_port, timeout=2)
        try:
            connection.request("GET", "/.localcloud/generation", headers={"Connection": "close"})
            response = connection.getresponse()
            response.read()
            return int(response.getheader("X-Localcloud-Generation") or 0)
        except (OSError, ValueError, http.client.HTTPException):
            return None
        finally:
            connection.close()

    def applied(self, old_workers):
        if self.answering_generation() != self.generation:
            return False
        sockets = self._listening_sockets()
        return not any(self._holds(pid, sockets) for pid in old_workers)

    def wait_applied(self, old_workers, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not self.applied(old_workers):
            if time.monotonic() > deadline:
                raise RuntimeError("the front door did not apply configuration %d within %d s" % (self.generation, timeout))
            time.sleep(0.01)

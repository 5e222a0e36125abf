"""An nginx instance laid out like Elastic Beanstalk's Docker platform on Amazon Linux 2023.

EB's own nginx.conf defines `upstream docker` (keepalive), a server on port 80 with
`location /` proxying to the container, `include conf.d/*.conf` at http level and
`include conf.d/elasticbeanstalk/*.conf` inside the server. A bundle's
`.platform/nginx/conf.d/**` files are copied under conf.d/ verbatim, and its predeploy hooks
run with MLFLOWOPS_NGINX_CONF_DIR pointing at this instance's configuration folder.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

NGINX_CONF = """\
user {user};
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    server_tokens off;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {root}/logs/access.log;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    include conf.d/*.conf;
    map $http_upgrade $connection_upgrade {{ default "upgrade"; }}
    server {{
        listen 127.0.0.1:{port} default_server;
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
    server 127.0.0.1:{app_port};
    keepalive 256;
}}
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nginx_user():
    for name in ("nginx", "www-data"):
        try:
            import pwd

            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return "nobody"


class EBNginx:
    """One instance's nginx, configured from a bundle zip."""

    def __init__(self, bundle_zip, app_port):
        # Under /tmp with an open mode: nginx's workers (not root) must reach the users file.
        self.root = Path(tempfile.mkdtemp(prefix="mlflowops-nginx-"))
        self.root.chmod(0o755)
        self.port = free_port()
        self.app_port = app_port
        self.source = self.root / "bundle"
        with zipfile.ZipFile(bundle_zip) as archive:
            for info in archive.infolist():
                target = self.source / info.filename
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(info))
                target.chmod((info.external_attr >> 16) & 0o777)
        for folder in ("logs", "tmp", "conf.d"):
            (self.root / folder).mkdir()
        platform_nginx = self.source / ".platform" / "nginx"
        if (platform_nginx / "conf.d").is_dir():
            shutil.copytree(platform_nginx / "conf.d", self.root / "conf.d", dirs_exist_ok=True)
        (self.root / "conf.d" / "elasticbeanstalk").mkdir(exist_ok=True)
        (self.root / "conf.d" / "elasticbeanstalk-nginx-docker-upstream.conf").write_text(
            UPSTREAM_CONF.format(app_port=app_port)
        )
        (self.root / "nginx.conf").write_text(NGINX_CONF.format(user=nginx_user(), root=self.root, port=self.port))

    def run_hooks(self, kind="hooks", stage="predeploy"):
        folder = self.source / ".platform" / kind / stage
        env = dict(os.environ, MLFLOWOPS_NGINX_CONF_DIR=str(self.root))
        for hook in sorted(folder.iterdir()) if folder.is_dir() else []:
            subprocess.run([str(hook)], cwd=self.source, env=env, check=True, capture_output=True, text=True)

    def nginx(self, *args):
        return subprocess.run(
            ["nginx", "-p", str(self.root), "-c", str(self.root / "nginx.conf"), *args],
            capture_output=True,
            text=True,
            check=False,
        )

    def start(self):
        test = self.nginx("-t")
        if test.returncode != 0:
            raise RuntimeError("nginx -t failed:\n" + test.stderr)
        started = self.nginx()
        if started.returncode != 0:
            raise RuntimeError("nginx failed to start:\n" + started.stderr)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not listen on %d" % self.port)

    def stop(self):
        pid_file = self.root / "nginx.pid"
        if pid_file.exists():
            self.nginx("-s", "quit")
            deadline = time.monotonic() + 10
            while pid_file.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

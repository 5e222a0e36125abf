"""One instance's nginx from a bundle zip, as the local platform lays it out (EB-like).

A thin wrapper over `localcloud.platform`: the same configuration and hooks the local cloud
runs, without an app or a load balancer, for tests that attack nginx alone.
"""

import shutil
import socket
import tempfile
import zipfile
from pathlib import Path

from localcloud.platform.instance import Instance


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EBNginx:
    def __init__(self, bundle_zip, app_port):
        # Under /tmp with an open mode: nginx's workers (not root) must reach the users file.
        self.base = Path(tempfile.mkdtemp(prefix="mlflowops-nginx-"))
        self.base.chmod(0o755)
        self.instance = Instance(self.base, free_port(), app_port, venv_cache=None)
        self.source = self.instance.root / "current"
        with zipfile.ZipFile(bundle_zip) as archive:
            for info in archive.infolist():
                target = self.source / info.filename
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(info))
                target.chmod((info.external_attr >> 16) & 0o777)
        self.instance.nginx.configure(self.source, app_port)

    @property
    def root(self):
        return self.instance.nginx.root

    @property
    def port(self):
        return self.instance.nginx.port

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def run_hooks(self, kind="hooks", stage="predeploy"):
        self.instance.run_hooks(self.source, kind, stage)

    def start(self):
        self.instance.nginx.start()
        return self

    def stop(self):
        self.instance.nginx.stop()
        shutil.rmtree(self.base, ignore_errors=True)

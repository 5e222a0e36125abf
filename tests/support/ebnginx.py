"""One instance's nginx from a bundle zip, as the local platform lays it out (EB-like).

A thin wrapper over `localcloud.platform`: the same configuration and hooks the local cloud
runs, without an app or a load balancer, for tests that attack nginx alone.
"""

import shutil
import tempfile
from pathlib import Path

from localcloud.platform.instance import Instance, extract
from localcloud.procs import free_port


class EBNginx:
    def __init__(self, bundle_zip, app_port):
        # Under /tmp with an open mode: nginx's workers (not root) must reach the users file.
        self.base = Path(tempfile.mkdtemp(prefix="mlflowops-nginx-"))
        self.base.chmod(0o755)
        # No EC2 instance behind it: no metadata service, no AWS CLI, no AWS endpoint for its hooks.
        self.instance = Instance(self.base, free_port(), app_port, venv_cache=None, instance_id="i-0standin0nginx000",
                                 metadata=lambda hops: "http://127.0.0.1:9/", tools=lambda: "/nonexistent", aws_api={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
        self.source = self.instance.root / "current"
        extract(Path(bundle_zip).read_bytes(), self.source)
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

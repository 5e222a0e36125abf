"""A throwaway PostgreSQL cluster in a temporary folder: the local cloud's RDS stand-in, serving
TCP over TLS only with a certificate for 127.0.0.1 from its own CA (`ca`)."""

import shutil
import tempfile
from pathlib import Path

from localcloud import tls
from localcloud.postgres import Cluster
from support.ebnginx import free_port


# The name on its certificate, with 127.0.0.1: reached as `localhost`, a name check fails.
CERTIFICATE_NAME = "db.mlflowops.test"


class ThrowawayPostgres(Cluster):
    def __init__(self):
        root = Path(tempfile.mkdtemp(prefix="mlflowops-pg-"))
        folder = Path(tempfile.mkdtemp(prefix="mlflowops-pg-tls-"))
        folder.chmod(0o755)
        self.ca, ca_key = tls.make_ca(folder)
        super().__init__(root, free_port(), tls=tls.issue(self.ca, ca_key, [CERTIFICATE_NAME], folder / "server.pem", folder / "server-key.pem",
                                                          addresses=["127.0.0.1"]))
        self.tls_folder = folder

    def create_database(self, name, owner, password):
        self.ensure_database(name, owner, password)

    def stop(self, mode="immediate"):
        super().stop(mode)
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.tls_folder, ignore_errors=True)

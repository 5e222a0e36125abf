"""A throwaway PostgreSQL cluster in a temporary folder: the local cloud's RDS stand-in."""

import shutil
import tempfile

from localcloud.postgres import Cluster
from support.ebnginx import free_port


class ThrowawayPostgres(Cluster):
    def __init__(self):
        root = tempfile.mkdtemp(prefix="mlflowops-pg-")
        super().__init__(root, free_port())

    def create_database(self, name, owner, password):
        self.ensure_database(name, owner, password)

    def stop(self, mode="immediate"):
        super().stop(mode)
        shutil.rmtree(self.root, ignore_errors=True)

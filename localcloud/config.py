"""Where the local cloud keeps its state and which addresses it uses.

Every value can be set in the environment, so `make`, the tests and a laptop trial agree:
  LOCALCLOUD_STATE_DIR   the one folder holding all state (default: <repo>/.state/localcloud)
  LOCALCLOUD_PORT        the AWS API endpoint's port (default 4566)
  LOCALCLOUD_PORTS       the range load balancers, instances and PostgreSQL take ports from
                         (default 20000-20999)
  LOCALCLOUD_REGION      the region reported for the emulated resources (default us-east-1)
Only 127.0.0.1 is ever bound.
"""

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# The name clients use for what the local cloud serves: it resolves to HOST here, and the front
# doors' certificates name it, never an address (a client verifies the hostname as on AWS).
PUBLIC_HOST = "localhost"


@dataclass(frozen=True)
class Config:
    state_dir: Path
    port: int
    port_range: tuple
    region: str

    @property
    def endpoint(self):
        """The AWS APIs over HTTPS, as AWS serves them (certificate from the local CA, for the
        address: the API's clients address S3 buckets by path only on an address)."""
        return "https://%s:%d" % (HOST, self.port)

    @property
    def http_endpoint(self):
        """The same port over plain HTTP: S3 answers it too, and a TLS-only bucket policy refuses it."""
        return "http://%s:%d" % (HOST, self.port)

    @property
    def ca_certificate(self):
        return self.state_dir / "tls" / "ca.pem"

    @property
    def pid_file(self):
        return self.state_dir / "localcloud.pid"

    @property
    def log_file(self):
        return self.state_dir / "localcloud.log"

    @property
    def request_log(self):
        return self.state_dir / "requests.log"

    @property
    def venv_cache(self):
        # Prepared server virtualenvs survive `make down`: they are a cache, not state.
        return REPO_ROOT / ".cache" / "venvs"


def _port_range(text):
    low, _dash, high = text.partition("-")
    low, high = int(low), int(high or low)
    if not 1024 <= low <= high <= 65535 or high - low < 16:
        raise ValueError("LOCALCLOUD_PORTS must be a range like 20000-20999 (at least 16 ports above 1023)")
    return low, high


def load(environ=None):
    environ = os.environ if environ is None else environ
    state_dir = Path(environ.get("LOCALCLOUD_STATE_DIR") or REPO_ROOT / ".state" / "localcloud").resolve()
    return Config(
        state_dir=state_dir,
        port=int(environ.get("LOCALCLOUD_PORT") or 4566),
        port_range=_port_range(environ.get("LOCALCLOUD_PORTS") or "20000-20999"),
        region=environ.get("LOCALCLOUD_REGION") or "us-east-1",
    )

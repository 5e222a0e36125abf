"""The front door (the local load balancer) routes by a new set of targets as soon as it says so.

The environment's health is reported right after the front door's targets change: had the change
returned before nginx applied it, EB would say Green while the front door still answered 503.
"""

import http.server
import shutil
import threading

import pytest

from localcloud.daemon import make_certificate
from localcloud.platform.nginx import FrontDoor
from localcloud.procs import free_port, http_status


class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # pylint: disable=invalid-name
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


@pytest.fixture
def target():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_a_change_of_targets_is_in_force_when_configure_returns(tmp_path, target):
    if not shutil.which("nginx"):
        pytest.skip("nginx is installed by `make setup`")
    cert, key = make_certificate(tmp_path / "tls")
    front = FrontDoor(tmp_path / "front", free_port(), free_port(), cert, key)
    front.configure([])
    front.start()
    try:
        url = "http://127.0.0.1:%d/health" % front.http_port
        seen = []
        for _round in range(25):
            assert front.configure([target])
            seen.append(http_status(url))
            assert front.configure([])
            seen.append(http_status(url))
        assert seen == [200, 503] * 25
    finally:
        front.stop(fast=True)

"""The front door (the local load balancer): routing changes in force at once, and the idle timeout.

The environment's health is reported right after the front door's targets change: had the change
returned before nginx applied it, EB would say Green while the front door still answered 503.
"""

import http.server
import shutil
import threading
import time
import urllib.request
from urllib.parse import parse_qs, urlparse

import pytest

from localcloud.platform.nginx import FrontDoor
from localcloud.procs import free_port, http_status
from localcloud.tls import localhost_certificate


class Ok(http.server.BaseHTTPRequestHandler):
    """200 at once; with ?silent=S first says nothing for S seconds; with ?trickle=S sends one byte
    every S seconds, five times."""

    def do_GET(self):  # pylint: disable=invalid-name
        query = {key: float(values[0]) for key, values in parse_qs(urlparse(self.path).query).items()}
        time.sleep(query.get("silent", 0))
        trickle = query.get("trickle")
        self.send_response(200)
        self.send_header("Content-Length", "5" if trickle else "0")
        self.end_headers()
        for _byte in range(5 if trickle else 0):
            time.sleep(trickle)
            self.wfile.write(b".")

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


def front_door(tmp_path, targets):
    if not shutil.which("nginx"):
        pytest.skip("nginx is installed by `make setup`")
    cert, key = localhost_certificate(tmp_path / "tls")
    front = FrontDoor(tmp_path / "front", free_port(), free_port(), cert, key)
    front.configure(targets)
    front.start()
    return front


@pytest.fixture
def target():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_a_change_of_targets_is_in_force_when_configure_returns(tmp_path, target):
    front = front_door(tmp_path, [])
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


def test_the_idle_timeout_ends_a_silent_wait_with_504_and_spares_a_slow_steady_answer(tmp_path, target):
    """As an ALB: past IdleTimeout seconds without a byte either way the client gets 504, however
    short the whole request; a longer answer that keeps sending is not cut."""
    front = front_door(tmp_path, [target])
    url = "http://127.0.0.1:%d/" % front.http_port
    try:
        assert front.idle_timeout == 60  # the ALB's default
        assert front.set_idle_timeout(1)
        assert http_status(url + "?silent=2", timeout=10) == 504
        with urllib.request.urlopen(url + "?trickle=0.5", timeout=10) as response:  # 2.5 s in all, never 1 s silent
            assert response.read() == b"....."
        assert front.set_idle_timeout(4)
        assert http_status(url + "?silent=2", timeout=10) == 200
    finally:
        front.stop(fast=True)

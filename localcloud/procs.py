"""Small process and network helpers shared by the local cloud's parts."""

import os
import pwd
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

from localcloud.config import HOST


class PortPool:
    """Hands out free ports from the configured range, never the same one twice at once."""

    def __init__(self, port_range):
        self.low, self.high = port_range
        self.taken = set()
        self.lock = threading.Lock()
        self.next = self.low

    def take(self):
        with self.lock:
            for _attempt in range(self.high - self.low + 1):
                port = self.next
                self.next = self.low if port >= self.high else port + 1
                if port not in self.taken and port_is_free(port):
                    self.taken.add(port)
                    return port
        raise RuntimeError("no free port left in %d-%d (LOCALCLOUD_PORTS)" % (self.low, self.high))

    def give_back(self, *ports):
        with self.lock:
            self.taken.difference_update(ports)


def port_is_free(port):
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port():
    """A port the system has free right now (outside any pool: for one-off servers)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_is_open(port, timeout=0.2):
    try:
        socket.create_connection((HOST, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def wait_until(predicate, timeout, interval=0.1):
    """Polls `predicate` until it is truthy or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def http_status(url, timeout=2.0, headers=None):
    """The HTTP status of a GET, or None when nothing answered."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # nosec: local URLs only
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, ValueError):
        return None


def is_root():
    return os.geteuid() == 0


def service_user(*candidates):
    """The first existing account among candidates when root; else the current user."""
    if not is_root():
        return pwd.getpwuid(os.geteuid()).pw_name
    for name in candidates:
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return "nobody"


def as_user(user, command):
    """Prefixes a command so that it runs as `user` (only needed, and only possible, as root)."""
    if is_root() and user != "root":
        return ["runuser", "-u", user, "--"] + list(command)
    return list(command)


def run(command, **kwargs):
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    kwargs.setdefault("check", True)
    return subprocess.run(command, **kwargs)  # pylint: disable=subprocess-run-check


def stop_group(process, timeout=10, fast=False):
    """Stops a process started with start_new_session=True, and every process of its group.

    `fast` kills at once: for resets, where nothing the process holds is kept.
    """
    if process is None or process.poll() is not None:
        return
    steps = ((signal.SIGKILL, 5),) if fast else ((signal.SIGTERM, timeout), (signal.SIGKILL, 5))
    for sig, wait in steps:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def tail(path, lines=15):
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16384))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])

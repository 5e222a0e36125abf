"""Turns a bundle's Dockerfile into what an instance runs, without Docker.

The instructions the Docker platform needs are honoured: COPY places bundle files into the
instance's image folder (its root file system stand-in), `RUN pip install -r <file>` becomes a
prepared virtualenv built from that file (cached by content), ENV gives default variables,
WORKDIR the working folder, EXPOSE the port nginx proxies to, ENTRYPOINT/CMD the command.
Other RUN lines (package installs, useradd, chmod) have no meaning here and are skipped.
"""

import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path


class ImageError(Exception):
    pass


def logical_lines(text):
    """Dockerfile lines with continuations joined and comments dropped."""
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        lines.append(current)
        current = ""
    if current:
        lines.append(current)
    return lines


def parse_env(arguments):
    parts = shlex.split(arguments)
    if parts and "=" not in parts[0]:
        return {parts[0]: " ".join(parts[1:])}
    return dict(part.split("=", 1) for part in parts)


def parse_command(arguments):
    arguments = arguments.strip()
    if arguments.startswith("["):
        return json.loads(arguments)
    return ["/bin/sh", "-c", arguments]


class Image:
    def __init__(self, source, root):
        """`source`: the unpacked bundle; `root`: the folder standing in for the image's /."""
        self.source = Path(source)
        self.root = Path(root)
        self.env = {}
        self.workdir = "/"
        self.exposed = None
        self.entrypoint = []
        self.cmd = []
        self.requirements = None

    def path(self, image_path, workdir=None):
        path = image_path if image_path.startswith("/") else os.path.join(workdir or self.workdir, image_path)
        return self.root / os.path.normpath(path).lstrip("/")

    def build(self):
        dockerfile = self.source / "Dockerfile"
        if not dockerfile.is_file():
            raise ImageError("Dockerfile not found in the source bundle.")
        self.root.mkdir(parents=True, exist_ok=True)
        for line in logical_lines(dockerfile.read_text()):
            instruction, _space, arguments = line.partition(" ")
            handler = getattr(self, "_" + instruction.lower(), None)
            if handler:
                handler(arguments.strip())
        if self.exposed is None:
            raise ImageError("No EXPOSE directive found in Dockerfile: the platform can't tell which port to proxy to.")
        if not self.entrypoint and not self.cmd:
            raise ImageError("The Dockerfile has no ENTRYPOINT or CMD.")
        return self

    def _env(self, arguments):
        self.env.update(parse_env(arguments))

    def _workdir(self, arguments):
        self.workdir = os.path.normpath(os.path.join(self.workdir, arguments))
        self.path(self.workdir).mkdir(parents=True, exist_ok=True)

    def _expose(self, arguments):
        self.exposed = int(arguments.split()[0].split("/")[0])

    def _entrypoint(self, arguments):
        self.entrypoint = parse_command(arguments)

    def _cmd(self, arguments):
        self.cmd = parse_command(arguments)

    def _copy(self, arguments):
        parts = [part for part in shlex.split(arguments) if not part.startswith("--")]
        sources, destination = parts[:-1], parts[-1]
        into_folder = destination.endswith("/") or len(sources) > 1
        for item in sources:
            origin = (self.source / item).resolve()
            if not str(origin).startswith(str(self.source.resolve())) or not origin.exists():
                raise ImageError("COPY failed: file not found in build context: %s" % item)
            target = self.path(destination)
            if into_folder or origin.is_dir():
                target = target / origin.name if not origin.is_dir() else target
            target.parent.mkdir(parents=True, exist_ok=True)
            if origin.is_dir():
                shutil.copytree(origin, target, dirs_exist_ok=True)
            else:
                shutil.copy2(origin, target)

    _add = _copy

    def _run(self, arguments):
        match = re.search(r"pip3? install\b[^&;|]*?(?:-r|--requirement)\s+(\S+)", arguments)
        if match:
            self.requirements = self.path(match.group(1))

    def command(self):
        command = list(self.entrypoint) + list(self.cmd)
        first = command[0]
        if first.startswith("/") and self.path(first).exists():
            command[0] = str(self.path(first))
        return command

    def port_variable(self):
        """The ENV variable holding the exposed port: the platform moves the app through it."""
        for name, value in self.env.items():
            if value == str(self.exposed):
                return name
        raise ImageError(
            "The local platform runs several instances on one machine and must move the app off port %d, "
            "but no ENV variable in the Dockerfile holds that port." % self.exposed
        )


def prepared_venv(requirements, cache, prefix="server-"):
    """A virtualenv with `requirements` (a file) installed, built once per content hash."""
    content = Path(requirements).read_bytes() if requirements else b""
    key = hashlib.sha256(content).hexdigest()[:12]
    venv = Path(cache) / (prefix + key)
    venv.parent.mkdir(parents=True, exist_ok=True)
    # A file lock, not a thread lock: the test suite's local clouds and molecule's run side by
    # side, in several processes, and must not build (or remove) the same folder together.
    with open(venv.parent / (venv.name + ".lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".ready").exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
            if content:
                install = subprocess.run(
                    [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "-r", str(requirements)],
                    capture_output=True, text=True, check=False,
                )
                if install.returncode != 0:
                    shutil.rmtree(venv, ignore_errors=True)
                    raise ImageError("pip install failed:\n" + install.stderr[-2000:])
            (venv / ".ready").write_bytes(content)
    return venv

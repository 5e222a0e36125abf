"""Turns a bundle's Dockerfile into what an instance runs, without Docker.

The instructions the Docker platform needs are honoured: COPY places bundle files into the
instance's image folder (its root file system stand-in), owned by root as Docker's COPY leaves
them (or by `--chown`); ADD of a URL gets the platform's stand-in for it (RDS's CA bundle: the
local CA) and fails for any other; ENV gives default variables, WORKDIR the working folder, EXPOSE the port
nginx proxies to, ENTRYPOINT/CMD the command, USER whom the app runs as.

RUN lines are split at `&&` and `;` and each command is applied to the image folder:
`pip install -r <file>` becomes a prepared virtualenv built from that file (cached by content,
with the line's `--require-hashes`), `groupadd`/`useradd` add to the image's own accounts (an
explicit `--uid`/`--gid` is required: ids are what the files and the process get here),
`chown`/`chmod`/`mkdir`/`rm` run on the image's paths with those ids. Package installs (the base
image's business) are skipped; any other command fails the build, so that nothing the image
needs is silently left out.

As root (as in CI), ownership is applied and the app runs as the image's USER with only its
own groups. Run by anyone else, the local cloud can do neither: the app runs as that user.
"""

import fcntl
import functools
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path


class ImageError(Exception):
    pass


class Account:
    def __init__(self, uid, gid, home, groups):
        self.uid, self.gid, self.home, self.groups = uid, gid, home, groups


# Installing system packages is the base image's business here: these RUN commands are skipped.
PACKAGE_MANAGERS = ("apt-get", "apt", "apk", "dnf", "yum", "microdnf")


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


def split_commands(arguments):
    """A RUN line's shell commands, split at `&&` and `;` (pipes and `||` are refused)."""
    lexer = shlex.shlex(arguments, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands, current = [], []
    for token in lexer:
        if token in ("&&", ";"):
            commands.append(current)
            current = []
        elif token in ("|", "||", "&", ">", ">>", "<"):
            raise ImageError("RUN %s: the local platform runs plain commands joined by && or ;" % arguments)
        else:
            current.append(token)
    commands.append(current)
    return [command for command in commands if command]


def leading_options(arguments):
    """(options, the rest): the options before a command's first operand."""
    index = 0
    while index < len(arguments) and arguments[index].startswith("-") and arguments[index] != "-":
        index += 1
    return arguments[:index], arguments[index:]


def parse_options(arguments, valued, flags):
    """(values by name, flags given, operands) of a command line such as useradd's."""
    values, given, operands = {}, set(), []
    parts = list(arguments)
    while parts:
        part = parts.pop(0)
        key, equals, inline = part.partition("=")
        if key in valued:
            values[valued[key]] = inline if equals else parts.pop(0)
        elif part in flags:
            given.add(part)
        elif part.startswith("-"):
            raise ImageError("the option %s is not one the local platform knows" % part)
        else:
            operands.append(part)
    return values, given, operands


def parse_command(arguments):
    arguments = arguments.strip()
    if arguments.startswith("["):
        return json.loads(arguments)
    return ["/bin/sh", "-c", arguments]


class Image:
    def __init__(self, source, root, downloads=None):
        """`source`: the unpacked bundle; `root`: the folder standing in for the image's /;
        `downloads`: the local file `ADD <url>` gets for each URL it knows."""
        self.source = Path(source)
        self.downloads = downloads or {}
        self.root = Path(root)
        self.env = {}
        self.workdir = "/"
        self.exposed = None
        self.entrypoint = []
        self.cmd = []
        self.requirements = None
        self.pip_options = []
        # The image's own accounts (its /etc/passwd and /etc/group): name -> ids.
        self.accounts = {"root": Account(0, 0, "/root", ())}
        self.groups = {"root": 0}
        self.user = "root"

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
        parts = shlex.split(arguments)
        options = dict(part[2:].split("=", 1) for part in parts if part.startswith("--") and "=" in part)
        parts = [part for part in parts if not part.startswith("--")]
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
            # Docker's COPY: owned by root (whoever owned the build context), unless --chown.
            owner = self.owner_ids(options.get("chown", "0:0"))
            self._host("chown", "-R", "%d:%d" % owner, str(target))
            if "chmod" in options:
                self._host("chmod", "-R", options["chmod"], str(target))

    def _add(self, arguments):
        parts = [part for part in shlex.split(arguments) if not part.startswith("--")]
        if not any(part.startswith(("http://", "https://")) for part in parts[:-1]):
            self._copy(arguments)
            return
        if len(parts) != 2 or parts[0] not in self.downloads:
            raise ImageError("ADD %s: the local platform downloads nothing; it has a stand-in for %s only."
                             % (" ".join(parts[:-1]), ", ".join(sorted(self.downloads)) or "no URL"))
        url, destination = parts
        target = self.path(destination)
        if destination.endswith("/"):
            target = target / url.rstrip("/").rsplit("/", 1)[-1]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.downloads[url], target)
        # Docker's ADD of a URL: root's, mode 0600.
        target.chmod(0o600)
        self._host("chown", "0:0", str(target))

    def _user(self, arguments):
        name = arguments.split(":")[0]
        if name not in self.accounts and not name.isdigit():
            raise ImageError("unable to find user %s: no matching entries in passwd file" % name)
        self.user = arguments

    def _run(self, arguments):
        for command in split_commands(arguments):
            program = os.path.basename(command[0])
            handler = getattr(self, "_run_" + program.replace("-", "_"), None)
            if handler:
                handler(command[1:])
            elif program not in PACKAGE_MANAGERS:
                raise ImageError(
                    "RUN %s: the local platform runs pip install -r, groupadd, useradd, chown, chmod, mkdir and rm "
                    "(package installs are skipped); build this step into the base image or a requirements file."
                    % " ".join(command))

    def _run_pip(self, arguments):
        if arguments[:1] != ["install"]:
            raise ImageError("RUN pip %s: only `pip install -r <file>` is supported." % " ".join(arguments))
        files = [arguments[i + 1] for i, part in enumerate(arguments[:-1]) if part in ("-r", "--requirement")]
        if len(files) != 1:
            raise ImageError("RUN pip %s: the local platform installs from exactly one requirements file (-r)." % " ".join(arguments))
        self.requirements = self.path(files[0])
        # Only options that change how, not what, it installs: the venv is cached by the file alone.
        self.pip_options = [part for part in arguments if part == "--require-hashes"]

    _run_pip3 = _run_pip

    def _run_groupadd(self, arguments):
        values, _flags, names = parse_options(arguments, {"-g": "gid", "--gid": "gid"}, ("-r", "--system", "-f", "--force"))
        if len(names) != 1 or "gid" not in values:
            raise ImageError("RUN groupadd %s: give one group name and its --gid." % " ".join(arguments))
        self._add_group(names[0], int(values["gid"]))

    def _run_useradd(self, arguments):
        values, flags, names = parse_options(
            arguments,
            {"-u": "uid", "--uid": "uid", "-g": "gid", "--gid": "gid", "-G": "groups", "--groups": "groups",
             "-d": "home", "--home-dir": "home", "-s": "shell", "--shell": "shell", "-c": "comment", "--comment": "comment"},
            ("-r", "--system", "-M", "--no-create-home", "-m", "--create-home", "-N", "--no-user-group", "-U", "--user-group"))
        if len(names) != 1 or "uid" not in values:
            raise ImageError("RUN useradd %s: give one user name and its --uid." % " ".join(arguments))
        name, uid = names[0], int(values["uid"])
        if name in self.accounts or uid in {account.uid for account in self.accounts.values()}:
            raise ImageError("RUN useradd: user '%s' or uid %d already exists" % (name, uid))
        if "gid" in values:
            gid = self.group_id(values["gid"])
        else:
            # useradd's user group: a group of the user's name, with the uid as its gid if free.
            gid = uid if uid not in self.groups.values() else max(self.groups.values()) + 1
            self._add_group(name, gid)
        extra = tuple(self.group_id(group) for group in values.get("groups", "").split(",") if group)
        home = values.get("home", "/home/" + name)
        self.accounts[name] = Account(uid, gid, home, extra)
        if {"-m", "--create-home"} & flags:
            self.path(home).mkdir(parents=True, exist_ok=True)
            self._host("chown", "%d:%d" % (uid, gid), str(self.path(home)))

    def _run_chown(self, arguments):
        options, rest = leading_options(arguments)
        if len(rest) < 2:
            raise ImageError("RUN chown %s: give an owner and a path." % " ".join(arguments))
        self._host("chown", *options, "%d:%d" % self.owner_ids(rest[0]), *self.paths(rest[1:]))

    def _run_chmod(self, arguments):
        options, rest = leading_options(arguments)
        if len(rest) < 2:
            raise ImageError("RUN chmod %s: give a mode and a path." % " ".join(arguments))
        self._host("chmod", *options, rest[0], *self.paths(rest[1:]))

    def _run_mkdir(self, arguments):
        options, rest = leading_options(arguments)
        self._host("mkdir", *options, *self.paths(rest))

    def _run_rm(self, arguments):
        options, rest = leading_options(arguments)
        self._host("rm", *options, *self.paths(rest))

    # Accounts and paths -------------------------------------------------------------------

    def _add_group(self, name, gid):
        if name in self.groups or gid in self.groups.values():
            raise ImageError("RUN groupadd: group '%s' or gid %d already exists" % (name, gid))
        self.groups[name] = gid

    def group_id(self, group):
        if group.isdigit():
            return int(group)
        if group not in self.groups:
            raise ImageError("group '%s' does not exist in the image" % group)
        return self.groups[group]

    def account(self, user):
        """The image's account for a user name or uid; a uid of no account is one with group 0 and home /."""
        if user.isdigit():
            return next((a for a in self.accounts.values() if a.uid == int(user)), Account(int(user), 0, "/", ()))
        if user not in self.accounts:
            raise ImageError("invalid user: '%s' does not exist in the image" % user)
        return self.accounts[user]

    def owner_ids(self, spec):
        """`user[:group]`, `user:` or `:group` (names or numbers) as (uid, gid)."""
        user, colon, group = spec.partition(":")
        account = self.account(user) if user else None
        if group:
            gid = self.group_id(group)
        elif colon and account:
            gid = account.gid
        else:
            gid = -1
        return (account.uid if account else -1), gid

    def paths(self, image_paths):
        return [str(self.path(path)) for path in image_paths]

    def _host(self, *command):
        if command[0] == "chown" and os.geteuid() != 0:
            return  # only root gives files away; see the module's docstring
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            shown = result.stderr.replace(str(self.root), "").strip()
            raise ImageError("RUN %s failed: %s" % (command[0], shown))

    def run_as(self):
        """The app's (uid, gid, supplementary gids) from USER; None when it stays whoever runs the platform."""
        if os.geteuid() != 0:
            return None
        name, _colon, group = self.user.partition(":")
        account = self.account(name)
        gid = self.group_id(group) if group else account.gid
        if (account.uid, gid) == (0, 0):
            return None
        return account.uid, gid, list(account.groups)

    def home(self):
        """HOME as Docker sets it: the USER's home folder in the image."""
        return self.path(self.account(self.user.partition(":")[0]).home)

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


@functools.lru_cache(maxsize=1)
def runnable_python():
    """A Python (with venv) that every user can run: the app may run as the image's USER.

    This process's own interpreter may not be one (a pyenv build under root's private home);
    then the system's is used. LOCALCLOUD_SERVER_PYTHON names one explicitly.
    """
    if os.environ.get("LOCALCLOUD_SERVER_PYTHON"):
        return os.environ["LOCALCLOUD_SERVER_PYTHON"]
    candidates = [os.path.realpath(sys.executable), "/usr/bin/python3", "/usr/local/bin/python3"]
    if os.geteuid() != 0:
        return candidates[0]
    for candidate in candidates:
        try:
            probe = subprocess.run([candidate, "-c", "import venv, ensurepip"], user=65534, group=65534, extra_groups=[],
                                   capture_output=True, check=False, timeout=60)
        except OSError:
            continue
        if probe.returncode == 0:
            return candidate
    raise ImageError("No Python with venv that an unprivileged user can run (tried %s): set LOCALCLOUD_SERVER_PYTHON." % ", ".join(candidates))


def prepared_venv(requirements, cache, prefix="server-", options=()):
    """A virtualenv with `requirements` (a file) installed, built once per content hash, from an
    interpreter every user can run. `options` (`--require-hashes`) change how pip installs, not
    what: a file with hashes is checked against them with or without it."""
    python = runnable_python()
    content = Path(requirements).read_bytes() if requirements else b""
    key = hashlib.sha256(content + python.encode()).hexdigest()[:12]
    venv = Path(cache) / (prefix + key)
    venv.parent.mkdir(parents=True, exist_ok=True)
    # A file lock, not a thread lock: the test suite's local clouds and molecule's run side by
    # side, in several processes, and must not build (or remove) the same folder together.
    with open(venv.parent / (venv.name + ".lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".ready").exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([python, "-m", "venv", str(venv)], check=True, capture_output=True)
            if content:
                install = subprocess.run(
                    [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", *options, "-r", str(requirements)],
                    capture_output=True, text=True, check=False,
                )
                if install.returncode != 0:
                    shutil.rmtree(venv, ignore_errors=True)
                    raise ImageError("pip install failed:\n" + install.stderr[-2000:])
            (venv / ".ready").write_bytes(content)
    return venv

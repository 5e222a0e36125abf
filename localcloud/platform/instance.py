"""One instance of an environment: the bundle unpacked, its hooks run, its app and its nginx.

The steps follow EB's Docker platform on Amazon Linux 2023: extract the bundle to a staging
folder, run `.platform/hooks/prebuild`, build the image (here: `image.Image`), install the
bundle's `.platform/nginx` configuration, run `predeploy`, replace the running container with
the new one, start nginx, run `postdeploy`. A configuration deployment runs the
`.platform/confighooks` instead and restarts the app with the new environment.
"""

import os
import shutil
import subprocess
import threading
import time
import zipfile
import io
from pathlib import Path

from localcloud.eb.exceptions import DeployError
from localcloud.platform.image import Image, ImageError, prepared_venv
from localcloud.platform.nginx import InstanceNginx
from localcloud.procs import http_status, stop_group, tail, wait_until

START_GRACE_SECONDS = 2


# What an instance's platform hooks run with besides the system's own: none of the AWS settings of
# whoever started the local cloud (on EB the hooks run as root with the instance profile only).
_HOOK_DROPPED = ("AWS_", "BOTO_")


class Instance:
    def __init__(self, root, nginx_port, app_port, venv_cache, instance_id, metadata, tools, aws_api, downloads=None):
        """`metadata(hops)`: the instance's metadata service address for a caller `hops` hops away
        (1: the instance itself, its hooks; 2: a container on Docker's bridge, the app);
        `tools()`: the folder of commands the instance has besides the system's (the AWS CLI);
        `downloads`: what the image's `ADD <url>` gets, by URL."""
        self.downloads = downloads or {}
        self.id = instance_id
        self.metadata = metadata
        self.tools = tools
        self.aws_api = aws_api
        self.root = Path(root) / self.id
        self.nginx = InstanceNginx(self.root / "nginx", nginx_port)
        self.app_port = app_port
        self.venv_cache = venv_cache
        self.process = None
        self.environment = None
        self.image = None
        self.lock = threading.RLock()
        self.busy = False  # deploying: the supervisor leaves it alone
        self.healthy = False
        self.passes = self.failures = 0
        self.in_service = False
        self.restarts = 0
        self.next_restart = 0.0
        self.log = self.root / "logs" / "app.log"

    @property
    def label(self):
        return "[Instance: %s]" % self.id

    # Deployment ---------------------------------------------------------------------------

    def deploy(self, bundle, environment, health_path, timeout, hooks="hooks"):
        """Deploys `bundle` (zip bytes) with `environment`; waits until the health path answers.
        `timeout` (the command timeout) covers it all, the image's build included, as on EB."""
        # Busy until its health check passed: the load balancer's checks leave it alone till then.
        self.busy = True
        started = time.monotonic()
        try:
            with self.lock:
                try:
                    self._deploy(bundle, environment, hooks)
                except (ImageError, RuntimeError, subprocess.CalledProcessError, OSError, zipfile.BadZipFile) as error:
                    raise DeployError("%s Command failed on instance. %s" % (self.label, _reason(error)),
                                      "Instance deployment failed. For details, see 'eb-engine.log'.") from None
            self.wait_healthy(health_path, max(0, timeout - (time.monotonic() - started)), timeout)
        finally:
            self.busy = False

    def _deploy(self, bundle, environment, hooks):
        self.restarts, self.next_restart = 0, 0.0
        staging = self.root / "staging"
        shutil.rmtree(staging, ignore_errors=True)
        extract(bundle, staging)
        self.run_hooks(staging, hooks, "prebuild")
        image_root = self.root / "image-staging"
        shutil.rmtree(image_root, ignore_errors=True)
        image = Image(staging, image_root, self.downloads).build()
        venv = prepared_venv(image.requirements, self.venv_cache, options=image.pip_options)
        port_variable = image.port_variable()
        self.nginx.configure(staging, self.app_port)
        self.nginx.test()
        self.run_hooks(staging, hooks, "predeploy")
        # Replace the running container: stop the old app, move the new files in place.
        self.stop_app()
        current, image_final = self.root / "current", self.root / "image"
        shutil.rmtree(current, ignore_errors=True)
        shutil.rmtree(image_final, ignore_errors=True)
        staging.rename(current)
        image_root.rename(image_final)
        image.source, image.root = current, image_final
        self.image = image
        self.environment = self._app_environment(image, venv, port_variable, environment)
        self.start_app()
        if self.nginx.running():
            self.nginx.reload()
        else:
            self.nginx.start()
        self.run_hooks(current, hooks, "postdeploy")

    def _home(self):
        home = self.root / "home"
        home.mkdir(parents=True, exist_ok=True)
        return home

    def _app_environment(self, image, venv, port_variable, environment):
        # HOME as Docker sets it from the image's USER; as whoever runs the platform, a folder of its own.
        home = image.home() if image.run_as() else self._home()
        variables = {"PATH": "%s:%s" % (venv / "bin", os.environ.get("PATH", "/usr/bin:/bin")), "HOME": str(home), "LANG": "C.UTF-8"}
        variables.update(image.env)
        variables.update(environment)
        variables[port_variable] = str(self.app_port)
        # The SDK's default metadata address, 169.254.169.254, is this instance's service here.
        variables["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = self.metadata(2)
        return variables

    def _hook_environment(self):
        env = {name: value for name, value in os.environ.items() if not name.startswith(_HOOK_DROPPED)}
        env.update({
            "PATH": "%s:%s" % (self.tools(), os.environ.get("PATH", "/usr/bin:/bin")),
            "HOME": str(self._home()),
            "MLFLOWOPS_NGINX_CONF_DIR": str(self.nginx.root),
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": self.metadata(1),
        })
        # Only here: the AWS APIs are the local cloud's endpoint, not AWS's public ones.
        env.update(self.aws_api)
        return env

    def run_hooks(self, source, kind, stage):
        folder = Path(source) / ".platform" / kind / stage
        if not folder.is_dir():
            return
        env = self._hook_environment()
        for hook in sorted(folder.iterdir()):
            if not os.access(hook, os.X_OK):
                raise RuntimeError("the hook %s is not executable" % hook.relative_to(source))
            result = subprocess.run([str(hook)], cwd=source, env=env, capture_output=True, text=True, check=False, timeout=600)
            with open(self.root / "eb-engine.log", "a", encoding="utf-8") as log:
                log.write("%s/%s/%s\n%s%s" % (kind, stage, hook.name, result.stdout, result.stderr))
            if result.returncode != 0:
                raise RuntimeError("the hook %s failed with code %d: %s" % (
                    hook.relative_to(source), result.returncode, (result.stderr or result.stdout).strip()[-500:]))

    # The app process ----------------------------------------------------------------------

    def start_app(self):
        self.log.parent.mkdir(parents=True, exist_ok=True)
        identity = {}
        run_as = self.image.run_as()
        if run_as:
            # The image's USER with its own groups only (none of root's), as Docker runs it.
            identity = dict(zip(("user", "group", "extra_groups"), run_as))
        with open(self.log, "ab") as handle:
            self.process = subprocess.Popen(  # pylint: disable=consider-using-with
                self.image.command(), env=self.environment, cwd=self.image.path(self.image.workdir),
                stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True, **identity,
            )
        # For `localcloud stop` to find it should this process die without cleaning up.
        (self.root / "app.pid").write_text(str(self.process.pid))
        if wait_until(lambda: self.process.poll() is not None, START_GRACE_SECONDS, 0.1):
            raise RuntimeError("the container exited with code %d at start-up. Last lines of its log:\n%s" % (self.process.returncode, tail(self.log)))

    def stop_app(self, fast=False):
        stop_group(self.process, fast=fast)
        self.process = None
        (self.root / "app.pid").unlink(missing_ok=True)

    def app_running(self):
        return self.process is not None and self.process.poll() is None

    # Health -------------------------------------------------------------------------------

    def check(self, health_path, matcher="200"):
        status = http_status("http://127.0.0.1:%d%s" % (self.nginx.port, health_path), timeout=2)
        return status is not None and str(status) in matcher.replace(" ", "").split(","), status

    def wait_healthy(self, health_path, timeout, command_timeout=None):
        """Waits `timeout` seconds at most, what is left of the `command_timeout` (the message's)."""
        last = {}

        def ready():
            if not self.app_running():
                return "exited"
            passed, last["status"] = self.check(health_path)
            return passed

        outcome = wait_until(ready, timeout, 0.5)
        if outcome == "exited":
            code = self.process.returncode if self.process else "?"
            raise DeployError(
                "%s The application exited with code %s after it started. Last lines of its log:\n%s" % (self.label, code, tail(self.log)),
                "Instance deployment failed. For details, see 'eb-engine.log'.",
            )
        if not outcome:
            raise DeployError(
                "%s The health check on %s did not pass within %d seconds, the deployment's command timeout, the image's build included "
                "(last answer: %s). Last lines of the application's log:\n%s"
                % (self.label, health_path, command_timeout or timeout, last.get("status") or "no answer", tail(self.log)),
            )
        self.healthy, self.passes, self.failures = True, 1, 0

    def supervise(self):
        """Restarts a crashed app or nginx, as the platform's process manager does; returns what it did."""
        if self.busy or self.image is None or not self.lock.acquire(blocking=False):
            return None
        try:
            done = []
            if not self.app_running() and time.monotonic() >= self.next_restart:
                code = self.process.returncode if self.process else None
                self.restarts += 1
                # Back off like a container restart policy: 1, 2, 4 ... 60 seconds.
                self.next_restart = time.monotonic() + min(60, 2 ** min(self.restarts, 6))
                try:
                    self.start_app()
                    done.append("%s The application exited (code %s); the platform restarted it." % (self.label, code))
                except RuntimeError as error:
                    done.append("%s The application exited and failed to restart: %s" % (self.label, error))
            if not self.nginx.running():
                try:
                    self.nginx.start()
                    done.append("%s nginx was not running; the platform restarted it." % self.label)
                except RuntimeError as error:
                    done.append("%s nginx failed to restart: %s" % (self.label, error))
            return done
        finally:
            self.lock.release()

    def terminate(self, fast=False):
        with self.lock:
            self.busy = True
            self.in_service = False
            self.stop_app(fast)
            self.nginx.stop(fast)
            shutil.rmtree(self.root, ignore_errors=True)


def extract(bundle, folder):
    """Unpacks a bundle (zip bytes) into `folder` with its files' modes, refusing paths outside it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        for info in archive.infolist():
            target = (folder / info.filename).resolve()
            if not str(target).startswith(str(folder.resolve())):
                raise RuntimeError("the bundle has a path outside its root: %s" % info.filename)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            target.chmod((info.external_attr >> 16) & 0o777 or 0o644)


def _reason(error):
    if isinstance(error, subprocess.CalledProcessError):
        return "%s: %s" % (" ".join(map(str, error.cmd)), (error.stderr or "").strip()[-500:])
    return str(error)

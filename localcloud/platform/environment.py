"""An environment's running parts: its instances, its front door and its health monitor."""

import math
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from localcloud import tls
from localcloud.config import PUBLIC_HOST
from localcloud.eb import options
from localcloud.eb.exceptions import DeployError
from localcloud.platform.ebextensions import http_redirect_status
from localcloud.platform.instance import Instance
from localcloud.platform.nginx import FrontDoor

# The local load balancer checks faster than an ALB's 15 s default, so tests stay quick.
CHECK_INTERVAL = 1.0
HEALTHY_THRESHOLD = 2
UNHEALTHY_THRESHOLD = 2
COLOURS = {"Ok": "Green", "Warning": "Yellow", "Degraded": "Red", "Severe": "Red", "Pending": "Grey", "No Data": "Grey"}
RANK = {"Ok": 0, "Pending": 1, "No Data": 1, "Warning": 2, "Degraded": 3, "Severe": 4}


class EnvironmentRuntime:
    def __init__(self, platform, env_id, root, backend, environment):
        self.platform = platform
        self.env_id = env_id
        self.root = Path(root)
        self.backend = backend
        self.environment = environment
        self.instances = []
        self.lock = threading.RLock()
        self.bundle = None
        self.variables = {}
        self.certificate_names = []
        self.front = FrontDoor(self.root / "frontdoor", platform.ports.take(), platform.ports.take(), *self._issue([]))
        self.stopping = threading.Event()
        self.monitor = threading.Thread(target=self._monitor, daemon=True)

    # Settings -----------------------------------------------------------------------------

    def setting(self, namespace, option):
        return options.effective(self.environment.settings, namespace, option)

    @property
    def health_path(self):
        return self.setting(options.PROCESS, "HealthCheckPath") or "/"

    @property
    def timeout(self):
        return int(self.setting(options.COMMAND, "Timeout"))

    def batch_size(self, count):
        policy = self.setting(options.COMMAND, "DeploymentPolicy")
        if policy == "AllAtOnce":
            return max(count, 1)
        if policy in ("Immutable", "TrafficSplitting"):
            return 1
        size = int(self.setting(options.COMMAND, "BatchSize"))
        if self.setting(options.COMMAND, "BatchSizeType") == "Percentage":
            size = math.ceil(count * size / 100)
        return max(1, min(size, count))

    def _issue(self, names):
        folder = self.root / "frontdoor-tls"
        return tls.issue(self.platform.ca_cert, self.platform.ca_key, names, folder / "cert.pem", folder / "key.pem")

    def _use_load_balancer_settings(self):
        """The listener's certificate and the idle timeout, as the load balancer's attributes."""
        self._use_listener_certificate()
        with self.lock:
            self.front.set_idle_timeout(int(self.setting(options.LOAD_BALANCER, "IdleTimeout")))

    def _use_listener_certificate(self):
        """The front door's certificate covers exactly the names of its HTTPS listener's certificate."""
        names = self.platform.listener_names(self.environment.settings, self.backend.account_id)
        if names != self.certificate_names:
            cert, key = self._issue(names)
            self.certificate_names = names
            with self.lock:
                self.front.use_certificate(cert, key)

    # Operations ---------------------------------------------------------------------------

    def launch(self, operation):
        self._use_load_balancer_settings()
        self.front.configure([])
        self.front.start()
        operation.set_address("%s:%d" % (PUBLIC_HOST, self.front.https_port), "%s:%d" % (PUBLIC_HOST, self.front.http_port))
        operation.event("Created load balancer listening on https://%s:%d and http://%s:%d." % (
            PUBLIC_HOST, self.front.https_port, PUBLIC_HOST, self.front.http_port))
        self.monitor.start()
        if operation.version is None:
            operation.event("No application version was given: the local platform starts no instance until one is deployed.")
            return
        self._use_bundle(self.platform.fetch_bundle(operation.version))
        self.variables = self.platform.app_variables(self.environment.settings)
        operation.event("Waiting for EC2 instances to launch. This may take a few minutes.")
        count = int(self.setting(options.ASG, "MinSize"))
        new = [self._new_instance() for _index in range(count)]
        # EB starts every instance of a new environment at the same moment.
        self._deploy_batch(operation, new, "hooks")
        operation.event("Instance deployment completed successfully.")
        operation.event("Application available at %s." % self.environment.cname)

    def update(self, operation):
        previous = operation.previous_settings or {}
        self._use_load_balancer_settings()
        variables = self.platform.app_variables(self.environment.settings)
        changed_variables = variables != self.variables
        if operation.version is not None:
            self._use_bundle(self.platform.fetch_bundle(operation.version))
        if self.bundle is None:
            if operation.version is None:
                operation.event("Successfully deployed new configuration to environment.")
            return
        self.variables = variables
        desired = int(self.setting(options.ASG, "MinSize"))
        with self.lock:
            existing = list(self.instances)
        if operation.version is not None or changed_variables or not existing:
            hooks = "hooks" if operation.version is not None or not existing else "confighooks"
            if hooks == "hooks":
                operation.event("Deploying new version to instance(s).")
            else:
                operation.event("Updating environment %s's configuration settings." % self.environment.name)
            size = self.batch_size(len(existing))
            for start in range(0, len(existing), size):
                batch = existing[start:start + size]
                if size < len(existing):
                    operation.event("Batch %d: Starting application deployment on instance(s) %s." % (start // size + 1, ", ".join(i.id for i in batch)))
                self._deploy_batch(operation, batch, hooks)
            if hooks == "hooks":
                operation.event("New application version was deployed to running EC2 instances.")
            else:
                operation.event("Successfully deployed new configuration to environment.")
        elif previous != self.environment.settings:
            operation.event("Successfully deployed new configuration to environment.")
        self._scale(operation, desired)

    def _scale(self, operation, desired):
        with self.lock:
            count = len(self.instances)
        if desired > count:
            operation.event("Adding instance(s) to the environment's Auto Scaling group (%d to %d)." % (count, desired))
            self._deploy_batch(operation, [self._new_instance() for _index in range(desired - count)], "hooks")
        elif desired < count:
            with self.lock:
                extra = self.instances[desired:]
            operation.event("Removing instance(s) %s from the environment." % ", ".join(i.id for i in extra))
            for instance in extra:
                self._retire(instance)

    def terminate(self, operation):
        self.shutdown()
        operation.event("Deleted load balancer and instances of %s." % self.environment.name)

    def shutdown(self, fast=False):
        self.stopping.set()
        if self.monitor.is_alive():
            self.monitor.join(10)
        with self.lock:
            instances, self.instances = list(self.instances), []
        with ThreadPoolExecutor(max_workers=max(1, len(instances))) as pool:
            list(pool.map(lambda instance: instance.terminate(fast), instances))
        for instance in instances:
            self.platform.terminate_instance(instance.id)
            self.platform.ports.give_back(instance.nginx.port, instance.app_port)
        self.front.stop(fast)
        self.platform.ports.give_back(self.front.http_port, self.front.https_port)
        shutil.rmtree(self.root, ignore_errors=True)

    # Instances ----------------------------------------------------------------------------

    def _new_instance(self):
        platform = self.platform
        instance_id = platform.launch_instance(self.environment, self.backend.account_id)
        instance = Instance(self.root / "instances", platform.ports.take(), platform.ports.take(), platform.config.venv_cache, instance_id,
                            lambda hops: platform.metadata.endpoint(instance_id, hops), platform.instance_tools, platform.aws_api_variables(),
                            platform.downloads())
        with self.lock:
            self.instances.append(instance)
        return instance

    def _retire(self, instance):
        self._take_out(instance)
        instance.terminate()
        with self.lock:
            if instance in self.instances:
                self.instances.remove(instance)
        self.platform.terminate_instance(instance.id)
        self.platform.ports.give_back(instance.nginx.port, instance.app_port)

    def _take_out(self, instance):
        """Deregisters an instance from the front door and lets in-flight requests finish."""
        with self.lock:
            instance.in_service = False
            instance.healthy = False
            self._route()
        time.sleep(min(1.0, float(self.setting(options.PROCESS, "DeregistrationDelay") or 0)))

    def _deploy_batch(self, operation, batch, hooks):
        for instance in batch:
            if instance.image is not None:
                self._take_out(instance)
        with ThreadPoolExecutor(max_workers=max(1, len(batch))) as pool:
            futures = [pool.submit(instance.deploy, self.bundle, self.variables, self.health_path, self.timeout, hooks) for instance in batch]
        errors = []
        for instance, future in zip(batch, futures):
            error = future.exception()
            if error is None:
                with self.lock:
                    instance.in_service = True
                    self._route()
            elif isinstance(error, DeployError):
                errors.extend(error.messages)
            else:
                errors.append("%s Command failed on instance: %s" % (instance.label, error))
        if errors:
            raise DeployError(*dict.fromkeys(errors))

    def report(self):
        """Sets the environment's health now (at the end of an operation)."""
        with self.lock:
            self._report(force=True)

    def instance_ids(self):
        with self.lock:
            return [instance.id for instance in self.instances]

    # Health monitor -----------------------------------------------------------------------

    def _route(self):
        self.front.configure([i.nginx.port for i in self.instances if i.in_service and i.healthy])

    def _use_bundle(self, bundle):
        """The bundle to deploy from now on; its .ebextensions may redirect HTTP to HTTPS."""
        self.bundle = bundle
        with self.lock:
            self.front.set_redirect(http_redirect_status(bundle))

    def _monitor(self):
        while not self.stopping.wait(CHECK_INTERVAL):
            try:
                self._check_once()
            except Exception as error:  # pylint: disable=broad-except
                self.platform.log("health monitor of %s: %s" % (self.env_id, error))

    def _check_once(self):
        with self.lock:
            instances = list(self.instances)
        matcher = self.setting(options.PROCESS, "MatcherHTTPCode") or "200"
        for instance in instances:
            for message in instance.supervise() or []:
                self.backend.add_event(message, "WARN", environment=self.environment)
            if instance.busy or instance.image is None:
                continue
            passed, _status = instance.check(self.health_path, matcher)
            if passed:
                instance.passes, instance.failures = instance.passes + 1, 0
                if instance.passes >= HEALTHY_THRESHOLD:
                    instance.healthy = True
            else:
                instance.failures, instance.passes = instance.failures + 1, 0
                if instance.failures >= UNHEALTHY_THRESHOLD:
                    instance.healthy = False
        with self.lock:
            self._route()
            self._report()

    def _report(self, force=False):
        env = self.environment
        if env.status in ("Terminating", "Terminated") or (env.status == "Launching" and not force):
            return
        serving = list(self.instances)
        if not serving:
            status = "No Data"
        else:
            healthy = sum(1 for i in serving if i.healthy)
            status = "Ok" if healthy == len(serving) else ("Severe" if healthy == 0 else "Warning")
        old = env.health_status
        if status != old:
            colour = COLOURS[status]
            with self.backend.lock:
                env.health, env.health_status = colour, status
            worse = RANK.get(status, 0) > RANK.get(old, 0)
            detail = " %d of %d instances fail their health check on %s." % (
                len(serving) - sum(1 for i in serving if i.healthy), len(serving), self.health_path) if worse and serving else ""
            self.backend.add_event(
                "Environment health has transitioned from %s to %s.%s" % (old, status, detail),
                "WARN" if worse else "INFO", environment=env,
            )

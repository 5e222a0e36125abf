"""The Elastic Beanstalk backend: applications, versions, environments, events, tags.

Operations that take time on AWS (processing a version, launching, updating, terminating an
environment) run in a worker thread: the API answers at once with the transitional state
(Processing, Launching, Updating, Terminating) and the state moves on as the work completes.
The work itself (running instances) is done by the driver the backend is given:
`localcloud.platform` in the local cloud (`localcloud.eb.install(driver)`); without one,
operations complete at once with no instance.
"""

import functools
import threading

from moto.core.base_backend import BackendDict, BaseBackend

from localcloud.eb.models.applications import Application, ApplicationsBackend, ApplicationVersion
from localcloud.eb.models.environments import Environment, EnvironmentsBackend, Operation
from localcloud.eb.models.events import EventsBackend
from localcloud.eb.models.tags import TagsBackend

__all__ = ["Application", "ApplicationVersion", "Driver", "Environment", "LocalEBBackend", "Operation", "backends", "eb_backends"]


class Driver:
    """What runs environments. The default runs nothing: operations complete at once."""

    def validate_bundle(self, bucket, key):
        return None

    def launch(self, operation):
        operation.event("No instance runs: the local cloud was started without its platform.")

    def update(self, operation):
        pass

    def terminate(self, operation):
        pass

    def instance_ids(self, env_id):
        return []

    def reset(self):
        pass


class LocalEBBackend(ApplicationsBackend, EnvironmentsBackend, EventsBackend, TagsBackend, BaseBackend):
    def __init__(self, region_name, account_id, driver=None):
        super().__init__(region_name, account_id)
        self.driver = driver or Driver()
        self.lock = threading.RLock()
        self.applications = {}
        self.environments = []
        self.events = []


def backends(driver=None):
    """Moto's per-account, per-region backends, each given this driver."""
    return BackendDict(functools.partial(LocalEBBackend, driver=driver), "elasticbeanstalk")


eb_backends = backends()

# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting with back-off, and the ERROR events that say why an operation failed."""

import time

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from .common import AnsibleEBError
from .common import EBErrorHandler
from .environments import describe_environment

FIRST_DELAY, MAX_DELAY = 1.0, 10.0


@EBErrorHandler.list_error_handler("describe events", default_value=[])
@AWSRetry.jittered_backoff()
def error_events(client, application, environment=None, since=None, request_id=None, version=None):
    """The ERROR events' messages, oldest first, every page of them: of one request, or since a time."""
    request = {"ApplicationName": application, "Severity": "ERROR"}
    if environment:
        request["EnvironmentName"] = environment
    if version:
        request["VersionLabel"] = version
    if request_id:
        request["RequestId"] = request_id
    elif since:
        request["StartTime"] = since
    events = client.get_paginator("describe_events").paginate(**request).build_full_result().get("Events", [])
    return [event["Message"] for event in reversed(events)]


class Waiter:
    """Polls with a growing delay (1 s, then x1.5, at most 10 s) until a deadline."""

    def __init__(self, timeout, sleep=time.sleep, clock=time.monotonic):
        self.timeout = timeout
        self.sleep = sleep
        self.clock = clock

    def until(self, fetch, done, describe_wait):
        deadline = self.clock() + self.timeout
        delay = FIRST_DELAY
        while True:
            value = fetch()
            if done(value):
                return value
            if self.clock() + delay > deadline:
                raise AnsibleEBError(
                    "timed out after %d s waiting for %s" % (self.timeout, describe_wait(value)), last=value
                )
            self.sleep(delay)
            delay = min(MAX_DELAY, delay * 1.5)


def wait_for_environment(client, waiter, application, name, statuses):
    """Waits until the environment's status is one of `statuses` (None: it is gone)."""

    def fetch():
        return describe_environment(client, application, name)

    def done(env):
        return (env is None and None in statuses) or (env is not None and env.get("Status") in statuses)

    def describe_wait(env):
        wanted = " or ".join(status or "terminated" for status in statuses)
        return "environment %s to be %s (it is %s)" % (name, wanted, env.get("Status") if env else "gone")

    return waiter.until(fetch, done, describe_wait)

# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option settings: keyed by (namespace, option, resource), compared as EB returns values."""

import json
import re

from .common import AnsibleEBError

ENVIRONMENT_PROPERTIES = "aws:elasticbeanstalk:application:environment"
ENVIRONMENT_SECRETS = "aws:elasticbeanstalk:application:environmentsecrets"
ASG = "aws:autoscaling:asg"
IMMUTABLE_OPTIONS = (
    ("aws:elasticbeanstalk:environment", "LoadBalancerType"),
    ("aws:elasticbeanstalk:environment", "EnvironmentType"),
)


def option_key(item):
    return (
        item.get("Namespace") or item.get("namespace") or "",
        item.get("OptionName") or item.get("option_name") or "",
        item.get("ResourceName") or item.get("resource_name") or "",
    )


def normalise(value):
    """A value as EB compares it: booleans' case, numbers, JSON, the order of comma lists."""
    text = "" if value is None else str(value).strip()
    if text.lower() in ("true", "false"):
        return text.lower()
    if re.match(r"^-?\d+(\.\d+)?$", text):
        number = float(text)
        return str(int(number)) if number == int(number) else repr(number)
    if text[:1] in ("{", "["):
        try:
            return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
        except ValueError:
            return text
    if "," in text:
        return ",".join(sorted(part.strip() for part in text.split(",")))
    return text


def desired_settings(option_settings):
    """The user's list as {(namespace, option, resource): value}; raises AnsibleEBError on bad items."""
    desired = {}
    for index, item in enumerate(option_settings or []):
        key = option_key(item)
        if not key[0] or not key[1]:
            raise AnsibleEBError("option_settings[%d]: namespace and option_name are required" % index)
        if key in desired:
            raise AnsibleEBError("option_settings[%d]: %s %s is given twice" % (index, key[0], key[1]))
        desired[key] = "" if item.get("value") is None else str(item["value"])
    low, high = desired.get((ASG, "MinSize", "")), desired.get((ASG, "MaxSize", ""))
    for name, value in (("MinSize", low), ("MaxSize", high)):
        if value is not None and not re.match(r"^\d+$", value.strip()):
            raise AnsibleEBError("option_settings: %s %s must be a whole number, not '%s'" % (ASG, name, value))
    if low is not None and high is not None and int(low) > int(high):
        raise AnsibleEBError("option_settings: %s MinSize (%s) is greater than MaxSize (%s)" % (ASG, low, high))
    return desired


def option_item(key):
    """An option as the API names it (Namespace, OptionName, and ResourceName when it has one)."""
    item = {"Namespace": key[0], "OptionName": key[1]}
    if key[2]:
        item["ResourceName"] = key[2]
    return item


def setting_item(key, value):
    return dict(option_item(key), Value=value)


def settings_changes(desired, current, purge_namespaces):
    """(OptionSettings to send, OptionsToRemove to send) to get from current to desired."""
    to_set = [
        setting_item(key, value)
        for key, value in sorted(desired.items())
        if key not in current or normalise(current[key]) != normalise(value)
    ]
    to_remove = [option_item(key) for key in sorted(current) if key[0] in purge_namespaces and key not in desired]
    return to_set, to_remove


def immutable_conflicts(desired, current):
    problems = []
    for namespace, option in IMMUTABLE_OPTIONS:
        key = (namespace, option, "")
        if key in desired and key in current and normalise(desired[key]).lower() != normalise(current[key]).lower():
            problems.append(
                "%s %s is '%s' and can't change after creation (asked: '%s')"
                % (namespace, option, current[key], desired[key])
            )
    return problems


def managed_view(settings, keys):
    """The settings the user manages, as a sorted list (for results and diffs)."""
    return [
        dict(namespace=key[0], option_name=key[1], value=settings[key], **({"resource_name": key[2]} if key[2] else {}))
        for key in sorted(keys)
        if key in settings
    ]

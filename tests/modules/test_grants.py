"""The grants' rules and plan (plugins/module_utils/grants.py), shared by the mlflow_permissions
module and the mlflow_grant_problems filter; the module on a real server is in
tests/bundle/test_permissions.py."""

from pathlib import Path

import yaml

from ansible_collections.mlflowops.beanstalk.plugins.filter.mlflow_grant_problems import mlflow_grant_problems
from ansible_collections.mlflowops.beanstalk.plugins.module_utils import grants
from support.authlayer import auth

ROOT = Path(__file__).resolve().parents[2]

USERS = ["alice", "bob", "carol"]


def test_the_filter_reports_each_bad_entry_by_its_index_and_good_ones_not_at_all():
    problems = mlflow_grant_problems(
        [
            {"user": "bob", "experiment": "churn", "permission": "EDIT"},
            {"user": "mallory", "experiment": "churn", "permission": "READ"},
            {"user": "bob", "registered_model": "m", "permission": "NO_PERMISSIONS"},
            {"user": "bob", "experiment": "churn", "permission": "READ"},
            "bob may read churn",
        ],
        USERS,
    )
    assert problems == [
        "grants[1] names user 'mallory', who is not in the users list",
        "grants[2]: permission must be one of READ, USE, EDIT, MANAGE, not 'NO_PERMISSIONS'",
        "grants[3] grants bob on experiment 'churn' again (also grants[0])",
        "grants[4] is not a dictionary",
    ]
    assert mlflow_grant_problems([], USERS) == [] and mlflow_grant_problems(None, USERS) == []


def held(*entries):
    return {(kind, pattern): (permission, ident) for kind, pattern, permission, ident in entries}


def test_the_plan_adds_updates_and_removes_within_each_users_role_only():
    wanted = {"bob": {("experiment", "1"): "EDIT", ("registered_model", "m"): "READ"}, "carol": {("experiment", "2"): "READ"}}
    have = {
        "bob": held(("experiment", "1", "READ", 11), ("experiment", "3", "MANAGE", 12)),
        "dave": held(("experiment", "1", "READ", 21)),  # no longer a user
        "alice": held(("experiment", "1", "READ", 31)),  # no grant left in the inventory
    }
    assert grants.plan(wanted, have, set(USERS)) == [
        ("delete_role", "alice", None, None, None),
        ("update", "bob", ("experiment", "1"), "EDIT", 11),
        ("remove", "bob", ("experiment", "3"), "MANAGE", 12),
        ("add", "bob", ("registered_model", "m"), "READ", None),
        ("create_role", "carol", None, None, None),
        ("add", "carol", ("experiment", "2"), "READ", None),
        ("delete_role", "dave", None, None, None),
    ]
    converged = {user: held(*[(k[0], k[1], p, 0) for k, p in grants_of.items()]) for user, grants_of in wanted.items()}
    assert grants.plan(wanted, converged, set(USERS)) == []


def test_the_permission_names_agree_wherever_they_are_listed():
    """The auth layer's list (the default permission's), the bundle role's check of it, and what a
    grant may give: the same names, less NO_PERMISSIONS for a grant (a grant giving nothing is none)."""
    bundle_vars = yaml.safe_load((ROOT / "roles" / "bundle" / "vars" / "main.yml").read_text())
    assert bundle_vars["_bundle_permissions"] == list(auth.PERMISSIONS)
    assert list(grants.PERMISSIONS) == [name for name in auth.PERMISSIONS if name != "NO_PERMISSIONS"]

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: mlflow_permissions
short_description: Converge the inventory's grants on an MLflow server's permission engine
version_added: 0.1.0
description:
  - Gives each user exactly the grants the inventory lists for them, per experiment and registered
    model, through the MLflow server's own API, as one of its admins.
  - Each user's inventory grants live in an MLflow role of their own (C(mlflowops-grants-<user>)),
    assigned to them. Only those roles are changed, so grants made through MLflow (MANAGE for a
    creator, an owner's grant to a colleague, roles an admin made) are kept; a grant removed from
    the list is revoked (unless another grant gives it). A user with no grant left loses the role.
  - An experiment or registered model a grant names that doesn't exist is created (empty), so a
    team's experiment can be set up before anyone logs to it; check mode reports it instead.
  - Every grant is checked before anything is changed; the module fails naming the entries that
    can't be applied. Supports check mode and diff.
author:
  - mlflowops.beanstalk contributors (@mlflowops)
options:
  url:
    description: The server's address, e.g. C(https://mlflow.example.com).
    required: true
    type: str
  username:
    description: An admin of the server's permission engine.
    required: true
    type: str
  password:
    description: That admin's password.
    required: true
    type: str
  ca_path:
    description: CA bundle the server's certificate is verified with; the system's when empty.
    type: path
  users:
    description: Every user of the server (the inventory's); a grant naming another is refused.
    required: true
    type: list
    elements: str
  grants:
    description: Every grant, as C({user, experiment | registered_model, permission}).
    type: list
    elements: dict
    default: []
  timeout:
    description: Seconds each call may take.
    type: int
    default: 30
"""

EXAMPLES = r"""
- name: Bob may log to the churn experiment; carol may read the churn model
  mlflowops.beanstalk.mlflow_permissions:
    url: https://mlflow.example.com
    username: alice
    password: "{{ vault_mlflow_passwords.alice }}"
    users: [alice, bob, carol]
    grants:
      - {user: bob, experiment: churn, permission: EDIT}
      - {user: carol, registered_model: churn-classifier, permission: READ}
"""

RETURN = r"""
grants:
  description: The grants now held by the inventory's roles, by user, then by resource.
  returned: always
  type: dict
  sample: {bob: {"experiment churn": EDIT}}
created:
  description: Experiments and registered models created (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: ["experiment churn"]
changes:
  description: What was changed (or would be), one line each.
  returned: always
  type: list
  elements: str
"""

import json
from urllib.error import HTTPError
from urllib.error import URLError
from urllib.parse import urlencode

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.mlflowops.beanstalk.plugins.module_utils import grants as grants_util


class MlflowError(Exception):
    def __init__(self, message, status=None, code=None):
        super().__init__(message)
        self.status, self.code = status, code


class Client:
    """MLflow's REST API, as one user."""

    def __init__(self, module):
        params = module.params
        self.base = params["url"].rstrip("/")
        self.options = dict(
            url_username=params["username"],
            url_password=params["password"],
            force_basic_auth=True,
            ca_path=params["ca_path"] or None,
            timeout=params["timeout"],
            headers={"Content-Type": "application/json"},
        )

    def call(self, method, path, query=None, body=None):
        url = self.base + path + ("?" + urlencode(query) if query else "")
        try:
            response = open_url(url, method=method, data=json.dumps(body) if body is not None else None, **self.options)
            text = response.read()
        except HTTPError as error:
            text = error.read()
            try:
                answer = json.loads(text)
            except ValueError:
                answer = {"message": text.decode("utf-8", "replace").strip()}
            raise MlflowError(
                "%s %s answered %d: %s" % (method, path, error.code, answer.get("message", answer)),
                status=error.code,
                code=answer.get("error_code"),
            ) from None
        except URLError as error:
            raise MlflowError("%s %s failed: %s" % (method, path, error.reason)) from None
        return json.loads(text) if text.strip() else {}

    def find(self, path, query, key):
        """The object at `path`, or None when the server says it doesn't exist."""
        try:
            return self.call("GET", path, query)[key]
        except MlflowError as error:
            if error.code == "RESOURCE_DOES_NOT_EXIST" or error.status == 404:
                return None
            raise


class Resources:
    """Experiment ids and registered model names for the grants: every one looked up first (a
    deleted experiment is refused before anything changes), then the missing ones created."""

    def __init__(self, client, check_mode):
        self.client, self.check_mode = client, check_mode
        self.names = {}  # (type, pattern) -> name, for messages and diffs
        self.found = {}  # (kind, name) -> pattern, or None when missing
        self.created = []

    def look_up(self, grants):
        problems = []
        for grant in grants:
            kind = next(kind for kind in grants_util.KINDS if grant.get(kind))
            name = grant[kind]
            if (kind, name) in self.found:
                continue
            if kind == "registered_model":
                found = self.client.find("/api/2.0/mlflow/registered-models/get", {"name": name}, "registered_model")
                self.found[(kind, name)] = None if found is None else name
            else:
                found = self.client.find(
                    "/api/2.0/mlflow/experiments/get-by-name", {"experiment_name": name}, "experiment"
                )
                self.found[(kind, name)] = None if found is None else found["experiment_id"]
                if found is not None and found.get("lifecycle_stage") == "deleted":
                    problems.append("experiment %r is deleted: restore it in MLflow, or remove its grants" % name)
        return problems

    def create_missing(self):
        for (kind, name), pattern in sorted(self.found.items()):
            if pattern is not None:
                continue
            self.created.append("%s %s" % (kind, name))
            if kind == "registered_model":
                if not self.check_mode:
                    self.client.call("POST", "/api/2.0/mlflow/registered-models/create", body={"name": name})
                self.found[(kind, name)] = name
            elif self.check_mode:
                self.found[(kind, name)] = "(new: %s)" % name
            else:
                self.found[(kind, name)] = self.client.call(
                    "POST", "/api/2.0/mlflow/experiments/create", body={"name": name}
                )["experiment_id"]

    def resolve(self, kind, name):
        pattern = self.found[(kind, name)]
        self.names[(grants_util.KINDS[kind], pattern)] = name
        return pattern

    def name_of(self, resource_type, pattern):
        if (resource_type, pattern) not in self.names:
            name = pattern
            if resource_type == "experiment":
                found = self.client.find("/api/2.0/mlflow/experiments/get", {"experiment_id": pattern}, "experiment")
                name = found["name"] if found else "#%s (gone)" % pattern
            self.names[(resource_type, pattern)] = name
        return self.names[(resource_type, pattern)]


def held_grants(client):
    """({user: {(type, pattern): (permission, id)}}, {user: role}) from the inventory's roles."""
    roles = client.call("GET", "/api/3.0/mlflow/roles/list", {"workspace": grants_util.WORKSPACE}).get("roles", [])
    held, by_user = {}, {}
    for role in roles:
        if role["name"].startswith(grants_util.ROLE_PREFIX):
            user = role["name"][len(grants_util.ROLE_PREFIX) :]
            by_user[user] = role
            held[user] = {
                (p["resource_type"], p["resource_pattern"]): (p["permission"], p["id"])
                for p in role.get("permissions", [])
            }
    return held, by_user


def assigned(client, user, role):
    try:
        roles = client.call("GET", "/api/3.0/mlflow/users/roles/list", {"username": user}).get("roles", [])
    except MlflowError as error:
        if error.code == "RESOURCE_DOES_NOT_EXIST":
            return True  # the user is gone: MLflow dropped its assignments with it
        raise
    return any(other["id"] == role["id"] for other in roles)


def apply(client, changes, roles):
    for action, user, key, permission, ident in changes:
        if action == "create_role":
            roles[user] = client.call(
                "POST",
                "/api/3.0/mlflow/roles/create",
                body={
                    "name": grants_util.ROLE_PREFIX + user,
                    "workspace": grants_util.WORKSPACE,
                    "description": "Grants from the deployment's inventory (mlflowops_grants): changed by deploy.yml",
                },
            )["role"]
        if action in ("create_role", "assign"):
            client.call("POST", "/api/3.0/mlflow/roles/assign", body={"username": user, "role_id": roles[user]["id"]})
        elif action == "delete_role":
            client.call("DELETE", "/api/3.0/mlflow/roles/delete", body={"role_id": roles[user]["id"]})
        elif action == "add":
            client.call(
                "POST",
                "/api/3.0/mlflow/roles/permissions/add",
                body={
                    "role_id": roles[user]["id"],
                    "resource_type": key[0],
                    "resource_pattern": key[1],
                    "permission": permission,
                },
            )
        elif action == "update":
            client.call(
                "PATCH",
                "/api/3.0/mlflow/roles/permissions/update",
                body={"role_permission_id": ident, "permission": permission},
            )
        elif action == "remove":
            client.call("DELETE", "/api/3.0/mlflow/roles/permissions/remove", body={"role_permission_id": ident})


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            username=dict(type="str", required=True),
            password=dict(type="str", required=True, no_log=True),
            ca_path=dict(type="path"),
            users=dict(type="list", elements="str", required=True),
            grants=dict(type="list", elements="dict", default=[]),
            timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    params = module.params
    errors = grants_util.validate(params["grants"], params["users"])
    if errors:
        module.fail_json(msg="invalid grants, nothing was changed: " + "; ".join(errors), errors=errors)

    client = Client(module)
    resources = Resources(client, module.check_mode)
    try:
        problems = resources.look_up(params["grants"])
        if problems:
            module.fail_json(msg="invalid grants, nothing was changed: " + "; ".join(problems), errors=problems)
        held, roles = held_grants(client)
        resources.create_missing()
        wanted = grants_util.desired(params["grants"], resources.resolve)
        changes = grants_util.plan(wanted, held, set(params["users"]))
        for user, role in sorted(roles.items()):
            if user in params["users"] and wanted.get(user) and not assigned(client, user, role):
                changes.append(("assign", user, None, None, None))
        lines = [
            "%s %s%s"
            % (action, user, "" if key is None else ": %s %s %s" % (key[0], resources.name_of(*key), permission))
            for action, user, key, permission, _ident in changes
        ]
        before = grants_util.describe(held, resources.name_of)
        after = grants_util.describe(
            {user: grants for user, grants in wanted.items() if user in params["users"]}, resources.name_of
        )
        if changes and not module.check_mode:
            apply(client, changes, roles)
    except MlflowError as error:
        module.fail_json(msg=str(error))
    changed = bool(changes or resources.created)
    result = dict(changed=changed, grants=after, created=resources.created, changes=lines)
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

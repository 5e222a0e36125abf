#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mlflowops.beanstalk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: htpasswd_file
short_description: Write a whole htpasswd users file with deterministic hashes
version_added: 0.1.0
description:
  - Validates a list of users and writes the complete users file (htpasswd format, C(name:hash)
    lines) that the server's authentication layer reads.
  - Each salt is derived from O(salt_seed) and the user name, so an unchanged password gives a
    byte-identical line and a rerun reports no change; a changed password changes the line.
  - Validation errors name the offending entry by position and user name, never by password.
  - Unlike M(community.general.htpasswd), the file holds exactly the users given (users not listed
    are removed) and hashing uses libpass, the maintained passlib fork that works with bcrypt 5.
author:
  - mlflowops.beanstalk contributors (@mlflowops)
options:
  path:
    description: Where to write the users file.
    type: path
    required: true
  users:
    description: The users, in the order they are written.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: User name; letters, digits and C(. _ @ + -) only.
        type: str
        required: true
      password:
        description: The password in clear; never logged.
        type: str
        required: true
      admin:
        description: Whether the user is an admin of MLflow's permission engine; not written to the file.
        type: bool
        default: false
  scheme:
    description:
      - Hash scheme, verified by the server's authentication layer (libpass).
      - That layer runs the slow check once per distinct credential and keeps the outcome in a
        bounded in-memory cache, so the cost is paid once per client, not per request.
    type: str
    choices: [bcrypt, sha512_crypt, sha256_crypt]
    default: bcrypt
  rounds:
    description:
      - Cost for the scheme (bcrypt log2 rounds, or SHA-crypt rounds).
      - Defaults to 10 for bcrypt, 656000 for sha512_crypt and 535000 for sha256_crypt, the least accepted.
    type: int
  salt_seed:
    description:
      - Seed the per-user salts are derived from.
      - A secret of at least 32 characters generated once and kept (for example in Secrets
        Manager), never a public value such as the application name, which would give every
        install the same hash for the same password.
    type: str
    required: true
  min_password_length:
    description: Shortest password accepted.
    type: int
    default: 12
  mode:
    description: File mode of the users file.
    type: raw
    default: "0600"
requirements:
  - libpass (imported as C(passlib))
seealso:
  - module: community.general.htpasswd
    description: Adds or removes one user at a time, with random salts.
notes:
  - In check mode nothing is written, but every validation runs; use it to check inputs first.
  - The diff lists user names only, never hashes.
"""

EXAMPLES = r"""
- name: Write the users file of the bundle
  mlflowops.beanstalk.htpasswd_file:
    path: build/source/.platform/mlflowops/htpasswd
    users: "{{ mlflow_users }}"
    salt_seed: "{{ vault_htpasswd_salt_seed }}"
  no_log: true
"""

RETURN = r"""
path:
  description: The users file.
  returned: always
  type: str
users:
  description: The user names written, in order.
  returned: always
  type: list
  elements: str
  sample: [alice, bob]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mlflowops.beanstalk.plugins.module_utils import files
from ansible_collections.mlflowops.beanstalk.plugins.module_utils import htpasswd


def summarize(content):
    """name -> hash for a users file's content (None -> {})."""
    entries = {}
    for line in (content or "").splitlines():
        if ":" in line:
            name, hashed = line.split(":", 1)
            entries[name] = hashed
    return entries


def describe_diff(before, after):
    old, new = summarize(before), summarize(after)
    lines_before = sorted(old)
    lines_after = []
    for name in sorted(new):
        if name not in old:
            lines_after.append("%s (added)" % name)
        elif old[name] != new[name]:
            lines_after.append("%s (password changed)" % name)
        else:
            lines_after.append(name)
    return {"before": "\n".join(lines_before) + "\n", "after": "\n".join(lines_after) + "\n"}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            users=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    password=dict(type="str", required=True, no_log=True),
                    admin=dict(type="bool", default=False),
                ),
            ),
            scheme=dict(type="str", default="bcrypt", choices=list(htpasswd.SCHEMES)),
            rounds=dict(type="int"),
            salt_seed=dict(type="str", required=True, no_log=True),
            min_password_length=dict(type="int", default=12, no_log=False),
            mode=dict(type="raw", default="0600"),
        ),
        supports_check_mode=True,
    )
    if not htpasswd.HAS_PASSLIB:
        module.fail_json(
            msg=missing_required_lib("libpass (imported as passlib)"),
            exception=str(htpasswd.PASSLIB_IMPORT_ERROR),
        )

    params = module.params
    if len(params["salt_seed"]) < htpasswd.MIN_SEED_LENGTH:
        module.fail_json(
            msg="salt_seed must be a secret of at least %d characters, generated once; "
            "a public value would give every install the same hashes" % htpasswd.MIN_SEED_LENGTH
        )
    scheme = params["scheme"]
    rounds = params["rounds"] if params["rounds"] is not None else htpasswd.DEFAULT_ROUNDS[scheme]
    errors = htpasswd.validate_users(params["users"], scheme, params["min_password_length"])
    rounds_error = htpasswd.validate_rounds(scheme, rounds)
    if rounds_error:
        errors.append(rounds_error)
    if errors:
        module.fail_json(msg="invalid users: " + "; ".join(errors), errors=errors)

    content = htpasswd.render(params["users"], params["salt_seed"], scheme, rounds)
    changed, before = files.write_if_changed(module, params["path"], content.encode("utf-8"), params["mode"])
    before = before.decode("utf-8", "replace") if before is not None else None
    result = dict(changed=changed, path=params["path"], users=[u["name"] for u in params["users"]])
    if module._diff and changed:
        result["diff"] = describe_diff(before, content)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

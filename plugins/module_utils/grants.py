# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The inventory's grants on MLflow's permission engine: checked, and planned against what the
server holds (no I/O here: the module mlflow_permissions does the calls).

Each user's grants from the inventory live in one MLflow role of the user's own, named
ROLE_PREFIX + user name, assigned to that user, in MLflow's default workspace. The collection
changes those roles only: grants made through MLflow (MANAGE for a creator, an owner's grant to a
colleague, roles an admin made) are other roles and are kept. A grant removed from the inventory
is removed from the role, so it is revoked, unless MLflow holds another grant that gives it.
"""

ROLE_PREFIX = "mlflowops-grants-"
WORKSPACE = "default"
# Permissions a grant may give (MLflow's; NO_PERMISSIONS can't be granted on a resource: a grant
# that gives nothing is no grant).
PERMISSIONS = ("READ", "USE", "EDIT", "MANAGE")
# The inventory's word for each kind of resource, and MLflow's resource type.
KINDS = {"experiment": "experiment", "registered_model": "registered_model"}


def validate(grants, users):
    """Messages for every grant that can't be applied (empty when all can), naming the entry."""
    errors = []
    known = set(users)
    seen = {}
    for index, grant in enumerate(grants):
        where = "grants[%d]" % index
        if not isinstance(grant, dict):
            errors.append("%s is not a dictionary" % where)
            continue
        unknown = set(grant) - {"user", "permission"} - set(KINDS)
        if unknown:
            errors.append("%s has unknown keys: %s" % (where, ", ".join(sorted(unknown))))
        user = grant.get("user")
        if not user:
            errors.append("%s names no user" % where)
        elif user not in known:
            errors.append("%s names user %r, who is not in the users list" % (where, user))
        kinds = [kind for kind in KINDS if grant.get(kind)]
        if len(kinds) != 1:
            errors.append("%s must name exactly one of %s" % (where, ", ".join(KINDS)))
        permission = grant.get("permission")
        if permission not in PERMISSIONS:
            errors.append("%s: permission must be one of %s, not %r" % (where, ", ".join(PERMISSIONS), permission))
        if user and len(kinds) == 1:
            key = (user, kinds[0], grant[kinds[0]])
            if key in seen:
                errors.append(
                    "%s grants %s on %s %r again (also grants[%d])"
                    % (where, user, kinds[0], grant[kinds[0]], seen[key])
                )
            seen.setdefault(key, index)
    return errors


def desired(grants, resolve):
    """{user: {(resource type, pattern): permission}}; resolve(kind, name) gives the pattern."""
    wanted = {}
    for grant in grants:
        kind = next(kind for kind in KINDS if grant.get(kind))
        wanted.setdefault(grant["user"], {})[(KINDS[kind], resolve(kind, grant[kind]))] = grant["permission"]
    return wanted


def plan(wanted, held, users):
    """The changes that make the roles hold `wanted`.

    held: {user: {(resource type, pattern): (permission, role permission id)}} from the roles of
    users that have one. Users not in `users` lose their role (MLflow removes such users anyway).
    Returns a list of (action, user, key, permission, id) with action one of create_role,
    delete_role, add, update, remove; ids are the role permissions' (None for new ones).
    """
    changes = []
    for user in sorted(set(wanted) | set(held)):
        want = wanted.get(user, {}) if user in users else {}
        have = held.get(user)
        if have is None:
            if want:
                changes.append(("create_role", user, None, None, None))
            have = {}
        elif not want:
            changes.append(("delete_role", user, None, None, None))
            continue
        for key in sorted(set(want) | set(have)):
            if key not in have:
                changes.append(("add", user, key, want[key], None))
            elif key not in want:
                changes.append(("remove", user, key, have[key][0], have[key][1]))
            elif have[key][0] != want[key]:
                changes.append(("update", user, key, want[key], have[key][1]))
    return changes


def describe(grants_by_user, name_of):
    """{user: {"experiment churn": "EDIT", ...}} for diffs; name_of(type, pattern) names a resource."""
    return {
        user: {
            "%s %s" % (key[0], name_of(*key)): value[0] if isinstance(value, tuple) else value
            for key, value in sorted(grants.items())
        }
        for user, grants in sorted(grants_by_user.items())
        if grants
    }

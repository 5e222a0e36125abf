"""Each value two roles share has one source: the playbooks' role mapping (playbooks/vars/roles.yml)
gives every role that needs it the same value, whatever the inventory sets."""

import collections
import json

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from conftest import ROOT

ROLES = sorted(path.name for path in (ROOT / "roles").iterdir())

# Variables that name one value for several roles, and inventories that move it off its default.
SHARED = {
    "health path": (["bundle_health_path", "environment_health_path", "smoke_test_health_path"],
                    {"mlflowops_health_path": "/alive"}),
    "application": (["bundle_app_name", "environment_application_name", "endpoint_application_name", "prerequisites_name"],
                    {"mlflowops_name": "team-mlflow"}),
    "environment": (["environment_name", "endpoint_environment_name", "prerequisites_environment_name"],
                    {"mlflowops_environment_name": "team-prod"}),
    "MLflow version": (["bundle_mlflow_version", "environment_mlflow_version"], {"bundle_mlflow_version": "3.1.0"}),
    "server features": (["bundle_server_features", "prerequisites_server_features"], {"mlflowops_server_features": ["jobs"]}),
    "tags": (["environment_tags", "prerequisites_tags", "endpoint_tags"], {"mlflowops_tags": {"team": "ml"}}),
    "request timeout": (["bundle_nginx_proxy_timeout", "environment_server_timeout"], {"mlflowops_request_timeout": 120}),
    "keep-alive": (["bundle_nginx_keepalive_timeout", "environment_server_keepalive_timeout"],
                   {"mlflowops_load_balancer_idle_timeout": 500}),
    "artifact bucket": (["prerequisites_artifact_bucket", "smoke_test_artifact_bucket"], {"mlflowops_artifact_bucket": "team-art"}),
    "artifact prefix": (["prerequisites_artifact_prefix", "smoke_test_artifact_prefix"], {"prerequisites_artifact_prefix": "runs"}),
    "users": (["bundle_users", "grants_users"], {"bundle_users": [{"name": "ann", "password": "ann-Password-0001", "admin": True}]}),
    "front door": (["smoke_test_url", "grants_url"], {"mlflowops_hostname": "mlflow.team.example"}),
    "front door's CA": (["smoke_test_ca_path", "grants_ca_path"], {"mlflowops_ca_path": "/etc/team-ca.pem"}),
}
# The same name in two roles' defaults, for different things.
UNRELATED = {
    "server_keepalive_timeout": "MLflow's own keep-alive behind nginx, and nginx's towards the load balancer",
    "wait_timeout": "the wait for an environment, and the wait for a certificate's validation",
    "name": "the environment's name, and the name the prerequisites give what they create (the application's)",
    "certificate_arn": "the certificate asked for, and the one the endpoint role found or requested (its result)",
}


def defaults(role):
    return yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}


def trusted(value):
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [trusted(item) for item in value]
    return value


def resolve(names, inventory):
    """The values a play of the collection gives these variables: the role defaults, the inventory
    over them, the role mapping over both (as vars_files are over group_vars), and what the
    prerequisites role hands over (its outputs, from its own variables)."""
    variables = {}
    for role in ROLES:
        variables.update(defaults(role))
    variables.update(inventory)
    variables.update(yaml.safe_load((ROOT / "playbooks" / "vars" / "roles.yml").read_text()))
    variables["prerequisites_outputs"] = {"artifact_bucket": "{{ prerequisites_artifact_bucket }}",
                                          "artifact_prefix": "{{ prerequisites_artifact_prefix }}"}
    variables.setdefault("mlflowops_name", "mlflow")
    variables.setdefault("mlflowops_artifact_bucket", "art")
    variables.setdefault("mlflowops_bundle_bucket", "bundles")
    variables.setdefault("mlflowops_aws_connection", {})
    variables.setdefault("mlflowops_hostname", "mlflow.example.com")  # required by every playbook
    templar = Templar(loader=DataLoader(), variables=trusted(variables))
    return {name: templar.template(trust_as_template("{{ %s }}" % name)) for name in names}


@pytest.mark.parametrize("subject", sorted(SHARED))
def test_every_role_gets_the_same_value_by_default_and_when_the_inventory_sets_it(subject):
    names, inventory = SHARED[subject]
    for setting in ({}, inventory):
        values = resolve(names, setting)
        assert len({json.dumps(value, sort_keys=True) for value in values.values()}) == 1, (subject, setting, values)
    assert resolve(names, {}) != resolve(names, inventory), "%s: the inventory's setting moved nothing" % subject


def test_a_name_in_two_roles_defaults_is_one_shared_value_or_a_different_thing():
    by_suffix = collections.defaultdict(list)
    for role in ROLES:
        for name in defaults(role):
            by_suffix[name[len(role) + 1:]].append(name)
    shared = {name for names, _inventory in SHARED.values() for name in names}
    for suffix, names in by_suffix.items():
        if len(names) > 1 and suffix not in UNRELATED:
            assert set(names) <= shared, "%s are defaults of several roles: map them to one source in playbooks/vars/roles.yml, " \
                                         "and list them in SHARED" % names

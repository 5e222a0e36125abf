"""deploy.yml, rotate_credentials.yml and teardown.yml refuse bad input with a clear message
before anything is created or changed. The playbooks never start the local cloud (`make deploy`,
`make up`, molecule and the tests do): here it isn't running, so no call can have been made."""

import pytest

from localcloud.procs import free_port

CASES = [
    ({"mlflowops_hostname": ""}, "Set mlflowops_hostname (got '') to the hostname clients will use"),
    ({"mlflowops_hostname": "127.0.0.1:443"}, "Set mlflowops_hostname (got '127.0.0.1:443')"),
    ({"mlflowops_certificate_arn": "not-an-arn"}, "mlflowops_certificate_arn to an ACM certificate covering it (got 'not-an-arn')"),
    ({"mlflowops_certificate_arn": ""}, "or mlflowops_hosted_zone to the public Route 53 zone holding it"),
    ({"environment_min_instances": 5, "environment_max_instances": 2}, "instances 5..2 (at least 1, min <= max)"),
    ({"environment_instance_type": "huge"}, "instance type 'huge' (like t3.small)"),
    ({"mlflowops_artifact_bucket": "Bad_Bucket"}, "bucket names must follow S3's rules"),
    ({"mlflowops_bundle_bucket": "mlflow-local-artifacts"}, "digits, dots and hyphens) and differ"),
    ({"bundle_users": []}, "the users list is empty"),
    ({"bundle_users": [{"name": "alice", "password": "alice-Password-0001"}]}, "refusing to remove the last admin"),
    ({"mlflowops_grants": [{"user": "mallory", "experiment": "churn", "permission": "EDIT"}]},
     "Invalid grants (mlflowops_grants), nothing was changed: grants[0] names user 'mallory', who is not in the users list"),
    ({"mlflowops_grants": [{"user": "mlflow", "registered_model": "churn", "permission": "OWNER"}]},
     "grants[0]: permission must be one of READ, USE, EDIT, MANAGE, not 'OWNER'"),
    ({"mlflowops_name": "bad name"}, "Invalid prerequisites settings"),
    ({"prerequisites_noncurrent_version_days": 0}, "noncurrent versions expire (0) and incomplete uploads are removed (7) must be whole numbers"),
    ({"mlflowops_load_balancer_idle_timeout": 60}, "The load balancer's idle timeout (60 s) must be 1-4000 s, at least the server's own timeout (300 s"),
    ({"mlflowops_max_artifact_size_gb": 20, "mlflowops_root_volume_size": 40}, "The instances' root volume (40 GiB) must hold"),
    ({"mlflowops_server_features": ["gateway", "shell"]},
     "bundle_server_features (mlflowops_server_features) takes gateway, assistant, jobs, webhooks; got ['shell']"),
]


USERS = [{"name": "alice", "password": "alice-Password-0001", "admin": True}, {"name": "bob", "password": "bob-Password-000002"}]

DAY_TWO_CASES = [
    ("rotate_credentials.yml", {"bundle_users": []}, "the users list is empty"),
    ("rotate_credentials.yml", {"bundle_users": USERS, "mlflowops_retired_users": [USERS[1]]},
     "bob is both retired and a current user with that same password"),
    ("rotate_credentials.yml", {"bundle_users": USERS, "mlflowops_retired_users": [{"name": "carol"}]},
     "Each retired credential needs a name and a password"),
    ("rotate_credentials.yml", {"bundle_users": USERS, "mlflowops_rotate_secrets": ["root_password"]},
     "takes database_password, database_master_password and flask_secret_key; got ['root_password']"),
    ("rotate_credentials.yml", {"bundle_users": USERS, "mlflowops_rotate_secrets": ["database_password"],
                                "prerequisites_database_uri": "postgresql://u:p@db.example.com/mlflow"},
     "An external database's password (prerequisites_database_uri) is rotated where that database lives"),
    # A rotation that removes a user the grants still name.
    ("rotate_credentials.yml", {"bundle_users": USERS, "mlflowops_grants": [{"user": "carol", "experiment": "churn", "permission": "READ"}]},
     "grants[0] names user 'carol', who is not in the users list"),
    # Valid input: the first call finds nothing listening.
    ("rotate_credentials.yml", {"bundle_users": USERS}, "AWS could not be reached before rotate"),
    ("teardown.yml", {}, "AWS could not be reached before teardown"),
    ("teardown.yml", {"mlflowops_purge": True}, "To confirm, also set mlflowops_purge_confirm=mlflow. Nothing was changed."),
    ("teardown.yml", {"mlflowops_purge": True, "mlflowops_purge_confirm": "yes"}, "To confirm, also set mlflowops_purge_confirm=mlflow."),
]


@pytest.mark.parametrize("playbook, overrides, message", [("deploy.yml",) + case for case in CASES] + DAY_TWO_CASES)
def test_bad_input_fails_before_anything_is_created(run_playbook, tmp_path, playbook, overrides, message):
    state = tmp_path / "cloud"
    result = run_playbook(playbook, overrides, env={"LOCALCLOUD_STATE_DIR": str(state), "LOCALCLOUD_PORT": str(free_port())})
    assert result.returncode != 0
    assert message in " ".join((result.stdout + result.stderr).split()), result.stdout[-3000:]
    # Nothing was started, so nothing can have been created.
    assert not (state / "localcloud.pid").exists()


def test_a_ca_bundle_the_lookups_would_not_get_stops_the_deploy(run_playbook, tmp_path):
    """amazon.aws's lookups read Secrets Manager with boto3's own CA settings only: a connection
    naming a CA bundle needs AWS_CA_BUNDLE to name it too, or the first lookup fails mid-way."""
    state = tmp_path / "cloud"
    result = run_playbook("deploy.yml", {}, env={"LOCALCLOUD_STATE_DIR": str(state), "LOCALCLOUD_PORT": str(free_port()), "AWS_CA_BUNDLE": ""})
    assert result.returncode != 0
    assert "which only take it from the environment: run with AWS_CA_BUNDLE=%s/tls/ca.pem" % state in " ".join(result.stdout.split()), \
        result.stdout[-3000:]
    assert not (state / "localcloud.pid").exists()

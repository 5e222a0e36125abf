"""deploy.yml refuses bad input with a clear message before anything is created (not even the
local cloud is started)."""

import pytest

from localcloud.procs import free_port

CASES = [
    ({"environment_https_required": True}, "environment_certificate_arn (mlflowops_certificate_arn in the inventory) must be the ARN"),
    ({"environment_https_required": True, "environment_certificate_arn": "not-an-arn"}, "must be the ARN of an ACM certificate"),
    ({"environment_min_instances": 5, "environment_max_instances": 2}, "instances 5..2 (at least 1, min <= max)"),
    ({"environment_instance_type": "huge"}, "instance type 'huge' (like t3.small)"),
    ({"mlflowops_artifact_bucket": "Bad_Bucket"}, "bucket names must follow S3's rules"),
    ({"mlflowops_bundle_bucket": "mlflow-local-artifacts"}, "digits, dots and hyphens) and differ"),
    ({"bundle_users": []}, "the users list is empty"),
    ({"mlflowops_name": "bad name"}, "Invalid prerequisites settings"),
]


@pytest.mark.parametrize("overrides, message", CASES)
def test_bad_input_fails_before_anything_is_created(run_playbook, tmp_path, overrides, message):
    state = tmp_path / "cloud"
    result = run_playbook("deploy.yml", overrides, env={"LOCALCLOUD_STATE_DIR": str(state), "LOCALCLOUD_PORT": str(free_port())})
    assert result.returncode != 0
    assert message in " ".join((result.stdout + result.stderr).split()), result.stdout[-3000:]
    # Nothing was started, so nothing can have been created.
    assert not (state / "localcloud.pid").exists()

"""community.aws.elasticbeanstalk_app works on the local cloud (moto alone breaks it twice)."""

import re


def test_elasticbeanstalk_app_is_idempotent_beside_another_application(cloud, run_playbook):
    eb = cloud.client("elasticbeanstalk")
    eb.create_application(ApplicationName="someone-else")
    variables = {"endpoint": cloud.endpoint, "ca": str(cloud.ca), "app_name": "mlflow", "description": "MLflow tracking"}
    result = run_playbook("tests/support/playbooks/eb_application.yml", variables)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"RESULT first=True second=False name=mlflow", result.stdout), result.stdout
    # A changed description is an update (UpdateApplication), then stable again.
    result = run_playbook("tests/support/playbooks/eb_application.yml", dict(variables, description="Shared MLflow"))
    assert re.search(r"RESULT first=True second=False", result.stdout), result.stdout + result.stderr
    apps = {app["ApplicationName"]: app.get("Description") for app in eb.describe_applications()["Applications"]}
    assert apps == {"someone-else": None, "mlflow": "Shared MLflow"}

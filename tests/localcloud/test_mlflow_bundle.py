"""The collection's own bundle on the local cloud: the MLflow server behind auth, for real.

Two instances on one PostgreSQL (an RDS instance of the local cloud) with the password from
Secrets Manager, artifacts in the emulated S3, reached through the HTTPS front door.
"""

import base64
import json
import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from support.cloud import launch_mlflow, print_events

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the bundle's hooks install the users file as root, as on EB")
INSECURE = ssl._create_unverified_context()  # the front door's certificate is self-signed


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def call(url, user=None, password=None, body=None):
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    if user is not None:
        token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        request.add_header("Authorization", "Basic " + token)
    try:
        with urllib.request.urlopen(request, timeout=30, context=INSECURE) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def mlflow_env(cloud, rendered_bundle):
    env = launch_mlflow(cloud, rendered_bundle["zip"])
    yield {"env": env, "url": "https://%s" % env["CNAME"], "users": rendered_bundle["users"], "s3": cloud.client("s3")}
    print_events(cloud, "mlflow-test")


def test_front_door_needs_credentials_and_instances_share_one_store(mlflow_env):
    url, alice = mlflow_env["url"], mlflow_env["users"][0]
    assert mlflow_env["env"]["Health"] == "Green"
    assert call(url + "/api/2.0/mlflow/experiments/search?max_results=1")[0] == 401
    assert call(url + "/api/2.0/mlflow/experiments/search?max_results=1", alice["name"], "wrong-password")[0] == 401
    assert call(url + "/health")[0] == 200
    # Plain HTTP is redirected to HTTPS by the load balancer's listener (the bundle's .ebextensions).
    plain = "http://%s/api/2.0/mlflow/experiments/search?max_results=1" % mlflow_env["env"]["EndpointURL"]
    with pytest.raises(urllib.error.HTTPError) as redirected:
        urllib.request.build_opener(NoRedirect).open(plain, timeout=10)
    assert redirected.value.code == 301
    assert redirected.value.headers["Location"] == url + "/api/2.0/mlflow/experiments/search?max_results=1"
    status, body = call(url + "/api/2.0/mlflow/experiments/create", alice["name"], alice["password"], {"name": "shared"})
    assert status == 200, body
    experiment = json.loads(body)["experiment_id"]
    status, body = call(url + "/api/2.0/mlflow/runs/create", alice["name"], alice["password"], {"experiment_id": experiment})
    run_id = json.loads(body)["run"]["info"]["run_id"]
    # Behind the load balancer every read lands on either instance: all must see the run.
    statuses = [call(url + "/api/2.0/mlflow/runs/get?run_id=" + run_id, alice["name"], alice["password"])[0] for _attempt in range(12)]
    assert statuses == [200] * 12


def test_mlflow_client_round_trip_without_aws_credentials(mlflow_env, tmp_path):
    alice = mlflow_env["users"][0]
    script = tmp_path / "client.py"
    script.write_text(
        "import mlflow\n"
        "mlflow.set_experiment('round-trip')\n"
        "with mlflow.start_run() as run:\n"
        "    mlflow.log_param('alpha', '0.5')\n"
        "    mlflow.log_metric('loss', 0.25)\n"
        "    open('note.txt', 'w').write('artifact body')\n"
        "    mlflow.log_artifact('note.txt')\n"
        "print(run.info.run_id)\n"
        "got = mlflow.get_run(run.info.run_id)\n"
        "assert got.data.params['alpha'] == '0.5' and got.data.metrics['loss'] == 0.25\n"
        "path = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path='note.txt')\n"
        "assert open(path).read() == 'artifact body'\n"
    )
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path),
        "MLFLOW_TRACKING_URI": mlflow_env["url"], "MLFLOW_TRACKING_INSECURE_TLS": "true",
        "MLFLOW_TRACKING_USERNAME": alice["name"], "MLFLOW_TRACKING_PASSWORD": alice["password"],
    }
    assert not [name for name in env if name.startswith("AWS_")]
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = result.stdout.strip().splitlines()[-1]
    keys = [item["Key"] for item in mlflow_env["s3"].list_objects_v2(Bucket="mlflow-artifacts").get("Contents", [])]
    assert any(key.endswith(run_id + "/artifacts/note.txt") for key in keys), keys

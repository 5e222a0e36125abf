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

from support.cloud import launch_mlflow, option, print_events, wait_ready

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the bundle's hooks install the users file as root, as on EB")
INSECURE = ssl._create_unverified_context()  # the front door's certificate is self-signed
ARTIFACT_CLIENT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support", "artifact_client.py")
MIB, GIB = 1024 ** 2, 1024 ** 3


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def call(url, user=None, password=None, body=None, method=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method=method)
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


def test_the_instance_policy_is_what_the_server_may_do(cloud, rendered_bundle):
    # The collection's instance policy without s3:PutObject: the server still lists and reads
    # artifacts with its instance profile's credentials, and every write is refused, as IAM would.
    def without_put(policy):
        for statement in policy["Statement"]:
            if isinstance(statement["Action"], list) and "s3:PutObject" in statement["Action"]:
                statement["Action"].remove("s3:PutObject")
        return policy

    try:
        env = launch_mlflow(cloud, rendered_bundle["zip"], policy_transform=without_put)
        url, alice = "https://%s" % env["CNAME"], rendered_bundle["users"][0]
        artifacts = url + "/api/2.0/mlflow-artifacts/artifacts"
        status, body = call(artifacts + "?path=probe", alice["name"], alice["password"])
        assert status == 200, body
        status, body = call(artifacts + "/probe/note.txt", alice["name"], alice["password"], method="PUT", raw=b"artifact body")
        assert status == 500, body
        s3 = cloud.client("s3")
        assert "Contents" not in s3.list_objects_v2(Bucket="mlflow-artifacts", Prefix="mlflow/probe/")
        refused = [r for r in cloud.requests() if r["action"].startswith("PUT /mlflow-artifacts/mlflow/probe/")]
        assert refused and all(r["caller"] == "instance" for r in refused), refused
    finally:
        print_events(cloud, "mlflow-test")


def test_mlflow_client_round_trip_without_aws_credentials(cloud, mlflow_env, tmp_path):
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
        # The download comes from S3 by a URL the server presigns, over HTTPS (the local CA's).
        "REQUESTS_CA_BUNDLE": str(cloud.ca),
    }
    assert not [name for name in env if name.startswith("AWS_")]
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = result.stdout.strip().splitlines()[-1]
    keys = [item["Key"] for item in mlflow_env["s3"].list_objects_v2(Bucket="mlflow-artifacts").get("Contents", [])]
    assert any(key.endswith(run_id + "/artifacts/note.txt") for key in keys), keys
    # The server wrote it with its instance profile's credentials, from the metadata service.
    writes = [r for r in cloud.requests() if r["service"] == "s3" and r["action"].startswith("PUT /mlflow-artifacts/")]
    assert writes and all(r["caller"] == "instance" for r in writes), writes


def artifact_round_trip(url, user, size, folder, ca, proxied=False):
    """An MLflow client sends `size` bytes up and back while another logs metrics (see artifact_client):
    through the server (`proxied`), or as MLflow's client does by default from 500 MiB on, in
    parts straight to and from S3 by URLs the server presigns."""
    env = {
        "PATH": os.environ["PATH"], "HOME": str(folder),
        "MLFLOW_TRACKING_URI": url, "MLFLOW_TRACKING_INSECURE_TLS": "true",
        "MLFLOW_TRACKING_USERNAME": user["name"], "MLFLOW_TRACKING_PASSWORD": user["password"],
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "900",
        # S3's certificate (presigned URLs are HTTPS: the bucket policy refuses plain HTTP).
        "REQUESTS_CA_BUNDLE": str(ca),
    }
    if proxied:
        env.update(MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD="false", MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD="false")
    result = subprocess.run([sys.executable, ARTIFACT_CLIENT, str(size), str(folder)], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=1800, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(report)
    return report


def test_large_artifacts_through_the_whole_stack_and_straight_to_s3(cloud, rendered_bundle, tmp_path):
    """With only MLflow credentials, while another client logs metrics. Through the front door,
    nginx, MLflow and S3: MLflow sends an upload to S3 only after its last byte came, and fetches a
    download before its first byte goes, silence for the client, which a load balancer whose idle
    timeout is below the server's own timeouts ends with a 504. Straight to S3 (MLflow's client
    does so by default from 500 MiB on): by URLs the server presigns, which S3 accepts only when
    signed for the bucket's region (here not us-east-1, where a server without a region signs)."""
    env = launch_mlflow(cloud, rendered_bundle["zip"], settings=[("aws:elbv2:loadbalancer", "IdleTimeout", "1")],
                        artifact_region="eu-west-1")
    url, alice = "https://%s" % env["CNAME"], rendered_bundle["users"][0]
    try:
        cut = artifact_round_trip(url, alice, 512 * MIB, tmp_path, cloud.ca, proxied=True)
        assert "504" in " ".join(cut["errors"]), cut
        eb = cloud.client("elasticbeanstalk")
        # What the collection sets: the server's own timeout (300 s).
        eb.update_environment(EnvironmentName="mlflow-test", OptionSettings=[option("aws:elbv2:loadbalancer", "IdleTimeout", "300")])
        wait_ready(eb, "mlflow-test")
        for size, proxied in ((2 * GIB, True), (600 * MIB, False)):
            trip = artifact_round_trip(url, alice, size, tmp_path, cloud.ca, proxied=proxied)
            assert trip["errors"] == [] and trip["metric_errors"] == [], trip
            assert trip["got"] == trip["sent"]
            assert trip["metrics_logged"] >= 10, "the other client was kept waiting"
    finally:
        print_events(cloud, "mlflow-test")

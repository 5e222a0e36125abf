"""An MLflow client round trip, as a user's code would make it.

Reads its settings from the JSON file named as its only argument (never from a command line),
drops every AWS_* variable first (a client needs no AWS credentials: the server proxies the
artifact uploads and presigns the downloads), then logs and reads back a run. Prints JSON: run_id, experiment_id, artifact_uri.
"""

import json
import os
import sys
import tempfile

with open(sys.argv[1], encoding="utf-8") as handle:
    settings = json.load(handle)
for name in [name for name in os.environ if name.startswith("AWS_")]:
    del os.environ[name]
os.environ.update({key: value for key, value in settings.items() if key.startswith("MLFLOW_") and value})
# Artifacts come back straight from S3, by a URL the server presigns: S3's certificate, when its
# CA is not one of the system's.
if settings.get("s3_ca_path"):
    os.environ["REQUESTS_CA_BUNDLE"] = settings["s3_ca_path"]
# MLflow's client telemetry sets and removes a session variable in os.environ; a request in
# flight that walks os.environ for proxy settings meanwhile fails with
# KeyError('_MLFLOW_TELEMETRY_SESSION_ID') (one call in thousands here).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow  # noqa: E402  (after the environment is set)

mlflow.set_experiment(settings["experiment"])
with mlflow.start_run(run_name="smoke-test") as run:
    mlflow.log_param("alpha", "0.5")
    mlflow.log_metric("loss", 0.25, step=1)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "smoke.txt")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("mlflowops smoke test")
        mlflow.log_artifact(path)
found = mlflow.get_run(run.info.run_id)
assert found.data.params["alpha"] == "0.5", found.data.params
assert found.data.metrics["loss"] == 0.25, found.data.metrics
with tempfile.TemporaryDirectory() as folder:
    local = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="smoke.txt", dst_path=folder)
    with open(local, encoding="utf-8") as handle:
        assert handle.read() == "mlflowops smoke test"
print(json.dumps({"run_id": run.info.run_id, "experiment_id": run.info.experiment_id, "artifact_uri": run.info.artifact_uri}))

"""A client that logs a metric in a loop, as a training job does, until a stop file appears.

Settings come from the JSON file named as the first argument (never from a command line); the
stop file is the second. Each value is logged once through the MLflow client, which retries
on its own; a value whose call still fails counts as failed. At the end the script reads the
metric's history back from the server and prints JSON: logged, failed, stored, missing.
"""

import json
import os
import sys
import time

with open(sys.argv[1], encoding="utf-8") as handle:
    settings = json.load(handle)
stop_file = sys.argv[2]
for name in [name for name in os.environ if name.startswith("AWS_")]:
    del os.environ[name]
os.environ.update({key: value for key, value in settings.items() if key.startswith("MLFLOW_") and value})
# MLflow's client telemetry sets and removes a session variable in os.environ; a request in
# flight that walks os.environ for proxy settings meanwhile fails with
# KeyError('_MLFLOW_TELEMETRY_SESSION_ID') (one call in thousands here).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from mlflow.tracking import MlflowClient  # noqa: E402  (after the environment is set)

client = MlflowClient()
experiment = client.get_experiment_by_name(settings["experiment"])
experiment_id = experiment.experiment_id if experiment else client.create_experiment(settings["experiment"])
run_id = client.create_run(experiment_id, run_name="metric-logger").info.run_id
logged, failed, errors = [], 0, []
step = 0
deadline = time.monotonic() + float(settings.get("max_seconds", 900))
while not os.path.exists(stop_file) and time.monotonic() < deadline:
    try:
        client.log_metric(run_id, "step_value", float(step), step=step)
        logged.append(step)
    except Exception as error:  # pylint: disable=broad-except
        failed += 1
        errors.append("%s: %s" % (type(error).__name__, str(error)[:300]))
    step += 1
    time.sleep(float(settings.get("interval", 0.1)))
client.set_terminated(run_id)
stored = {int(metric.step) for metric in client.get_metric_history(run_id, "step_value")}
print(json.dumps({"run_id": run_id, "logged": len(logged), "failed": failed, "stored": len(stored),
                  "missing": len(set(logged) - stored), "errors": errors[:5]}))

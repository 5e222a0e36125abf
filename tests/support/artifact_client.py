"""An MLflow client that sends one large artifact up and back while another logs metrics.

Run as a script, with MLFLOW_TRACKING_URI and the MLflow credentials in the environment (no AWS
keys): `python artifact_client.py <bytes> <folder>`. Prints one JSON line: the SHA-256 of what
went up and of what came back, how long each way took, how many metrics the other client logged
meanwhile and every error either client saw. MLflow's own retries should be off
(MLFLOW_HTTP_REQUEST_MAX_RETRIES=0), so that a 5xx is seen, not hidden by a second attempt.
"""

import hashlib
import json
import os
import sys
import threading
import time
from pathlib import Path

from mlflow import MlflowClient

MIB = 1024 * 1024


def write_file(path, size):
    """`size` bytes that differ in every MiB; returns their SHA-256."""
    digest, block = hashlib.sha256(), os.urandom(MIB)
    with open(path, "wb") as out:
        for offset in range(0, size, MIB):
            chunk = (b"%016d" % offset + block[16:])[:min(MIB, size - offset)]
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


def log_metrics(client, run_id, stop, report):
    step = 0
    while not stop.is_set():
        try:
            client.log_metric(run_id, "tick", step, step=step)
            step += 1
        except Exception as error:  # pylint: disable=broad-except
            report["metric_errors"].append(repr(error)[:300])
        time.sleep(0.2)
    report["metrics_logged"] = step


def main():
    size, folder = int(sys.argv[1]), Path(sys.argv[2])
    client = MlflowClient()
    experiment = client.create_experiment("artifacts-%d" % time.time_ns())
    carrier, ticker = (client.create_run(experiment).info.run_id for _run in range(2))
    report = {"size": size, "metric_errors": [], "errors": []}
    report["sent"] = write_file(folder / "large.bin", size)
    stop = threading.Event()
    other = threading.Thread(target=log_metrics, args=(client, ticker, stop, report))
    other.start()
    try:
        began = time.monotonic()
        client.log_artifact(carrier, str(folder / "large.bin"))
        report["upload_s"] = round(time.monotonic() - began, 1)
        (folder / "large.bin").unlink()
        began = time.monotonic()
        back = client.download_artifacts(carrier, "large.bin", str(folder))
        report["download_s"] = round(time.monotonic() - began, 1)
        report["got"] = sha256_of(back)
        os.unlink(back)
    except Exception as error:  # pylint: disable=broad-except
        report["errors"].append(repr(error)[:500])
    finally:
        stop.set()
        other.join()
    print(json.dumps(report))


if __name__ == "__main__":
    main()

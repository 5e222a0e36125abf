"""What deploy.yml costs on the local cloud: AWS API calls by service and by read/write, and wall
time, for a first deploy and for a re-run that has nothing to do; and the re-run's time as a
multiple of an empty `ansible-playbook` play (ansible's own start-up), measured in the same run.

Prints figures; asserts nothing. Run from the repository root after `make setup`:
    .venv/bin/python benchmarks/deploy_cost.py
It starts its own local cloud (port 4597, ports 23100-23299) and stops it at the end. Calls are
counted from the local cloud's request log, client calls only (not the instances' own).
"""

import collections
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

# pylint: disable=wrong-import-position
from support.ansible import playbook_env  # noqa: E402
from support.cloud import LocalCloud  # noqa: E402

PLAYBOOK = str(ROOT / ".venv" / "bin" / "ansible-playbook")


def run(cloud, *args):
    env = playbook_env(cloud.ansible_overrides())
    began = time.monotonic()
    result = subprocess.run([PLAYBOOK, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    took = time.monotonic() - began
    if result.returncode != 0:
        sys.exit("ansible-playbook %s failed:\n%s" % (" ".join(args), result.stdout[-4000:]))
    return took, result.stdout


def calls_since(cloud, start):
    table = collections.Counter()
    for entry in cloud.requests()[start:]:
        if entry.get("caller") == "client":
            table[(entry["service"], entry["kind"])] += 1
    return table


def show(title, took, table):
    reads, writes = sum(n for (_s, kind), n in table.items() if kind == "read"), sum(n for (_s, kind), n in table.items() if kind == "write")
    print("%s: %.1f s, %d calls (%d reads, %d writes)" % (title, took, reads + writes, reads, writes))
    for service in sorted({service for service, _kind in table}):
        print("    %-18s reads %4d   writes %4d" % (service, table[(service, "read")], table[(service, "write")]))


def main():
    cloud = LocalCloud(ROOT / ".state" / "localcloud-bench-deploy", 4597, "23100-23299")
    cloud.cli("start")
    try:
        first_at = len(cloud.requests())
        first, _out = run(cloud, "-i", "inventories/local", "deploy.yml")
        first_calls = calls_since(cloud, first_at)
        again_at = len(cloud.requests())
        again, out = run(cloud, "-i", "inventories/local", "deploy.yml")
        again_calls = calls_since(cloud, again_at)
        empty = min(run(cloud, "-i", "localhost,", "-c", "local", "benchmarks/playbooks/empty.yml")[0] for _round in range(3))
    finally:
        cloud.cli("stop")
    show("First deploy", first, first_calls)
    show("Re-run, nothing to do", again, again_calls)
    recap = [line for line in out.splitlines() if line.startswith("localhost")]
    print("Re-run recap: %s" % (recap[-1].split(":", 1)[1].strip() if recap else "?"))
    print("Empty play (best of 3): %.2f s" % empty)
    print("Re-run / empty play: %.1fx" % (again / empty))


if __name__ == "__main__":
    main()

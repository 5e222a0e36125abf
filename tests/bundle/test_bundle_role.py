"""The bundle role end to end: determinism, labels, secrets and bad input, through ansible-playbook."""

import hashlib
import re
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = "tests/support/playbooks/bundle.yml"
ALICE = "alice-Password-0001"
BOB = "bob-Password-000002"
SEED = "tests-salt-seed-5c1e0d9a7b3f48e2a6d4c8b0f2e1a9d7"


def variables(build_dir, **overrides):
    values = {
        "bundle_build_dir": str(build_dir),
        "bundle_app_name": "mlflow-test",
        "bundle_users": [{"name": "alice", "password": ALICE, "admin": True}, {"name": "bob", "password": BOB}],
        "bundle_htpasswd_salt_seed": SEED,
    }
    values.update(overrides)
    return values


def recap(result):
    match = re.search(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    return {"ok": int(match[1]), "changed": int(match[2]), "failed": int(match[4])}


def label_of(result):
    match = re.search(r"Bundle (\S+) \(\d+ bytes\)", result.stdout)
    assert match, result.stdout + result.stderr
    return match[1]


def test_same_inputs_give_a_byte_identical_zip_and_label(run_playbook, tmp_path):
    first = run_playbook(PLAYBOOK, variables(tmp_path / "one"))
    second = run_playbook(PLAYBOOK, variables(tmp_path / "two"))
    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    zip_one = (tmp_path / "one" / "bundle.zip").read_bytes()
    zip_two = (tmp_path / "two" / "bundle.zip").read_bytes()
    assert zip_one == zip_two
    label = label_of(first)
    assert label == label_of(second)
    assert label == "mlflow-test-3.17.2-" + hashlib.sha256(zip_one).hexdigest()[:16]


def test_rerun_changes_nothing(run_playbook, tmp_path):
    assert run_playbook(PLAYBOOK, variables(tmp_path)).returncode == 0
    again = run_playbook(PLAYBOOK, variables(tmp_path))
    assert again.returncode == 0, again.stdout + again.stderr
    assert recap(again)["changed"] == 0, again.stdout


def test_a_changed_password_changes_the_label_and_only_that_line(run_playbook, tmp_path):
    before = run_playbook(PLAYBOOK, variables(tmp_path))
    users_file = tmp_path / "source" / "mlflowops" / "htpasswd"
    old_lines = users_file.read_text().splitlines()
    after = run_playbook(
        PLAYBOOK,
        variables(tmp_path, bundle_users=[{"name": "alice", "password": ALICE + "x", "admin": True}, {"name": "bob", "password": BOB}]),
    )
    assert after.returncode == 0, after.stdout + after.stderr
    assert label_of(before) != label_of(after)
    new_lines = users_file.read_text().splitlines()
    assert old_lines[0] != new_lines[0] and old_lines[1] == new_lines[1]


def test_the_secret_seed_salts_every_hash(run_playbook, tmp_path):
    """Two installs with the same users and passwords share no hash: one precomputation can't serve both."""
    lines = []
    for name, seed in (("one", SEED), ("two", SEED[::-1])):
        result = run_playbook(PLAYBOOK, variables(tmp_path / name, bundle_htpasswd_salt_seed=seed))
        assert result.returncode == 0, result.stdout + result.stderr
        lines.append((tmp_path / name / "source" / "mlflowops" / "htpasswd").read_text().splitlines())
    assert len(lines[0]) == len(lines[1]) == 2
    for one, two in zip(*lines):
        assert one.split(":")[0] == two.split(":")[0] and one != two
        assert one.split("$")[3][:22] != two.split("$")[3][:22], "the salts must differ"


def test_no_password_in_the_bundle_files_or_verbose_output(run_playbook, tmp_path):
    build = tmp_path / "build"
    result = run_playbook(PLAYBOOK, variables(build), args=("-vvv", "--diff"))
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    for secret in (ALICE, BOB, SEED):
        assert secret not in output
        for path in build.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
        with zipfile.ZipFile(build / "bundle.zip") as archive:
            for name in archive.namelist():
                assert secret.encode() not in archive.read(name), name
    users_file = build / "source" / "mlflowops" / "htpasswd"
    assert users_file.stat().st_mode & 0o077 == 0, "the users file in the build folder must be private"


def test_bundle_layout_and_modes(run_playbook, tmp_path):
    assert run_playbook(PLAYBOOK, variables(tmp_path)).returncode == 0
    with zipfile.ZipFile(tmp_path / "bundle.zip") as archive:
        modes = {info.filename: (info.external_attr >> 16) & 0o777 for info in archive.infolist()}
        dockerfile = archive.read("Dockerfile").decode()
        requirements = archive.read("requirements.txt").decode()
        server_conf = archive.read(".platform/nginx/conf.d/elasticbeanstalk/mlflowops.conf").decode()
        http_conf = archive.read(".platform/nginx/conf.d/mlflowops.conf").decode()
        entrypoint = archive.read("mlflowops/entrypoint.sh").decode()
        users = archive.read("mlflowops/htpasswd").decode()
    assert modes == {
        ".dockerignore": 0o644,
        ".ebextensions/mlflowops-https-redirect.config": 0o644,
        ".platform/confighooks/prebuild/01_mlflowops_imds_hop_limit.sh": 0o755,
        ".platform/hooks/prebuild/01_mlflowops_imds_hop_limit.sh": 0o755,
        ".platform/nginx/conf.d/elasticbeanstalk/mlflowops.conf": 0o644,
        ".platform/nginx/conf.d/mlflowops.conf": 0o644,
        "Dockerfile": 0o644,
        "mlflowops/entrypoint.sh": 0o755,
        "mlflowops/htpasswd": 0o600,
        "mlflowops/lib/mlflowops_auth-1.0.dist-info/METADATA": 0o644,
        "mlflowops/lib/mlflowops_auth-1.0.dist-info/entry_points.txt": 0o644,
        "mlflowops/lib/mlflowops_auth.py": 0o644,
        "mlflowops/lib/mlflowops_permission_cache.py": 0o644,
        "mlflowops/migrate.py": 0o644,
        "requirements.txt": 0o644,
    }
    # Features that let users make the server act are off by default, in MLflow's switches too.
    for line in ('MLFLOWOPS_SERVER_FEATURES=""', "MLFLOW_ENABLE_AI_GATEWAY=false", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false"):
        assert "export " + line + "\n" in entrypoint
    assert "mlflow[auth]==3.17.2" in requirements and "psycopg2-binary==" in requirements and "flask-wtf==" in requirements
    assert "auth_basic" not in server_conf, "credentials are checked once by the server's auth layer, not per request"
    assert "--app-name mlflowops-auth" in entrypoint
    assert "chown root:mlflow /opt/mlflowops/htpasswd && chmod 0440 /opt/mlflowops/htpasswd" in dockerfile
    assert "libpass==" in requirements and "bcrypt==" in requirements
    # The whole tree, hash-locked: every requirement line goes on to its hashes, and pip checks them.
    assert "pip install --no-cache-dir --require-hashes -r /opt/mlflowops/requirements.txt" in dockerfile
    # Defaults the environment's properties override: one worker per vCPU, SQLAlchemy's pool sizes.
    for line in ("MLFLOW_WORKERS=0 ", "MLFLOW_SQLALCHEMYSTORE_POOL_SIZE=5 ", "MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW=10 "):
        assert "    " + line in dockerfile, line
    pins = re.findall(r"(?m)^[a-z0-9][^\n]*$", requirements)
    assert len(pins) > 50 and all(pin.endswith(" \\") for pin in pins), [pin for pin in pins if not pin.endswith(" \\")]
    assert "location = /health" in server_conf
    assert all(line.split(":", 1)[1].startswith("$2b$10$") for line in users.splitlines()), "bcrypt-10 by default"
    assert "client_max_body_size 5g;" in http_conf
    for prefix in ("/api", "/ajax-api"):
        artifacts = server_conf.split("location %s/2.0/mlflow-artifacts {" % prefix, 1)[1].split("}", 1)[0]
        assert "proxy_request_buffering off;" in artifacts and "proxy_buffering off;" in artifacts, "artifacts stream, never spooled"
        assert "keepalive_timeout 315;" in artifacts, "kept-alive connections outlast the load balancer's 300 s idle timeout"
    assert '--uvicorn-opts "--timeout-keep-alive 75"' in entrypoint


BAD_INPUTS = [
    ({"bundle_users": []}, "the users list is empty"),
    ({"bundle_users": [{"name": "al:ice", "password": ALICE}]}, "users[0]: a user name must not contain ':'"),
    ({"bundle_users": [{"name": "al ice", "password": ALICE}]}, "users[0]: a user name must not contain whitespace"),
    ({"bundle_users": [{"name": "alice", "password": ""}]}, "users[0] (alice) has an empty password"),
    ({"bundle_users": [{"name": "alice", "password": "Zq9-tiny"}]}, "users[0] (alice): the password is shorter than 12"),
    ({"bundle_users": [{"name": "alice", "password": "P" * 80}]}, "users[0] (alice): the password is longer than 72 bytes"),
    (
        {"bundle_users": [{"name": "alice", "password": ALICE}, {"name": "alice", "password": BOB}]},
        "users[1] (alice): user name 'alice' is already used by users[0]",
    ),
    ({"bundle_users": [{"name": "alice"}]}, "password"),
    (
        {"bundle_users": [{"name": "alice", "password": ALICE}, {"name": "bob", "password": BOB}]},
        "bundle_users needs at least one user with admin: true",
    ),
    (
        {"bundle_default_permission": "OWNER"},
        "bundle_default_permission (mlflowops_default_permission) takes READ, USE, EDIT, MANAGE, NO_PERMISSIONS; got OWNER",
    ),
    ({"bundle_health_path": "health"}, "Invalid bundle settings"),
    ({"bundle_server_features": ["gateway", "shell"]}, "bundle_server_features"),
    ({"bundle_htpasswd_salt_seed": "mlflow-test"}, "bundle_htpasswd_salt_seed must be a secret of at least 32"),
    ({"bundle_htpasswd_salt_seed": "s33d-" * 6}, "bundle_htpasswd_salt_seed must be a secret of at least 32"),
    ({"bundle_auth_realm": 'MLflow"\nRUN id'}, "the realm 1-64 printable ASCII characters"),
    ({"bundle_auth_realm": "Ml\u00e9flow"}, "the realm 1-64 printable ASCII characters"),
    ({"bundle_htpasswd_scheme": "md5_crypt"}, "bundle_htpasswd_scheme"),
    ({"bundle_htpasswd_rounds": 9}, "rounds for bcrypt must be between 10 and 31"),
    ({"bundle_htpasswd_scheme": "sha512_crypt", "bundle_htpasswd_rounds": 5000}, "rounds for sha512_crypt must be between 535000"),
    ({"bundle_server_user": "root"}, "the server's account a lower-case name other than root"),
    ({"bundle_server_uid": 0}, "its id 1000-65533"),
    ({"bundle_mlflow_workers": -1}, "the workers 0 (one per vCPU) or more"),
    ({"bundle_db_pool_size": 0}, "the pool size 1 or more and its overflow 0 or more"),
    ({"bundle_db_max_overflow": -1}, "the pool size 1 or more and its overflow 0 or more"),
    ({"bundle_db_ca_bundle_url": "http://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"}, "the database's CA bundle an https:// URL"),
    ({"bundle_mlflow_version": "3.9.9"}, "There are no hash-locked requirements for MLflow 3.9.9"),
    ({"bundle_server_requirements": ["psycopg2-binary==2.9.13", "boto3==1.40.0"]}, "lacks boto3==1.40.0"),
    ({"bundle_server_requirements_lock": "@unhashed"}, "has requirements without hashes: six==1.17.0"),
]


@pytest.mark.parametrize("overrides, message", BAD_INPUTS)
def test_bad_input_fails_clearly_before_anything_is_written(run_playbook, tmp_path, overrides, message):
    build_dir = tmp_path / "build"
    if overrides.get("bundle_server_requirements_lock") == "@unhashed":
        # The shipped lock with one requirement's hashes taken away.
        shipped = ROOT / "roles" / "bundle" / "files" / "requirements" / "mlflow-3.17.2.txt"
        unhashed = re.sub(r"(?m)^six==1[.]17[.]0 \\\n(    --hash=\S+( \\)?\n)+", "six==1.17.0\n", shipped.read_text())
        assert unhashed != shipped.read_text()
        (tmp_path / "unhashed.txt").write_text(unhashed)
        overrides = dict(overrides, bundle_server_requirements_lock=str(tmp_path / "unhashed.txt"))
    result = run_playbook(PLAYBOOK, variables(build_dir, **overrides))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert message in output, output
    assert not build_dir.exists(), "nothing may be written on bad input"
    for user in overrides.get("bundle_users", []):
        password = user.get("password")
        if password:
            assert password not in output

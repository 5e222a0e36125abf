"""The users file module: its diff names users only, never hashes; its seed must be a secret."""

import json

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.mlflowops.beanstalk.plugins.modules import htpasswd_file


def test_diff_names_added_changed_and_removed_users_without_hashes():
    before = "alice:$2b$05$aaaa\nbob:$2b$05$bbbb\ncarol:$2b$05$cccc\n"
    after = "alice:$2b$05$aaaa\nbob:$2b$05$BBBB\ndave:$2b$05$dddd\n"
    diff = htpasswd_file.describe_diff(before, after)
    assert diff["before"] == "alice\nbob\ncarol\n"
    assert diff["after"] == "alice\nbob (password changed)\ndave (added)\n"
    assert "$2b$" not in diff["before"] + diff["after"]


def test_diff_from_nothing():
    assert htpasswd_file.describe_diff(None, "alice:$2b$05$aaaa\n")["after"] == "alice (added)\n"


def run_module(tmp_path, monkeypatch, **params):
    """The module's main() on these parameters: (result, users file or None)."""
    path = tmp_path / "htpasswd"
    args = dict({"path": str(path), "users": [{"name": "alice", "password": "alice-Password-0001"}],
                 "_ansible_remote_tmp": str(tmp_path), "_ansible_keep_remote_files": False}, **params)
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy")
    results = []

    def leave(_module, **result):
        results.append(result)
        raise SystemExit(1 if result.get("failed") else 0)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", leave)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", lambda module, **result: leave(module, failed=True, **result))
    try:
        htpasswd_file.main()
    except SystemExit:
        pass
    return results[0], path if path.exists() else None


def test_a_short_seed_is_refused_and_nothing_written(tmp_path, monkeypatch):
    result, written = run_module(tmp_path, monkeypatch, salt_seed="mlflow")
    assert result.get("failed") and "salt_seed must be a secret of at least 32 characters" in result["msg"]
    assert written is None


def test_a_generated_seed_is_accepted(tmp_path, monkeypatch):
    result, written = run_module(tmp_path, monkeypatch, salt_seed="x" * 32)
    assert not result.get("failed"), result
    assert written.read_text().startswith("alice:$2b$10$")

"""write_if_changed: writes only on a difference, never in check mode."""

import os

from ansible_collections.mlflowops.beanstalk.plugins.module_utils import files


class FakeModule:
    def __init__(self, check_mode):
        self.check_mode = check_mode

    def atomic_move(self, src, dest):
        os.replace(src, dest)

    def load_file_common_arguments(self, params):
        return params

    def set_fs_attributes_if_different(self, file_args, changed):
        mode = int(file_args["mode"], 8)
        if os.stat(file_args["path"]).st_mode & 0o7777 != mode:
            if not self.check_mode:
                os.chmod(file_args["path"], mode)
            return True
        return changed


def test_check_mode_predicts_without_writing(tmp_path):
    target = tmp_path / "file"
    changed, before = files.write_if_changed(FakeModule(check_mode=True), str(target), b"data", "0600")
    assert changed and before is None
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_writes_once_then_reports_no_change(tmp_path):
    target = tmp_path / "file"
    assert files.write_if_changed(FakeModule(False), str(target), b"data", "0600") == (True, None)
    assert target.read_bytes() == b"data" and target.stat().st_mode & 0o777 == 0o600
    assert files.write_if_changed(FakeModule(False), str(target), b"data", "0600") == (False, b"data")
    assert files.write_if_changed(FakeModule(True), str(target), b"other", "0600") == (True, b"data")
    assert target.read_bytes() == b"data"
    assert files.write_if_changed(FakeModule(False), str(target), b"data", "0644")[0] is True
    assert target.stat().st_mode & 0o777 == 0o644

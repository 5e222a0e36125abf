# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Write a local file only when its bytes change, atomically, honouring check mode."""

import os
import tempfile


def read_bytes(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_if_changed(module, path, data, mode):
    """Make path hold data with mode.  Returns (changed, previous bytes or None)."""
    before = read_bytes(path)
    changed = before != data
    if changed and not module.check_mode:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".mlflowops-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        module.atomic_move(tmp, path)
    if not module.check_mode or os.path.exists(path):
        file_args = module.load_file_common_arguments({"path": path, "mode": mode})
        changed = module.set_fs_attributes_if_different(file_args, changed)
    return changed, before

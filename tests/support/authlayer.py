"""The bundle's auth layer (roles/bundle/files/mlflowops_auth.py), loaded from the role's files."""

import importlib.util
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "roles" / "bundle" / "files" / "mlflowops_auth.py"
_SPEC = importlib.util.spec_from_file_location("mlflowops_auth", SOURCE)
auth = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(auth)

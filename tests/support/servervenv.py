"""The MLflow server's virtualenv, built from a bundle's requirements.txt as the local platform does."""

from localcloud.config import load
from localcloud.platform.image import prepared_venv


def server_venv(requirements_file):
    return prepared_venv(requirements_file, load().venv_cache)

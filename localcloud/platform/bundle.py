"""What a source bundle needs to run on the Docker platform."""

import io
import zipfile


def bundle_problem(data):
    """Why a bundle can't run on the Docker platform, or None."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        return "the source bundle is not a valid ZIP file."
    if "Dockerfile" not in names and "Dockerrun.aws.json" not in names and "docker-compose.yml" not in names:
        return "the source bundle has no Dockerfile, Dockerrun.aws.json or docker-compose.yml at its root."
    return None

"""The local platform's image builder (localcloud/platform/image.py): a Dockerfile's accounts,
ownership, modes and USER applied to the image folder as Docker applies them, and every RUN
command it cannot apply refused instead of skipped."""

import os
import re
import stat

import pytest

from localcloud.platform.image import Image, ImageError, prepared_venv

AS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="only root gives files to other users, as Docker's build does")

DOCKERFILE = """\
FROM public.ecr.aws/docker/library/python:3.11-slim-bookworm
ENV APP_PORT=8000
COPY requirements.txt /opt/app/requirements.txt
RUN pip install --no-cache-dir --require-hashes -r /opt/app/requirements.txt \\
 && groupadd --system --gid 10001 app \\
 && useradd --system --uid 10001 --gid app --no-create-home --home-dir /opt/app --shell /usr/sbin/nologin app
COPY app/ /opt/app/
RUN chown -R root:root /opt/app && chmod -R u=rwX,go=rX /opt/app \\
 && chmod 0755 /opt/app/start.sh \\
 && chown root:app /opt/app/secret && chmod 0440 /opt/app/secret
USER app
WORKDIR /opt/app
EXPOSE 8000
ENTRYPOINT ["/opt/app/start.sh"]
"""


def bundle(folder, dockerfile=DOCKERFILE):
    (folder / "app").mkdir(parents=True)
    (folder / "Dockerfile").write_text(dockerfile)
    (folder / "requirements.txt").write_text("")
    (folder / "app" / "start.sh").write_text("#!/bin/sh\n")
    (folder / "app" / "secret").write_text("hashes\n")
    (folder / "app" / "secret").chmod(0o666)
    return folder


def build(tmp_path, dockerfile=DOCKERFILE):
    return Image(bundle(tmp_path / "source", dockerfile), tmp_path / "root").build()


def owner_and_mode(path):
    info = path.stat()
    return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


@AS_ROOT
def test_accounts_ownership_modes_and_user_are_applied(tmp_path):
    # Files of the build context owned by someone else: COPY makes them root's, as Docker does.
    source = bundle(tmp_path / "source")
    for path in source.rglob("*"):
        os.chown(path, 4321, 4321)
    image = Image(source, tmp_path / "root").build()
    app = tmp_path / "root" / "opt" / "app"
    assert owner_and_mode(app / "secret") == (0, 10001, 0o440)
    assert owner_and_mode(app / "start.sh") == (0, 0, 0o755)
    assert owner_and_mode(app / "requirements.txt") == (0, 0, 0o644)
    assert owner_and_mode(app) == (0, 0, 0o755)
    assert image.run_as() == (10001, 10001, [])
    assert image.home() == app
    assert image.pip_options == ["--require-hashes"]
    assert image.requirements == app / "requirements.txt"


@AS_ROOT
def test_copy_chown_and_a_root_user_stays_root(tmp_path):
    image = build(tmp_path, "FROM x\nRUN groupadd --gid 2000 g && useradd -u 2000 -g g -m u\nCOPY --chown=u:g app/ /srv/\n"
                            "EXPOSE 80\nCMD [\"/srv/start.sh\"]\n")
    assert owner_and_mode(tmp_path / "root" / "srv" / "secret")[:2] == (2000, 2000)
    assert owner_and_mode(tmp_path / "root" / "home" / "u")[:2] == (2000, 2000)
    assert image.run_as() is None, "no USER: the app runs as root"


@pytest.mark.parametrize("line, message", [
    ("RUN curl -fsSL https://example.com/install.sh -o /tmp/i && sh /tmp/i", "RUN curl"),
    ("RUN echo hi | tee /opt/app/x", "joined by && or ;"),
    ("RUN pip install mlflow", "exactly one requirements file"),
    ("RUN useradd --system app2", "its --uid"),
    ("RUN chown nobody /opt/app", "'nobody' does not exist in the image"),
    ("RUN chmod 0440 /opt/app/missing", "RUN chmod failed"),
    ("USER nobody", "unable to find user nobody"),
    ("RUN useradd --uid 10001 other", "already exists"),
])
def test_what_the_platform_cannot_apply_fails_the_build(tmp_path, line, message):
    dockerfile = DOCKERFILE.replace("USER app\n", line + "\nUSER app\n")
    with pytest.raises(ImageError) as refused:
        build(tmp_path, dockerfile)
    assert message in str(refused.value)
    assert str(tmp_path) not in str(refused.value), "messages speak of the image's paths, not the machine's"


def test_package_installs_are_the_base_images_business(tmp_path):
    image = build(tmp_path, DOCKERFILE.replace("USER app\n", "RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\nUSER app\n"))
    assert image.user == "app"


def test_a_hash_locked_requirement_whose_file_does_not_match_fails_the_build(tmp_path, repo_root):
    # six's entry of the shipped lock as it is, then with its hashes replaced.
    lock = (repo_root / "roles" / "bundle" / "files" / "requirements" / "mlflow-3.17.2.txt").read_text()
    entry = lock[lock.index("six==1.17.0"):].split("    # via", 1)[0]
    (tmp_path / "good.txt").write_text(entry)
    venv = prepared_venv(tmp_path / "good.txt", tmp_path / "cache", options=["--require-hashes"])
    assert list(venv.glob("lib/python3*/site-packages/six.py"))
    tampered = re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, entry)
    (tmp_path / "tampered.txt").write_text(tampered)
    with pytest.raises(ImageError) as refused:
        prepared_venv(tmp_path / "tampered.txt", tmp_path / "cache", options=["--require-hashes"])
    assert "DO NOT MATCH THE HASHES" in str(refused.value)
    assert not any(path.name.startswith("server-") and path.is_dir() and path != venv for path in (tmp_path / "cache").iterdir())


@AS_ROOT
def test_add_of_a_url_gets_the_platforms_stand_in_and_nothing_else_is_downloaded(tmp_path):
    stand_in = tmp_path / "ca.pem"
    stand_in.write_text("the local CA\n")
    downloads = {"https://truststore.example/global-bundle.pem": stand_in}
    dockerfile = DOCKERFILE.replace("USER app\n", "ADD https://truststore.example/global-bundle.pem /opt/app/\nUSER app\n")
    Image(bundle(tmp_path / "one", dockerfile), tmp_path / "root", downloads).build()
    added = tmp_path / "root" / "opt" / "app" / "global-bundle.pem"
    assert added.read_text() == "the local CA\n" and owner_and_mode(added) == (0, 0, 0o600), "Docker's ADD of a URL: root's, 0600"
    with pytest.raises(ImageError) as refused:
        Image(bundle(tmp_path / "two", dockerfile.replace("truststore.example", "elsewhere.example")), tmp_path / "root2", downloads).build()
    assert "the local platform downloads nothing" in str(refused.value)

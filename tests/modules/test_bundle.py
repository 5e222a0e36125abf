"""Deterministic zips and content-derived version labels."""

import io
import os
import stat
import time
import zipfile

import pytest

from ansible_collections.mlflowops.beanstalk.plugins.module_utils import bundle


def write(root, path, content, mode=0o644):
    full = root / path
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_text(content)
    full.chmod(mode)
    return full


def make_tree(root, order):
    files = {"Dockerfile": ("FROM x\n", 0o644), "mlflowops/entrypoint.sh": ("#!/bin/sh\n", 0o755), ".platform/a.conf": ("a;\n", 0o644)}
    for path in order:
        write(root, path, *files[path])
    return sorted(files)


def test_same_files_give_identical_bytes_whatever_the_mtimes_and_order(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    paths = make_tree(one, ["Dockerfile", "mlflowops/entrypoint.sh", ".platform/a.conf"])
    time.sleep(0.01)
    make_tree(two, [".platform/a.conf", "mlflowops/entrypoint.sh", "Dockerfile"])
    os.utime(two / "Dockerfile", (1_000_000_000, 1_000_000_000))
    first = bundle.build_zip(str(one), paths)
    second = bundle.build_zip(str(two), list(reversed(paths)))
    assert first == second


def test_entries_are_sorted_dated_and_keep_their_modes(tmp_path):
    paths = make_tree(tmp_path, ["Dockerfile", "mlflowops/entrypoint.sh", ".platform/a.conf"])
    archive = zipfile.ZipFile(io.BytesIO(bundle.build_zip(str(tmp_path), paths)))
    infos = archive.infolist()
    assert [info.filename for info in infos] == sorted(paths)
    assert {info.date_time for info in infos} == {bundle.FIXED_DATE_TIME}
    modes = {info.filename: stat.S_IMODE(info.external_attr >> 16) for info in infos}
    assert modes == {".platform/a.conf": 0o644, "Dockerfile": 0o644, "mlflowops/entrypoint.sh": 0o755}
    assert archive.read("Dockerfile") == b"FROM x\n"


def test_content_or_mode_changes_change_the_hash(tmp_path):
    paths = make_tree(tmp_path, ["Dockerfile", "mlflowops/entrypoint.sh", ".platform/a.conf"])
    before = bundle.sha256_hex(bundle.build_zip(str(tmp_path), paths))
    (tmp_path / "Dockerfile").chmod(0o600)
    after_mode = bundle.sha256_hex(bundle.build_zip(str(tmp_path), paths))
    write(tmp_path, "Dockerfile", "FROM y\n", 0o644)
    after_content = bundle.sha256_hex(bundle.build_zip(str(tmp_path), paths))
    assert len({before, after_mode, after_content}) == 3


def test_files_not_listed_are_not_shipped(tmp_path):
    paths = make_tree(tmp_path, ["Dockerfile", "mlflowops/entrypoint.sh", ".platform/a.conf"])
    write(tmp_path, "leftover.txt", "old")
    names = zipfile.ZipFile(io.BytesIO(bundle.build_zip(str(tmp_path), paths))).namelist()
    assert "leftover.txt" not in names


@pytest.mark.parametrize("bad", ["/etc/passwd", "../outside", "a/../../b", "."])
def test_paths_outside_the_bundle_are_refused(tmp_path, bad):
    with pytest.raises(bundle.BundleError):
        bundle.build_zip(str(tmp_path), [bad])


def test_duplicates_and_missing_files_are_refused(tmp_path):
    write(tmp_path, "Dockerfile", "x")
    with pytest.raises(bundle.BundleError, match="listed twice"):
        bundle.build_zip(str(tmp_path), ["Dockerfile", "./Dockerfile"])
    with pytest.raises(bundle.BundleError, match="does not exist"):
        bundle.build_zip(str(tmp_path), ["Dockerfile", "missing"])


def test_version_label_is_prefix_plus_hash():
    digest = "ab" * 32
    assert bundle.version_label("mlflow-3.17.2", digest) == "mlflow-3.17.2-" + digest[:16]
    assert bundle.version_label("", digest) == digest[:16]
    with pytest.raises(bundle.BundleError, match="longer than 100"):
        bundle.version_label("x" * 90, digest)
    with pytest.raises(bundle.BundleError, match="may only use"):
        bundle.version_label("bad label", digest)

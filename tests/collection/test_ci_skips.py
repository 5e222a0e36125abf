"""Under CI=true a skipped test fails: nothing a test needs may be missing there."""

import shutil
from pathlib import Path

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
SUPPORT = Path(__file__).resolve().parents[1] / "support"


def run_inner(pytester, monkeypatch, ci):
    shutil.copy(CONFTEST, pytester.path / "conftest.py")
    shutil.copytree(SUPPORT, pytester.path / "support")
    pytester.makepyfile(test_inner="""
import os
import pytest

@pytest.mark.skipif(True, reason="needs root")
def test_as_root():
    pass

def test_plain():
    pass
""")
    monkeypatch.setenv("CI", ci)
    monkeypatch.syspath_prepend(str(pytester.path))
    return pytester.runpytest_inprocess("-p", "no:cacheprovider")


def test_a_skip_fails_under_ci(pytester, monkeypatch):
    run_inner(pytester, monkeypatch, "true").assert_outcomes(passed=1, errors=1)


def test_a_skip_stays_a_skip_elsewhere(pytester, monkeypatch):
    run_inner(pytester, monkeypatch, "").assert_outcomes(passed=1, skipped=1)

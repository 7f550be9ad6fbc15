"""CI runs the README's test command with ../shared beside the checkout, and a run without it must
fail rather than pass having skipped the tests that need it (the duplicates tests among them)."""

import os
import subprocess
import sys

from tests.helpers import REPO

README_COMMAND = ".venv/bin/pip install -q -e '.[cpu,test,offline]' && .venv/bin/python -m pytest -q"
NEEDS_SHARED = "tests/core/duplicates/test_duplicates.py::test_reference_folders_and_missing_photos"


def test_ci_runs_the_readme_command_and_requires_shared():
    ci = (REPO / ".ci" / "run").read_text()
    assert README_COMMAND in (REPO / "README.md").read_text() and ci.rstrip().endswith(README_COMMAND)
    assert "export PHOTOSEARCH_REQUIRE_SHARED=1" in ci


def _pytest(tmp_path, **env):
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", NEEDS_SHARED], cwd=REPO,
                          env=dict(os.environ, PHOTOSEARCH_SHARED=str(tmp_path / "no-shared-here"), **env),
                          capture_output=True, text=True, timeout=300)


def test_a_test_that_needs_shared_fails_in_ci_when_shared_is_missing(tmp_path):
    plain = _pytest(tmp_path, PHOTOSEARCH_REQUIRE_SHARED="0")
    assert plain.returncode == 0 and "1 skipped" in plain.stdout  # a developer without ../shared: skipped
    ci = _pytest(tmp_path, PHOTOSEARCH_REQUIRE_SHARED="1")
    # a skip in a fixture becomes an error of the test's setup: the run fails either way
    assert ci.returncode == 1 and ("1 failed" in ci.stdout or "1 error" in ci.stdout)
    assert "../shared is not present" in ci.stdout and "PHOTOSEARCH_REQUIRE_SHARED=1" in ci.stdout

"""The type checker and the linter, as configured in pyproject.toml, run with the tests."""

import shutil
import subprocess
import sys

import pytest

from tests.helpers import REPO


def _run(module: str, *args: str) -> subprocess.CompletedProcess:
    if shutil.which(module, path=str(REPO / ".venv" / "bin")) is None:
        try:
            __import__(module)
        except ImportError:
            pytest.skip(f"{module} is not installed (pip install -e '.[test]')")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600)


def test_types_check_strictly():
    proc = _run("mypy")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_is_clean():
    proc = _run("ruff", "check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr

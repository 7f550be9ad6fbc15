"""How photosearch is installed: one ONNX Runtime at a time, every photo format by default."""

import importlib.metadata
import re
import sys

import pytest

from tests.helpers import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower()


def test_the_extras_choose_exactly_one_onnx_runtime():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    base = {_name(r) for r in project["dependencies"]}
    extras = {k: {_name(r) for r in v} for k, v in project["optional-dependencies"].items()}
    runtimes = {"onnxruntime", "onnxruntime-gpu"}
    assert not base & runtimes  # the base never pulls a runtime that the other would overwrite
    assert extras["cpu"] & runtimes == {"onnxruntime"}
    assert extras["gpu"] & runtimes == {"onnxruntime-gpu"}
    for name, deps in extras.items():
        assert len(deps & runtimes) <= 1, name
    assert {"pillow-heif", "rawpy", "pillow"} <= base  # HEIC, RAW and AVIF without an extra


def test_the_installed_metadata_says_the_same():
    try:
        requires = importlib.metadata.requires("photosearch") or []
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("photosearch is not installed (pip install -e .)")
    unconditional = {_name(r) for r in requires if "extra ==" not in r}
    gpu = {_name(r) for r in requires if re.search(r"extra\s*==\s*['\"]gpu['\"]", r)}
    assert "onnxruntime" not in unconditional and "onnxruntime-gpu" not in unconditional
    assert gpu == {"onnxruntime-gpu"}


def test_both_runtimes_installed_is_named_with_its_fix(monkeypatch):
    from photosearch.core.vision import runtime

    monkeypatch.setattr(runtime, "installed_runtimes", lambda: ["onnxruntime", "onnxruntime-gpu"])
    problem = runtime.conflict()
    assert "overwrite" in problem and "pip uninstall -y onnxruntime onnxruntime-gpu" in problem
    monkeypatch.setattr(runtime, "installed_runtimes", lambda: ["onnxruntime"])
    assert runtime.conflict() is None


def test_no_runtime_says_which_command_to_run(monkeypatch):
    import builtins

    from photosearch.core.errors import ModelError
    from photosearch.core.vision import runtime

    real_import = builtins.__import__

    def no_onnxruntime(name, *args, **kwargs):
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnxruntime)
    with pytest.raises(ModelError, match=r"photosearch\[cpu\].*photosearch\[gpu\]"):
        runtime.import_runtime()

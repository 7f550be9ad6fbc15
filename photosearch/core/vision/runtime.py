"""Which ONNX Runtime is installed, and what to tell a user whose install is not right.

photosearch depends on no runtime itself: the `cpu` extra installs `onnxruntime`, the `gpu`
extra `onnxruntime-gpu`. The two packages share one import name and overwrite each other's
files, so having both is an install problem to name, with the command that fixes it.
"""

from __future__ import annotations

import importlib.metadata
from types import ModuleType

from ..errors import ModelError

RUNTIME_PACKAGES = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml", "onnxruntime-openvino",
                    "onnxruntime-silicon")
INSTALL_CPU = "pip install 'photosearch[cpu]'"
INSTALL_GPU = "pip install 'photosearch[gpu]'"


def installed_runtimes() -> list[str]:
    found = []
    for name in RUNTIME_PACKAGES:
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        found.append(name)
    return found


def conflict() -> str | None:
    """A one-line problem when more than one runtime package is installed, with its fix."""
    names = installed_runtimes()
    if len(names) < 2:
        return None
    keep = "onnxruntime-gpu" if "onnxruntime-gpu" in names else names[0]
    return (f"{' and '.join(names)} are installed together and overwrite each other's files; keep one: "
            f"pip uninstall -y {' '.join(names)} && pip install {keep}")


def import_runtime() -> ModuleType:
    try:
        import onnxruntime
    except ImportError as exc:
        raise ModelError(f"ONNX Runtime is not installed: run {INSTALL_CPU} "
                         f"(or {INSTALL_GPU} for an NVIDIA GPU)") from exc
    return onnxruntime


def gpu_package_installed() -> bool:
    return "onnxruntime-gpu" in installed_runtimes()

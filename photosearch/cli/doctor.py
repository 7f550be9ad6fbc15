"""`photosearch doctor`: what works on this machine, and what to do about what does not."""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import shutil
import sys
from pathlib import Path

from .. import __version__, bundle, qtcheck
from ..core.app import App
from ..core.errors import PhotosearchError
from ..core.vision import imageio, runtime

DISTRIBUTIONS = ("numpy", "Pillow", "pillow-heif", "rawpy", "onnx", "hnswlib", "opencv-python-headless", "platformdirs",
                 qtcheck.QT_DISTRIBUTION, *runtime.RUNTIME_PACKAGES)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("doctor", help="check this machine: Qt, ONNX Runtime and the GPU, photo formats, "
                                      "models, storage, libraries")
    p.set_defaults(func=run)


class Report:
    def __init__(self) -> None:
        self.problems = 0

    def section(self, title: str) -> None:
        print(f"\n{title}")

    def ok(self, text: str) -> None:
        print(f"  ok    {text}")

    def info(self, text: str) -> None:
        print(f"        {text}")

    def bad(self, text: str, fix: str | None = None) -> None:
        self.problems += 1
        print(f"  FIX   {text}")
        if fix:
            for line in fix.splitlines():
                print(f"        -> {line}")


def run(app: App, args: argparse.Namespace) -> int:
    r = Report()
    where = f"the bundle in {bundle.executable().parent}" if bundle.frozen() else "Python"
    print(f"photosearch {__version__} on {where} (Python {platform.python_version()}, {sys.platform}, "
          f"{platform.machine()})")
    versions = []
    for name in DISTRIBUTIONS:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    print("packages: " + ", ".join(versions))
    _qt(r)
    _runtime(r)
    _formats(r)
    _models(r, app)
    _storage(r, app)
    _libraries(r, app)
    print(f"\n{r.problems} thing(s) to fix" if r.problems else "\neverything works")
    return 0


def _qt(r: Report) -> None:
    r.section("Desktop app (Qt)")
    check = qtcheck.check()
    if check.problem is None:
        r.ok(f"Qt's platform plugin {check.platform!r} has every system library it needs")
    else:
        advice = check.advice()
        r.bad(advice[0], "\n".join(line.strip() for line in advice[1:]) or None)


def _runtime(r: Report) -> None:
    r.section("ONNX Runtime (runs the model)")
    names = runtime.installed_runtimes()
    conflict = runtime.conflict()
    if conflict:
        r.bad(conflict)
    try:
        ort = runtime.import_runtime()
    except PhotosearchError as exc:
        r.bad(str(exc))
        return
    providers = ort.get_available_providers()
    r.ok(f"{' + '.join(names) or 'onnxruntime'} {ort.__version__}; providers: {', '.join(providers)}")
    if "CUDAExecutionProvider" not in providers:
        if runtime.gpu_package_installed():
            r.bad("onnxruntime-gpu is installed but has no CUDA here; the model runs on the CPU",
                  "install the NVIDIA driver and CUDA/cuDNN versions that onnxruntime-gpu asks for")
        elif bundle.frozen():  # the bundle brings the CPU runtime only (docs/packaging.md says why)
            r.info("the model runs on the CPU (for an NVIDIA GPU, install photosearch with pip: "
                   f"{runtime.INSTALL_GPU})")
        else:
            r.info("no GPU support installed: the model runs on the CPU "
                   f"(with an NVIDIA GPU: pip uninstall -y onnxruntime && {runtime.INSTALL_GPU})")
        return
    problem = _try_cuda(ort)
    if problem is None:
        r.ok("the GPU (CUDA) is usable")
    else:
        r.bad(f"CUDA is installed but not usable ({problem}); the model runs on the CPU")


def _try_cuda(ort: object) -> str | None:
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "probe",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    try:
        session = ort.InferenceSession(  # type: ignore[attr-defined]
            model.SerializeToString(),
            providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    except Exception as exc:  # any failure means: not usable
        return str(exc).splitlines()[0][:160]
    used = session.get_providers()
    return None if used and used[0] == "CUDAExecutionProvider" else "the session fell back to the CPU"


def _formats(r: Report) -> None:
    r.section("Photo formats")
    exts = imageio.IMAGE_EXTENSIONS
    for label, probe in (("HEIC/HEIF", ".heic"), ("AVIF", ".avif"), ("RAW", ".dng")):
        if probe in exts:
            r.ok(f"{label} photos are read")
        else:
            r.bad(f"{label} photos are skipped: {imageio.UNSUPPORTED.get(label, 'not supported')}",
                  "pip install --force-reinstall photosearch (its dependencies read every format)")
    r.info("also: " + " ".join(sorted(e for e in exts if e not in (".heic", ".avif", ".dng"))))


def _models(r: Report, app: App) -> None:
    r.section("Models")
    installed = app.models.installed()
    default = app.libraries.settings().get("default_model") or app.models.default_name()
    if not installed:
        from ..core.models import effnet_lite

        if effnet_lite.weights_file() is not None:
            r.ok("no model installed yet: the offline model (EfficientNet-Lite0) is built at the first "
                 "indexing; for ResNet-50: photosearch model download resnet50")
        else:
            r.bad("no model is installed", "photosearch model download resnet50   (needs the internet once)\n"
                                           "or: pip install 'photosearch[offline]' for a model built offline")
        return
    for name in installed:
        r.ok(f"{name}{' (default)' if name == default else ''}")


def _storage(r: Report, app: App) -> None:
    r.section("Storage")
    for label, folder in (("data", app.dirs.data), ("cache", app.dirs.cache)):
        probe = Path(folder)
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        free = shutil.disk_usage(probe).free
        text = f"{label}: {folder} ({free / 2**30:.1f} GiB free)"
        if free < 1 << 30:
            r.bad(text + ": less than 1 GiB left", "free some space: indexing needs room for vectors and the index")
        else:
            r.ok(text)


def _libraries(r: Report, app: App) -> None:
    r.section("Libraries")
    names = app.libraries.names()
    if not names:
        r.info("none yet: photosearch library create NAME FOLDER  (or open the app)")
    for name in names:
        try:
            with app.libraries.open(name, write=False) as lib:
                counts = lib.catalog.counts()
                gone = [f for f in lib.config.roots if not Path(f).is_dir()]
                model = (lib.config.model or {}).get("name", "no model yet")
        except PhotosearchError as exc:
            r.bad(f"{name}: {exc}")
            continue
        state = (f"{name}: {counts['indexed']:,} indexed, {counts['pending']:,} pending, "
                 f"{counts['failed']:,} unreadable, {counts['missing']:,} missing; model {model}")
        if gone:
            r.bad(state, f"folder(s) not there: {', '.join(gone)} (an unplugged drive?)")
        elif counts["pending"]:
            r.ok(state + " -> run 'photosearch index' to finish")
        else:
            r.ok(state)

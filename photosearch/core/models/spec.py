"""What a model is to photosearch: a file plus how to feed it and what to read.

A `ModelSpec` says which input takes the image, how images are preprocessed, which
tensor is the embedding and which the logits. Models that only expose logits are
prepared once (their pooled features added as an output) and the prepared copy
is cached, keyed by the original file's checksum.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ModelError
from ..fsutil import write_atomic
from ..vision.preprocess import Preprocess


@dataclass(frozen=True)
class ModelSpec:
    name: str
    path: Path  # the file the user gave or downloaded
    sha256: str
    input_name: str
    preprocess: Preprocess = field(default_factory=Preprocess)
    embedding: str = ""
    logits: str | None = None
    runtime_path: Path | None = None  # prepared copy with the embedding exposed
    installed: bool = False  # lives in the model store (referred to by name)
    feature_map: str | None = None  # the [N, C, H, W] map the embedding pools, when exposed

    @property
    def file_for_runtime(self) -> Path:
        return self.runtime_path or self.path

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "sha256": self.sha256,
            "input": self.input_name,
            "embedding": self.embedding,
            "logits": self.logits,
            "preprocess": self.preprocess.to_dict(),
            "installed": self.installed,
        }


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _sidecar(path: Path) -> dict[str, Any]:
    """Optional `<model>.json` beside a model: preprocess, embedding, logits, name."""
    side = path.with_suffix(path.suffix + ".json")
    if not side.exists():
        side = path.with_suffix(".json")
    if not side.exists():
        return {}
    try:
        return json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read model description {side}: {exc}") from exc


def load_model_spec(
    path: str | Path,
    cache_dir: Path,
    *,
    name: str | None = None,
    preprocess: Preprocess | None = None,
    embedding: str | None = None,
    logits: str | None = None,
    sha256: str | None = None,
) -> ModelSpec:
    """Inspect an ONNX file and, if needed, prepare a copy that outputs its embedding."""
    import onnx

    from . import onnxgraph

    path = Path(path).expanduser().absolute()
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    side = _sidecar(path)
    digest = sha256 or sha256_file(path)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise ModelError(f"{path.name} is not a readable ONNX model ({str(exc).splitlines()[0][:120]})") from exc
    try:
        info = onnxgraph.inspect(
            model, embedding=embedding or side.get("embedding"), logits=logits or side.get("logits")
        )
    except ValueError as exc:
        raise ModelError(f"{path.name} cannot be used as an image model: {exc}") from exc

    if preprocess is None:
        pre = dict(side.get("preprocess", {}))
        h = info.input_shape[2]
        if "size" not in pre and isinstance(h, int) and h > 0:
            pre["size"] = h
        try:
            preprocess = Preprocess.from_dict(pre)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"bad preprocessing for {path.name}: {exc}") from exc

    if info.embedding is None:
        raise ModelError(f"{path.name} has no image descriptor output")
    runtime_path = None
    if info.tapped:
        runtime_path = Path(cache_dir) / f"{digest[:16]}-{info.embedding.strip('/').replace('/', '_')[:40]}.onnx"
        if not runtime_path.exists():
            onnxgraph.expose(model, info.embedding)
            write_atomic(runtime_path, model.SerializeToString())
    return ModelSpec(
        name=name or side.get("name") or path.stem,
        path=path,
        sha256=digest,
        input_name=info.input_name,
        preprocess=preprocess,
        embedding=info.embedding,
        logits=info.logits,
        runtime_path=runtime_path,
    )


def cached_sha256(path: Path, cache_dir: Path) -> str:
    """sha256 of a model file, remembered by (path, size, mtime) to keep start-up fast."""
    import os

    from ..fsutil import read_json, write_json_atomic

    st = os.stat(path)
    key = f"{Path(path).absolute()}|{st.st_size}|{st.st_mtime_ns}"
    cache_file = Path(cache_dir) / "checksums.json"
    try:
        known = read_json(cache_file, default={})
    except ValueError:
        known = {}
    if key in known:
        return known[key]
    digest = sha256_file(path)
    known[key] = digest
    try:
        write_json_atomic(cache_file, known)
    except OSError:
        pass  # a read-only cache only costs time
    return digest

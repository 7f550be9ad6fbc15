"""Run a model with ONNX Runtime: choose the device, batch, normalise.

ONNX Runtime already spreads one batch over every core, so a single thread feeds
it; spinning is turned off so its idle threads leave the cores to the decoders.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from ..errors import ModelError
from ..models.spec import ModelSpec
from . import runtime

DEVICES = ("auto", "cpu", "cuda")
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


@dataclass
class Embedding:
    vectors: np.ndarray  # [N, D] float32, L2-normalised
    logits: np.ndarray | None  # [N, C] float32, or None
    feature_map: np.ndarray | None = None  # [N, C, H, W], when asked for
    regions: list[bytes] | None = None  # per photo, for the duplicates' spatial check (spatial.py)


def choose_providers(device: str, available: Sequence[str]) -> list[str]:
    """The providers to ask ONNX Runtime for, best first."""
    if device not in DEVICES:
        raise ModelError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if device == "cpu":
        return [CPU]
    if CUDA in available:
        return [CUDA, CPU]
    if device == "cuda":
        raise ModelError(
            "CUDA was asked for, but this ONNX Runtime has no CUDA support: "
            "pip uninstall -y onnxruntime && pip install 'photosearch[gpu]'"
        )
    return [CPU]


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


class Embedder:
    def __init__(
        self,
        spec: ModelSpec,
        device: str = "auto",
        threads: int | None = None,
        session_factory: Callable[..., Any] | None = None,
    ):
        ort = runtime.import_runtime()
        self.spec = spec
        self.notice: str | None = runtime.conflict()  # a one-line remark for the user (fallbacks)
        self.threads = threads or default_threads()
        available = ort.get_available_providers()
        providers = choose_providers(device, available)
        if device == "auto" and CUDA not in available and runtime.gpu_package_installed():
            self.notice = self.notice or "onnxruntime-gpu is installed but CUDA cannot be used here; using the CPU"
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        factory = session_factory or ort.InferenceSession
        path = str(spec.file_for_runtime)
        try:
            self.session = factory(path, sess_options=opts, providers=providers)
        except Exception as exc:
            if providers[0] == CUDA:
                # CUDA present but unusable (missing cuDNN, no device, ...): fall back.
                self.notice = f"GPU unavailable ({_first_line(exc)}); using the CPU"
                try:
                    self.session = factory(path, sess_options=opts, providers=[CPU])
                except Exception as exc2:
                    raise ModelError(f"cannot load model {spec.name}: {_first_line(exc2)}") from exc2
            else:
                raise ModelError(f"cannot load model {spec.name}: {_first_line(exc)}") from exc
        used = self.session.get_providers()
        self.provider = used[0] if used else CPU
        if providers[0] == CUDA and self.provider != CUDA and self.notice is None:
            self.notice = "GPU unavailable; using the CPU"
        if device == "cuda" and self.provider != CUDA:
            raise ModelError(f"CUDA was asked for but could not be used: {self.notice}")
        self._outputs = [spec.embedding] + ([spec.logits] if spec.logits else [])
        self.batch_size = 64 if self.provider == CUDA else 16
        self.dim = self._probe()

    @property
    def device(self) -> str:
        return "cuda" if self.provider == CUDA else "cpu"

    def _probe(self) -> int:
        s = self.spec.preprocess.size
        try:
            out = self.embed(np.zeros((1, 3, s, s), dtype=np.float32))
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"model {self.spec.name} failed on a test image: {_first_line(exc)}") from exc
        return int(out.vectors.shape[1])

    def embed(self, batch: np.ndarray, feature_map: bool = False) -> Embedding:
        """Embed a preprocessed batch [N, 3, H, W]."""
        outputs = self._outputs + ([self.spec.feature_map] if feature_map else [])
        try:
            results = self.session.run(outputs, {self.spec.input_name: batch})
        except Exception as exc:
            raise ModelError(f"model {self.spec.name} failed: {_first_line(exc)}") from exc
        vectors = np.asarray(results[0], dtype=np.float32).reshape(len(batch), -1)
        logits = None
        if self.spec.logits:
            logits = np.asarray(results[1], dtype=np.float32).reshape(len(batch), -1)
        if not np.all(np.isfinite(vectors)):
            raise ModelError(f"model {self.spec.name} produced non-finite values")
        fmap = np.asarray(results[-1], dtype=np.float32) if feature_map else None
        return Embedding(l2_normalise(vectors), logits, fmap)

    def embed_images(self, images: Sequence[Image.Image]) -> Embedding:
        """Embed decoded RGB images (PIL), in batches."""
        pre = self.spec.preprocess
        parts = []
        for i in range(0, len(images), self.batch_size):
            tensor = np.stack([pre(img) for img in images[i : i + self.batch_size]])
            parts.append(self.embed(tensor))
        vectors = np.concatenate([p.vectors for p in parts])
        logits = None if parts[0].logits is None else np.concatenate([p.logits for p in parts])
        return Embedding(vectors, logits)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]

"""An int8 model on the user's machine: ONNX Runtime static quantization (QOperator format,
per-channel int8 weights, uint8 activations), calibrated on the library's own photos.

Calibration data is what the model will see: the descriptor's views of a sample of the
library's photos, from several folders. The int8 model keeps the fp32 model's outputs
(names, float type), so the descriptor uses it unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from ..fsutil import write_atomic


def is_quantized(path: Path) -> bool:
    """Whether a model already computes in int8 (the Model Zoo's int8 ResNet): left alone."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    ops = {n.op_type for n in model.graph.node}
    return bool(ops & {"QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger", "DequantizeLinear"})


class _Batches:
    """ONNX Runtime's CalibrationDataReader over our prepared views, grouped by input size."""

    def __init__(self, input_name: str, views: Sequence[np.ndarray], batch: int = 8):
        by_shape: dict[tuple[int, ...], list[np.ndarray]] = {}
        for v in views:
            by_shape.setdefault(v.shape, []).append(v)
        self._items: Iterator[dict[str, np.ndarray]] = iter(
            [{input_name: np.stack(group[i:i + batch])} for group in by_shape.values()
             for i in range(0, len(group), batch)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._items, None)

    def rewind(self) -> None:  # pragma: no cover - not used by MinMax
        raise NotImplementedError


def calibration_key(model_sha256: str, settings: str, fingerprints: Sequence[str]) -> str:
    h = hashlib.sha256()
    for part in (model_sha256, settings, *sorted(fingerprints)):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


@contextlib.contextmanager
def _quiet(package: str) -> Iterator[None]:
    """ONNX Runtime's quantization tool logs through the root logger (`logging.warning(...)`), and
    doing so installs a handler printing to stderr when the application has none: its advice
    ("Please consider to run pre-processing...") would reach the user's terminal. Its records are
    dropped at the root logger while it runs, and a handler it installed is taken away again; the
    application's own records and handlers are left as they were."""
    root = logging.getLogger()
    before = list(root.handlers)

    def not_from_the_tool(record: logging.LogRecord) -> bool:
        return not os.path.abspath(record.pathname).startswith(package + os.sep)

    root.addFilter(not_from_the_tool)
    try:
        yield
    finally:
        root.removeFilter(not_from_the_tool)
        if not before:
            for handler in [h for h in root.handlers if h not in before]:
                root.removeHandler(handler)


_QUANTIZING = threading.Lock()  # one at a time: _fast_weights swaps a function of the quantizer's


def _int8_symmetric(data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(zero point, scale, int8 values) of one weight channel: the quantizer's own arithmetic
    (quant_utils.quantize_data for symmetric int8) in a few numpy operations instead of fifty."""
    scale64 = np.float64(2.0) * np.float64(np.abs(data).max()) / np.float64(254.0)
    scale = np.array(scale64 if scale64 >= np.finfo(np.float32).tiny else 1.0, np.float32)
    q = np.rint(data / scale)
    np.clip(q, -128, 127, out=q)
    return np.array(0, np.int8), scale, q.astype(np.int8)


@contextlib.contextmanager
def _fast_weights() -> Iterator[None]:
    """ONNX Runtime quantizes each output channel of each weight separately, in numpy calls with
    much overhead per call: for a ResNet-50, 27,560 channels and most of the time it takes to make
    an int8 model. The common case (symmetric int8, nothing overridden) goes through
    _int8_symmetric instead; its first result is compared with the quantizer's own, and on any
    difference (another version of ONNX Runtime) the quantizer's own is used throughout."""
    try:
        from onnx import TensorProto
        from onnxruntime.quantization import base_quantizer
    except ImportError:  # pragma: no cover - another layout of the package: nothing to speed up
        yield
        return
    original: Callable[..., Any] | None = getattr(base_quantizer, "quantize_data", None)
    if original is None:  # pragma: no cover - another version: nothing to speed up
        yield
        return
    trusted: list[bool] = []

    def quantize_data(data: Any, qType: Any, symmetric: Any, reduce_range: Any = False,  # noqa: N803
                      min_real_range: Any = None, rmin_override: Any = None, rmax_override: Any = None) -> Any:
        common = (qType == TensorProto.INT8 and symmetric is True and not reduce_range and min_real_range is None
                  and rmin_override is None and rmax_override is None and isinstance(data, np.ndarray)
                  and data.dtype == np.float32 and data.size > 0)
        if not common or trusted == [False]:
            return original(data, qType, symmetric, reduce_range, min_real_range, rmin_override, rmax_override)
        fast = _int8_symmetric(data)
        if not trusted:
            theirs = original(data, qType, symmetric, reduce_range, min_real_range, rmin_override, rmax_override)
            trusted.append(all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(fast, theirs)))
            return theirs
        return fast

    setattr(base_quantizer, "quantize_data", quantize_data)  # noqa: B010 - a module's function, swapped
    try:
        yield
    finally:
        setattr(base_quantizer, "quantize_data", original)  # noqa: B010


def quantize(fp32: Path, out: Path, input_name: str, views: Sequence[np.ndarray]) -> Path:
    """Write an int8 copy of `fp32` at `out` (atomically), calibrated on `views` ([3, H, W])."""
    import onnxruntime
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    if not views:
        raise ModelError("no photos to calibrate the int8 model on")
    with tempfile.TemporaryDirectory(prefix="photosearch-int8-") as tmp:
        target = Path(tmp) / "model-int8.onnx"
        try:
            with _QUANTIZING, _fast_weights(), _quiet(os.path.dirname(os.path.abspath(onnxruntime.__file__))):
                quantize_static(
                    str(fp32), str(target), _Batches(input_name, views),
                    quant_format=QuantFormat.QOperator, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax,
                    extra_options={"CalibTensorRangeSymmetric": False},
                )
        except Exception as exc:  # the quantizer reports graph problems as anything at all
            raise ModelError(f"this model cannot be quantized: {str(exc).splitlines()[0][:200]}") from exc
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, target.read_bytes())
        for leftover in Path(tmp).iterdir():  # the quantizer's augmented model and its data
            if leftover != target:
                leftover.unlink(missing_ok=True)
    os.chmod(out, 0o644)
    return out

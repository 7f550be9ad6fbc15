"""Build a ResNet-50-shaped ONNX graph with random weights.

Same layers, shapes and FLOPs as torchvision's ResNet-50 with batch norm folded
into the convolutions (as an exported, optimised model has it), so it costs
exactly what the real model costs to run. Used to measure speed where the real
weights cannot be downloaded. Outputs: `embedding` [N, 2048] and `logits` [N, 1000].

    python models/resnet50_graph.py out.onnx
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class _Builder:
    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.inits: list = []
        self.n = 0

    def name(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def conv(self, x: str, cin: int, cout: int, k: int, stride: int = 1, relu: bool = True, gain: float = 1.0) -> str:
        w = self.name("w")
        b = self.name("b")
        std = gain * np.sqrt(2.0 / (cin * k * k))
        self.inits.append(numpy_helper.from_array(
            (self.rng.standard_normal((cout, cin, k, k), dtype=np.float32) * std).astype(np.float32), w))
        self.inits.append(numpy_helper.from_array(np.zeros(cout, np.float32), b))
        y = self.name("conv")
        pad = k // 2
        self.nodes.append(helper.make_node("Conv", [x, w, b], [y], kernel_shape=[k, k], strides=[stride, stride],
                                           pads=[pad, pad, pad, pad]))
        if relu:
            r = self.name("relu")
            self.nodes.append(helper.make_node("Relu", [y], [r]))
            return r
        return y

    def bottleneck(self, x: str, cin: int, width: int, stride: int) -> str:
        cout = width * 4
        y = self.conv(x, cin, width, 1)
        y = self.conv(y, width, width, 3, stride)
        y = self.conv(y, width, cout, 1, relu=False, gain=0.2)
        short = x if (stride == 1 and cin == cout) else self.conv(x, cin, cout, 1, stride, relu=False)
        s = self.name("add")
        self.nodes.append(helper.make_node("Add", [y, short], [s]))
        r = self.name("relu")
        self.nodes.append(helper.make_node("Relu", [s], [r]))
        return r


def build(path: str | Path, seed: int = 0) -> Path:
    b = _Builder(seed)
    x = b.conv("data", 3, 64, 7, 2)
    b.nodes.append(helper.make_node("MaxPool", [x], ["pool0"], kernel_shape=[3, 3], strides=[2, 2],
                                    pads=[1, 1, 1, 1]))
    x, cin = "pool0", 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(blocks):
            x = b.bottleneck(x, cin, width, stride if i == 0 else 1)
            cin = width * 4
    b.nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    b.nodes.append(helper.make_node("Flatten", ["gap"], ["embedding"], axis=1))
    fc_w = (b.rng.standard_normal((1000, 2048), dtype=np.float32) * 0.01).astype(np.float32)
    b.inits += [numpy_helper.from_array(fc_w, "fc_w"), numpy_helper.from_array(np.zeros(1000, np.float32), "fc_b")]
    b.nodes.append(helper.make_node("Gemm", ["embedding", "fc_w", "fc_b"], ["logits"], transB=1))
    graph = helper.make_graph(
        b.nodes, "resnet50_random",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 2048]),
         helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1000])],
        b.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


if __name__ == "__main__":
    out = build(sys.argv[1] if len(sys.argv) > 1 else "resnet50_random.onnx")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")

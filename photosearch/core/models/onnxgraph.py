"""Reading and editing ONNX graphs: find a classifier's pooled features.

An ImageNet classifier ends in  ... -> GlobalAveragePool -> Flatten -> Gemm (logits).
The vector that feeds the classifier head is the image descriptor we want, so we
walk back from the head to the pooling node and expose its output as a graph
output. Quantised graphs interleave Quantize/DequantizeLinear nodes; we step over
them and pick the first float tensor after the pooling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import onnx
from onnx import TensorProto

_HEADS = {"Gemm", "MatMul", "QLinearMatMul", "MatMulInteger", "Conv", "QLinearConv"}
_PASS_THROUGH = {
    "Flatten", "Reshape", "Squeeze", "Identity", "Cast",
    "QuantizeLinear", "DequantizeLinear", "Dropout", "Unsqueeze",
}
_POOLS = {"GlobalAveragePool", "ReduceMean", "QLinearGlobalAveragePool", "AveragePool", "GlobalMaxPool"}
_FLOAT_OUT_OPS = {"DequantizeLinear"}
_RESHAPES = {"Flatten", "Reshape", "Squeeze"}


@dataclass
class GraphInfo:
    input_name: str
    input_shape: list[Any]  # ints or strings for dynamic dims
    outputs: dict[str, Any]  # name -> shape
    embedding: str | None  # tensor name of the image descriptor
    logits: str | None  # tensor name of class scores, if any
    tapped: bool  # whether `embedding` had to be added as an output


class _Graph:
    def __init__(self, model: onnx.ModelProto):
        self.model = model
        g = model.graph
        self.producer = {out: node for node in g.node for out in node.output}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in g.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.initializers = {t.name for t in g.initializer}
        self.elem_type: dict[str, int] = {}
        for vi in list(g.input) + list(g.output) + list(g.value_info):
            self.elem_type[vi.name] = vi.type.tensor_type.elem_type

    def is_float(self, name: str) -> bool:
        t = self.elem_type.get(name)
        if t is not None and t != 0:
            return t in (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE)
        node = self.producer.get(name)
        if node is None:
            return True
        if node.op_type in _FLOAT_OUT_OPS:
            return True
        if node.op_type.startswith("QLinear") or node.op_type in ("QuantizeLinear", "DynamicQuantizeLinear"):
            return False
        data_inputs = [i for i in node.input if i and i not in self.initializers]
        return self.is_float(data_inputs[0]) if data_inputs else True

    def data_input(self, node: onnx.NodeProto) -> str | None:
        for name in node.input:
            if name and name not in self.initializers:
                return name
        return None


def _shape(vi: onnx.ValueInfoProto) -> list[Any]:
    dims = []
    for d in vi.type.tensor_type.shape.dim:
        dims.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?"))
    return dims


def _find_pooled(graph: _Graph, head_output: str) -> str | None:
    """Walk back from a head's output to the tensor produced by global pooling."""
    node = graph.producer.get(head_output)
    if node is None or node.op_type not in _HEADS:
        # the head may be followed by Softmax / Flatten / Identity
        seen = 0
        while node is not None and node.op_type not in _HEADS and seen < 4:
            data = graph.data_input(node)
            node = graph.producer.get(data) if data else None
            seen += 1
        if node is None or node.op_type not in _HEADS:
            return None
    tensor = graph.data_input(node)
    reshaped: list[str] = []  # [N, C] views of the pooled map, nearest the head first
    for _ in range(12):
        prod = graph.producer.get(tensor)
        if prod is None:
            return None
        if prod.op_type in _POOLS:
            flat = [t for t in reshaped if graph.is_float(t)]
            return flat[0] if flat else _first_float_after(graph, prod.output[0])
        if prod.op_type not in _PASS_THROUGH:
            return None
        if prod.op_type in _RESHAPES:
            reshaped.append(prod.output[0])
        tensor = graph.data_input(prod)
    return None


def _first_float_after(graph: _Graph, tensor: str) -> str:
    for _ in range(6):
        if graph.is_float(tensor):
            # prefer the 2-D [N, C] view of the pooled map when the graph makes one
            flat = [n for n in graph.consumers.get(tensor, []) if n.op_type in _RESHAPES]
            return flat[0].output[0] if flat else tensor
        nxt = [n for n in graph.consumers.get(tensor, []) if n.op_type in _PASS_THROUGH]
        if not nxt:
            break
        tensor = nxt[0].output[0]
    return tensor


def inspect(model: onnx.ModelProto, embedding: str | None = None, logits: str | None = None) -> GraphInfo:
    """Understand a model: its image input, its embedding and its logits."""
    g = model.graph
    inits = {t.name for t in g.initializer}
    inputs = [i for i in g.input if i.name not in inits]
    if len(inputs) != 1:
        raise ValueError(f"expected one image input, found {len(inputs)}: {[i.name for i in inputs]}")
    inp = inputs[0]
    in_shape = _shape(inp)
    if len(in_shape) != 4:
        raise ValueError(f"input {inp.name!r} has shape {in_shape}; expected [N, 3, H, W]")
    if isinstance(in_shape[1], int) and in_shape[1] != 3:
        raise ValueError(f"input {inp.name!r} has {in_shape[1]} channels; expected 3 (RGB)")
    outputs = {o.name: _shape(o) for o in g.output}
    graph = _Graph(model)

    if embedding and embedding not in outputs and embedding not in graph.producer:
        raise ValueError(f"the model has no tensor named {embedding!r}")
    if logits and logits not in outputs:
        raise ValueError(f"the model has no output named {logits!r}")

    if embedding is None:
        by_name = [n for n in outputs if any(w in n.lower() for w in ("embed", "feature", "pool"))]
        if by_name:
            embedding = by_name[0]
    if logits is None:
        classes = [n for n, s in outputs.items() if n != embedding and s and s[-1] == 1000]
        if classes:
            logits = classes[0]
    if embedding is None:
        candidates = [logits] if logits else list(outputs)
        for out in candidates:
            pooled = _find_pooled(graph, out)
            if pooled:
                embedding, logits = pooled, out
                break
    if embedding is None:
        if len(outputs) == 1:
            embedding = next(iter(outputs))  # a plain embedding model
        else:
            raise ValueError("cannot tell which output is the image embedding; name it explicitly")
    return GraphInfo(
        input_name=inp.name,
        input_shape=in_shape,
        outputs=outputs,
        embedding=embedding,
        logits=logits if logits != embedding else None,
        tapped=embedding not in outputs,
    )


def expose(model: onnx.ModelProto, tensor: str) -> onnx.ModelProto:
    """Add an internal tensor to the graph outputs (in place; returns the model)."""
    if any(o.name == tensor for o in model.graph.output):
        return model
    vi = onnx.helper.make_tensor_value_info(tensor, TensorProto.FLOAT, None)
    model.graph.output.append(vi)
    return model


def feature_map(model: onnx.ModelProto, embedding: str) -> str:
    """The [N, C, H, W] tensor whose global pooling gives `embedding`."""
    graph = _Graph(model)
    tensor = embedding
    for _ in range(12):
        node = graph.producer.get(tensor)
        if node is None:
            break
        if node.op_type in ("GlobalAveragePool", "ReduceMean"):
            source = graph.data_input(node)
            if source is None or not graph.is_float(source):
                break
            return source
        if node.op_type not in _PASS_THROUGH:
            break
        previous = graph.data_input(node)
        if previous is None:
            break
        tensor = previous
    raise ValueError("the model's embedding is not a global average pooling of a float feature map")


def free_spatial_dims(model: onnx.ModelProto) -> onnx.ModelProto:
    """Let the image input take any height and width (fully convolutional models)."""
    inits = {t.name for t in model.graph.initializer}
    for inp in model.graph.input:
        if inp.name in inits:
            continue
        dims = inp.type.tensor_type.shape.dim
        if len(dims) == 4:
            dims[2].dim_param, dims[3].dim_param = "H", "W"
    del model.graph.value_info[:]  # shapes inferred for 224x224 would contradict other sizes
    for out in model.graph.output:
        if out.type.tensor_type.HasField("shape") and len(out.type.tensor_type.shape.dim) == 4:
            out.type.tensor_type.ClearField("shape")
    return model

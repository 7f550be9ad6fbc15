"""Making the int8 model: the quantizer's weight arithmetic done faster gives the same model."""

import numpy as np
from onnx import TensorProto
from onnxruntime.quantization import base_quantizer
from onnxruntime.quantization.quant_utils import quantize_data

from photosearch.core.models import quantize as quantize_module


def test_the_fast_weight_channels_are_the_quantizers_own_bit_for_bit():
    rng = np.random.default_rng(0)
    channels = [rng.normal(size=n).astype(np.float32) * s for n in (1, 9, 576, 4608) for s in (1e-3, 0.05, 3.0)]
    channels += [np.zeros(9, np.float32), -np.abs(rng.normal(size=9)).astype(np.float32),
                 np.full(5, 1e-40, np.float32), np.array([0.5, -0.5, 1.5, 2.5, -127.0], np.float32)]
    for data in channels:
        ours, theirs = quantize_module._int8_symmetric(data), quantize_data(data, TensorProto.INT8, True)
        for a, b in zip(ours, theirs):
            assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


def test_the_int8_model_is_the_same_with_and_without_the_fast_path(tmp_path, convnet_model, monkeypatch):
    views = [np.random.default_rng(i).normal(size=(3, 64, 64)).astype(np.float32) for i in range(6)]
    fast = quantize_module.quantize(convnet_model, tmp_path / "fast.onnx", "input", views)
    assert base_quantizer.quantize_data is quantize_data  # put back afterwards
    monkeypatch.setattr(quantize_module, "_fast_weights", lambda: __import__("contextlib").nullcontext())
    slow = quantize_module.quantize(convnet_model, tmp_path / "slow.onnx", "input", views)
    assert fast.read_bytes() == slow.read_bytes()

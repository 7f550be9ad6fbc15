import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from photosearch.core.errors import ModelError
from photosearch.core.models import onnxgraph
from photosearch.core.models.spec import load_model_spec
from photosearch.core.vision.embedder import CPU, CUDA, Embedder, choose_providers


def test_classifier_gets_its_pooled_features_tapped(classifier_model, tmp_path):
    spec = load_model_spec(classifier_model, tmp_path)
    assert spec.embedding == "features" and spec.logits == "logits"
    assert spec.runtime_path is not None and spec.runtime_path.exists()
    assert spec.preprocess.size == 32

    x = np.random.default_rng(0).normal(size=(3, 3, 32, 32)).astype(np.float32)
    # pooled features by hand: 4x4 average pooling, flattened channel-major
    expected = x.reshape(3, 3, 8, 4, 8, 4).mean(axis=(3, 5)).reshape(3, -1)
    sess = ort.InferenceSession(str(spec.runtime_path), providers=[CPU])
    tapped, logits = sess.run(["features", "logits"], {"input": x})
    np.testing.assert_allclose(tapped, expected, atol=1e-5)
    # the logits are still there and unchanged by the surgery
    orig = ort.InferenceSession(str(classifier_model), providers=[CPU]).run(["logits"], {"input": x})[0]
    np.testing.assert_allclose(logits, orig, atol=1e-5)


def test_plain_embedding_model_is_used_as_is(embedder_model, tmp_path):
    spec = load_model_spec(embedder_model, tmp_path)
    assert spec.embedding == "embedding" and spec.logits is None and spec.runtime_path is None


def test_quantised_head_is_walked_through(tmp_path):
    """GAP -> Flatten -> Quantize -> Dequantize -> Gemm: tap the float Flatten output.

    A quantised pool (QLinearGlobalAveragePool) would be stepped over to the first float tensor."""
    nodes = [
        helper.make_node("GlobalAveragePool", ["input"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"]),
        helper.make_node("QuantizeLinear", ["flat", "s", "z"], ["q"]),
        helper.make_node("DequantizeLinear", ["q", "s", "z"], ["dq"]),
        helper.make_node("Gemm", ["dq", "W"], ["out"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "q",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 1000])],
        [numpy_helper.from_array(np.array(0.01, np.float32), "s"),
         numpy_helper.from_array(np.array(0, np.uint8), "z"),
         numpy_helper.from_array(np.ones((1000, 3), np.float32), "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    info = onnxgraph.inspect(model)
    assert info.embedding == "flat" and info.logits == "out" and info.tapped


def test_mobilenet_int8_embedding_is_the_flatten_output(shared, tmp_path):
    path = shared / "models" / "mobilenetv2_int8_static.onnx"
    if not path.exists():
        pytest.skip("mobilenetv2_int8_static.onnx not in ../shared/models")
    spec = load_model_spec(path, tmp_path)
    assert spec.logits == "output"
    emb = Embedder(spec, device="cpu")
    assert emb.dim == 1280
    # the tapped tensor is the pooled features: compare with a session exposing /Flatten_output_0 by name
    model = onnx.load(str(path))
    onnxgraph.expose(model, "/Flatten_output_0")
    ref = ort.InferenceSession(model.SerializeToString(), providers=[CPU])
    x = np.random.default_rng(1).normal(size=(2, 3, 224, 224)).astype(np.float32)
    want = ref.run(["/Flatten_output_0"], {spec.input_name: x})[0].reshape(2, -1)
    got = emb.embed(x).vectors
    np.testing.assert_allclose(got, want / np.linalg.norm(want, axis=1, keepdims=True), atol=1e-5)


def test_unusable_models_are_refused_clearly(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a model")
    with pytest.raises(ModelError, match="not a readable ONNX model"):
        load_model_spec(bad, tmp_path)
    with pytest.raises(ModelError, match="not found"):
        load_model_spec(tmp_path / "missing.onnx", tmp_path)
    # wrong input shape: a 2-D input is no image model
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
    )
    path = tmp_path / "flat.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(ModelError, match="cannot be used as an image model"):
        load_model_spec(path, tmp_path)


def test_provider_choice():
    assert choose_providers("auto", [CUDA, CPU]) == [CUDA, CPU]
    assert choose_providers("auto", [CPU]) == [CPU]
    assert choose_providers("cpu", [CUDA, CPU]) == [CPU]
    assert choose_providers("cuda", [CUDA, CPU]) == [CUDA, CPU]
    with pytest.raises(ModelError, match=r"photosearch\[gpu\]"):
        choose_providers("cuda", [CPU])
    with pytest.raises(ModelError):
        choose_providers("tpu", [CPU])


class _FakeSession:
    def __init__(self, real, providers):
        self.real, self.providers = real, providers

    def get_providers(self):
        return self.providers

    def run(self, *a, **k):
        return self.real.run(*a, **k)


def test_cuda_failure_falls_back_to_cpu_with_a_notice(classifier_model, tmp_path, monkeypatch):
    monkeypatch.setattr(ort, "get_available_providers", lambda: [CUDA, CPU])
    calls = []

    def factory(path, sess_options, providers):
        calls.append(providers)
        if providers[0] == CUDA:
            raise RuntimeError("libcudnn.so.9: cannot open shared object file")
        return _FakeSession(ort.InferenceSession(path, providers=[CPU]), [CPU])

    emb = Embedder(load_model_spec(classifier_model, tmp_path), device="auto", session_factory=factory)
    assert calls == [[CUDA, CPU], [CPU]]
    assert emb.provider == CPU and emb.device == "cpu"
    assert "libcudnn" in emb.notice


def test_silent_cpu_fallback_is_reported(classifier_model, tmp_path, monkeypatch):
    monkeypatch.setattr(ort, "get_available_providers", lambda: [CUDA, CPU])
    factory = lambda path, sess_options, providers: _FakeSession(
        ort.InferenceSession(path, providers=[CPU]), [CPU])
    emb = Embedder(load_model_spec(classifier_model, tmp_path), device="auto", session_factory=factory)
    assert emb.provider == CPU and emb.notice
    with pytest.raises(ModelError, match="CUDA"):
        Embedder(load_model_spec(classifier_model, tmp_path), device="cuda", session_factory=factory)


def test_embeddings_are_unit_length_and_batch_independent(classifier_model, tmp_path):
    from tests.helpers import make_photo

    emb = Embedder(load_model_spec(classifier_model, tmp_path), device="cpu")
    assert emb.dim == 192
    images = [make_photo(i) for i in range(5)]
    together = emb.embed_images(images)
    np.testing.assert_allclose(np.linalg.norm(together.vectors, axis=1), 1.0, atol=1e-5)
    assert together.logits.shape == (5, 10)
    alone = np.concatenate([emb.embed_images([im]).vectors for im in images])
    np.testing.assert_allclose(together.vectors, alone, atol=1e-5)

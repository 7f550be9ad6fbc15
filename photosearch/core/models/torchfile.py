"""Read PyTorch weight files (.pth) without torch, and without running their code.

A .pth file is pickled Python; unpickling it normally can execute anything. This
reader resolves only the handful of names a plain tensor state dict needs
(OrderedDict, the tensor rebuild helpers, storage types) to harmless stand-ins of
our own, and refuses every other global, so a hostile file is an error, never code.

Both formats are read: the zip format of torch >= 1.6 and the older "legacy" one
(a sequence of pickles followed by the raw storages).
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
    "BFloat16Storage": None,
}


class _StorageType:
    def __init__(self, name: str):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


@dataclass
class _LazyTensor:
    key: str
    offset: int
    size: tuple
    stride: tuple
    dtype: object


def _rebuild_tensor(storage, storage_offset, size, stride, *rest):
    key, dtype = storage
    return _LazyTensor(key, int(storage_offset), tuple(size), tuple(stride), dtype)


class _RestrictedUnpickler(pickle.Unpickler):
    _ALLOWED = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    }

    def __init__(self, f, storages: dict):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return self._ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES and _STORAGE_DTYPES[name] is not None:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: a weights file needs no code")

    def persistent_load(self, pid):
        # legacy: ('storage', type, key, location, numel[, view]); zip: ('storage', type, key, location, numel)
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise pickle.UnpicklingError("unexpected persistent object in weights file")
        storage_type, key = pid[1], str(pid[2])
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError("unknown storage type in weights file")
        self.storages.setdefault(key, storage_type.dtype)
        return (key, storage_type.dtype)


def _materialise(obj, buffers: dict):
    if isinstance(obj, _LazyTensor):
        buf = buffers[obj.key]
        itemsize = np.dtype(obj.dtype).itemsize
        count = int(np.prod(obj.size)) if obj.size else 1
        if count == 0:
            return np.zeros(obj.size, obj.dtype)
        base = np.frombuffer(buf, dtype=obj.dtype)
        strides = tuple(s * itemsize for s in obj.stride)
        view = np.lib.stride_tricks.as_strided(base[obj.offset:], shape=obj.size, strides=strides)
        return np.array(view)  # own copy, contiguous
    if isinstance(obj, dict):
        return type(obj)((k, _materialise(v, buffers)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialise(v, buffers) for v in obj)
    return obj


def _load_legacy(f) -> dict:
    storages: dict = {}

    def load():
        return _RestrictedUnpickler(f, storages).load()

    if load() != LEGACY_MAGIC:
        raise ModelError("not a PyTorch weights file (bad magic number)")
    load()  # protocol version
    load()  # sys info
    result = load()
    keys = load()
    buffers = {}
    for key in keys:
        (count,) = struct.unpack("<q", f.read(8))
        dtype = storages[str(key)]
        nbytes = count * np.dtype(dtype).itemsize
        data = f.read(nbytes)
        if len(data) != nbytes:
            raise ModelError("the weights file is truncated")
        buffers[str(key)] = data
    return _materialise(result, buffers)


def _load_zip(path: Path) -> dict:
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        pkl = next((n for n in names if n.endswith("/data.pkl") or n == "data.pkl"), None)
        if pkl is None:
            raise ModelError("not a PyTorch weights file (no data.pkl)")
        prefix = pkl[: -len("data.pkl")]
        storages: dict = {}
        result = _RestrictedUnpickler(io.BytesIO(z.read(pkl)), storages).load()
        buffers = {key: z.read(f"{prefix}data/{key}") for key in storages}
    return _materialise(result, buffers)


def load_state_dict(path: str | Path) -> dict:
    """A .pth file's tensors as numpy arrays, by name. Raises ModelError on anything else."""
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            state = _load_zip(path)
        else:
            with open(path, "rb") as f:
                state = _load_legacy(f)
    except ModelError:
        raise
    except (pickle.UnpicklingError, EOFError, struct.error, KeyError, ValueError, OSError) as exc:
        raise ModelError(f"cannot read weights from {path.name}: {exc}") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelError(f"{path.name} does not hold a state dict")
    return state

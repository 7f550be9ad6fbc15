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
import math
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np

from ..errors import ModelError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES: dict[str, Any] = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
    "BFloat16Storage": None,
}
_DTYPES = {d for d in _STORAGE_DTYPES.values() if d is not None}


class _StorageType:
    def __init__(self, name: str):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


@dataclass
class _LazyTensor:
    key: str
    offset: Any
    size: Any
    stride: Any
    dtype: Any


def _rebuild_tensor(storage: Any, storage_offset: Any, size: Any, stride: Any, *rest: Any) -> _LazyTensor:
    if not (isinstance(storage, tuple) and len(storage) == 2):
        raise pickle.UnpicklingError("a tensor without a storage in weights file")
    key, dtype = storage
    return _LazyTensor(str(key), storage_offset, size, stride, dtype)


class _RestrictedUnpickler(pickle.Unpickler):
    _ALLOWED: ClassVar[dict[tuple[str, str], Any]] = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    }

    def __init__(self, f: IO[bytes], storages: dict[str, Any]):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return self._ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES and _STORAGE_DTYPES[name] is not None:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: a weights file needs no code")

    def persistent_load(self, pid: Any) -> Any:
        # legacy: ('storage', type, key, location, numel[, view]); zip: ('storage', type, key, location, numel)
        if not isinstance(pid, tuple) or len(pid) < 3 or pid[0] != "storage":
            raise pickle.UnpicklingError("unexpected persistent object in weights file")
        storage_type, key = pid[1], str(pid[2])
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError("unknown storage type in weights file")
        self.storages.setdefault(key, storage_type.dtype)
        return (key, storage_type.dtype)


def _ints(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                       for v in value):
        raise ModelError(f"damaged weights file: a tensor's {what} is not a list of whole numbers")
    return tuple(value)


def _view(t: _LazyTensor, buffers: dict[str, bytes]) -> np.ndarray:
    """The tensor's values, after checking that every element it names lies inside its storage:
    a crafted file gets an error, never a read outside the buffer (or a huge allocation)."""
    if t.key not in buffers:
        raise ModelError("damaged weights file: a tensor refers to a storage that is not there")
    if t.dtype not in _DTYPES:
        raise ModelError("damaged weights file: a tensor of an unknown type")
    size, stride = _ints(t.size, "shape"), _ints(t.stride, "strides")
    offset = t.offset
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ModelError("damaged weights file: a tensor's offset is not a whole number >= 0")
    if len(size) != len(stride) or any(n < 0 for n in size) or any(s < 0 for s in stride):
        raise ModelError("damaged weights file: a tensor's shape and strides do not fit together")
    dtype = np.dtype(t.dtype)
    buf = buffers[t.key]
    available = len(buf) // dtype.itemsize
    count = math.prod(size)
    if count == 0:
        return np.zeros(size, dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= available or count > available:
        raise ModelError("damaged weights file: a tensor reaches past the end of its storage")
    base = np.frombuffer(buf, dtype=dtype, count=available)
    strides = tuple(s * dtype.itemsize for s in stride)
    view = np.lib.stride_tricks.as_strided(base[offset:], shape=size, strides=strides, writeable=False)
    return np.array(view)  # own copy, contiguous


def _materialise(obj: Any, buffers: dict[str, bytes]) -> Any:
    if isinstance(obj, _LazyTensor):
        return _view(obj, buffers)
    if isinstance(obj, dict):
        return type(obj)((k, _materialise(v, buffers)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialise(v, buffers) for v in obj)
    return obj


def _load_legacy(f: IO[bytes], file_size: int) -> Any:
    storages: dict[str, Any] = {}

    def load() -> Any:
        return _RestrictedUnpickler(f, storages).load()

    if load() != LEGACY_MAGIC:
        raise ModelError("not a PyTorch weights file (bad magic number)")
    load()  # protocol version
    load()  # sys info
    result = load()
    keys = load()
    if not isinstance(keys, (list, tuple)):
        raise ModelError("damaged weights file: no list of storages")
    buffers = {}
    for key in keys:
        (count,) = struct.unpack("<q", f.read(8))
        dtype = storages.get(str(key))
        if dtype is None:
            raise ModelError("damaged weights file: a storage of an unknown type")
        nbytes = count * np.dtype(dtype).itemsize
        if count < 0 or nbytes > file_size:
            raise ModelError("damaged weights file: a storage larger than the file")
        data = f.read(nbytes)
        if len(data) != nbytes:
            raise ModelError("the weights file is truncated")
        buffers[str(key)] = data
    return _materialise(result, buffers)


def _load_zip(path: Path) -> Any:
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        pkl = next((n for n in names if n.endswith("/data.pkl") or n == "data.pkl"), None)
        if pkl is None:
            raise ModelError("not a PyTorch weights file (no data.pkl)")
        prefix = pkl[: -len("data.pkl")]
        storages: dict[str, Any] = {}
        result = _RestrictedUnpickler(io.BytesIO(z.read(pkl)), storages).load()
        buffers = {key: z.read(f"{prefix}data/{key}") for key in storages}
    return _materialise(result, buffers)


def load_state_dict(path: str | Path) -> dict[str, Any]:
    """A .pth file's tensors as numpy arrays, by name. Raises ModelError on anything else."""
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            state = _load_zip(path)
        else:
            with open(path, "rb") as f:
                state = _load_legacy(f, path.stat().st_size)
    except ModelError:
        raise
    except MemoryError as exc:
        raise ModelError(f"cannot read weights from {path.name}: it asks for more memory than there is") from exc
    except Exception as exc:  # a damaged or crafted file can break the zip, pickle or struct readers anywhere
        raise ModelError(f"cannot read weights from {path.name}: {type(exc).__name__}: {exc}") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelError(f"{path.name} does not hold a state dict")
    return state

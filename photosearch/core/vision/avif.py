"""The thumbnail an AVIF file carries, as an AVIF file of its own that Pillow can decode.

Pillow reads AVIF through libavif, which decodes the primary image only; pillow-heif reads HEIF
thumbnails but has no AV1 decoder. An AVIF is a HEIF container (ISO/IEC 23008-12): a thumbnail is
an item with a `thmb` reference to the primary one. Here the container's boxes are read (`meta`:
`pitm`, `iinf`, `iloc`, `iref`, `iprp`), the smallest thumbnail that meets the need and is a plain
scaled copy of the primary (same aspect, rotation, mirroring and crop, same colour properties) is
picked, and its coded bytes are wrapped in a minimal AVIF with the properties a decoder needs.
Anything unexpected gives None: the primary image is decoded as before.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

# applied by whoever shows the picture: must be the primary's; left out of the new file, which
# decode turns as it turns the primary
_GEOMETRY = (b"irot", b"imir", b"clap")



@dataclass
class _Item:
    type: bytes = b""
    extents: list[tuple[int, int]] = field(default_factory=list)  # (offset in the file, length)
    props: list[tuple[bytes, bytes, bool]] = field(default_factory=list)  # (type, whole box, essential)


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the boxes in data[start:end]."""
    end = len(data) if end is None else end
    while start + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, start)
        head = 8
        if size == 1:
            size, head = struct.unpack_from(">Q", data, start + 8)[0], 16
        elif size == 0:
            size = end - start
        if size < head or start + size > end:
            raise ValueError("truncated box")
        yield kind, start + head, start + size
        start += size


def _uint(data: bytes, pos: int, size: int) -> int:
    return int.from_bytes(data[pos:pos + size], "big") if size else 0


def _items(data: bytes) -> tuple[int, dict[int, _Item], dict[int, list[int]]] | None:
    """(primary item, items by id, thumbnails by the item they show) from the file's meta box."""
    meta = next(((s, e) for kind, s, e in _boxes(data) if kind == b"meta"), None)
    if meta is None:
        return None
    items: dict[int, _Item] = {}
    thumbs: dict[int, list[int]] = {}
    primary = -1
    for kind, s, e in _boxes(data, meta[0] + 4, meta[1]):
        version = data[s]
        p = s + 4
        if kind == b"pitm":
            primary = _uint(data, p, 2 if version == 0 else 4)
        elif kind == b"iinf":
            p += 2 if version == 0 else 4
            for ikind, i_s, _ in _boxes(data, p, e):
                if ikind == b"infe" and data[i_s] >= 2:
                    n = 2 if data[i_s] == 2 else 4
                    item_id = _uint(data, i_s + 4, n)
                    items.setdefault(item_id, _Item()).type = data[i_s + 4 + n + 2:i_s + 4 + n + 6]
        elif kind == b"iloc":
            _iloc(data, p, version, items)
        elif kind == b"iref":
            n = 2 if version == 0 else 4
            for rkind, r_s, _ in _boxes(data, p, e):
                if rkind == b"thmb":
                    source, count = _uint(data, r_s, n), _uint(data, r_s + n, 2)
                    for k in range(count):
                        thumbs.setdefault(_uint(data, r_s + n + 2 + k * n, n), []).append(source)
        elif kind == b"iprp":
            _properties(data, s, e, items)
    return primary, items, thumbs


def _iloc(data: bytes, p: int, version: int, items: dict[int, _Item]) -> None:
    offset_size, length_size = data[p] >> 4, data[p] & 15
    base_size, index_size = data[p + 1] >> 4, (data[p + 1] & 15) if version in (1, 2) else 0
    p += 2
    n = 2 if version < 2 else 4
    count = _uint(data, p, n)
    p += n
    for _ in range(count):
        item_id = _uint(data, p, n)
        p += n
        method = 0
        if version in (1, 2):
            method = _uint(data, p, 2) & 15
            p += 2
        p += 2  # data_reference_index
        base = _uint(data, p, base_size)
        p += base_size
        extents = []
        n_extents = _uint(data, p, 2)
        p += 2
        for _ in range(n_extents):
            p += index_size
            extents.append((base + _uint(data, p, offset_size), _uint(data, p + offset_size, length_size)))
            p += offset_size + length_size
        if method == 0:  # in the file (1: in an idat box, 2: another item's; not for thumbnails we know)
            items.setdefault(item_id, _Item()).extents = extents


def _properties(data: bytes, s: int, e: int, items: dict[int, _Item]) -> None:
    boxes = list(_boxes(data, s, e))
    ipco = next(((b_s, b_e) for kind, b_s, b_e in boxes if kind == b"ipco"), None)
    if ipco is None:
        return
    props = [(kind, data[b_s - 8:b_e]) for kind, b_s, b_e in _boxes(data, *ipco)]
    for kind, b_s, _ in boxes:
        if kind != b"ipma":
            continue
        version, wide = data[b_s], _uint(data, b_s + 1, 3) & 1
        n = 2 if version < 1 else 4
        entries = _uint(data, b_s + 4, 4)
        p = b_s + 8
        for _ in range(entries):
            item = items.setdefault(_uint(data, p, n), _Item())
            count = data[p + n]
            p += n + 1
            for _ in range(count):
                value = _uint(data, p, 2 if wide else 1)
                p += 2 if wide else 1
                index = value & (0x7FFF if wide else 0x7F)
                if 0 < index <= len(props):
                    item.props.append((*props[index - 1], bool(value >> (15 if wide else 7))))


def _size(item: _Item) -> tuple[int, int] | None:
    """Width and height as coded (before rotation), which is how Pillow reports an AVIF's size."""
    for kind, box, _ in item.props:
        if kind == b"ispe" and len(box) >= 20:
            w, h = struct.unpack_from(">II", box, 12)
            return w, h
    return None


def _same(item: _Item, primary: _Item, kinds: tuple[bytes, ...]) -> bool:
    return sorted(b for k, b, _ in item.props if k in kinds) == sorted(b for k, b, _ in primary.props if k in kinds)


def thumbnail(data: bytes, wanted: tuple[int, int]) -> bytes | None:
    """The smallest thumbnail at least `wanted` (width, height, upright) as an AVIF file, or None."""
    try:
        found = _items(data)
        if found is None:
            return None
        primary_id, items, thumbs = found
        primary = items.get(primary_id)
        full = _size(primary) if primary else None
        if primary is None or full is None:
            return None
        candidates = []
        for tid in thumbs.get(primary_id, []):
            item = items.get(tid)
            size = _size(item) if item else None
            if (item is None or size is None or item.type != b"av01" or not item.extents
                    or size[0] < wanted[0] or size[1] < wanted[1] or size[0] >= full[0]
                    or abs(size[0] * full[1] - size[1] * full[0]) > 2 * max(full)
                    or not _same(item, primary, _GEOMETRY) or not _same(item, primary, (b"colr",))):
                continue
            candidates.append((size[0] * size[1], tid, size))
        if not candidates:
            return None
        _, tid, size = min(candidates)
        item = items[tid]
        if any(off + length > len(data) for off, length in item.extents):
            return None
        coded = b"".join(data[off:off + length] for off, length in item.extents)
        return _wrap(coded, [(k, b, ess) for k, b, ess in item.props if k not in _GEOMETRY])
    except (ValueError, IndexError, struct.error):
        return None


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full(kind: bytes, payload: bytes, version: int = 0, flags: int = 0) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags) + payload)


def _wrap(coded: bytes, props: list[tuple[bytes, bytes, bool]]) -> bytes:
    """A one-item AVIF: the coded picture and its properties."""
    ftyp = _box(b"ftyp", b"avif" + bytes(4) + b"avifmif1miaf")
    hdlr = _full(b"hdlr", bytes(4) + b"pict" + bytes(12) + b"\0")
    pitm = _full(b"pitm", struct.pack(">H", 1))
    iinf = _full(b"iinf", struct.pack(">H", 1) + _full(b"infe", struct.pack(">HH", 1, 0) + b"av01\0", version=2))
    ipco = _box(b"ipco", b"".join(box for _, box, _ in props))
    ipma = _full(b"ipma", struct.pack(">IHB", 1, 1, len(props))
                 + bytes(((0x80 if ess or k == b"av1C" else 0) | i) for i, (k, _, ess) in enumerate(props, 1)))
    iprp = _box(b"iprp", ipco + ipma)

    def iloc(offset: int) -> bytes:
        return _full(b"iloc", bytes([0x44, 0x00]) + struct.pack(">HHHHII", 1, 1, 0, 1, offset, len(coded)))

    meta_len = len(_full(b"meta", hdlr + pitm + iloc(0) + iinf + iprp))
    meta = _full(b"meta", hdlr + pitm + iloc(len(ftyp) + meta_len + 8) + iinf + iprp)
    return ftyp + meta + _box(b"mdat", coded)

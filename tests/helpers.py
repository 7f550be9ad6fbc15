"""Things tests build for themselves: tiny ONNX models and generated photos."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    """../shared beside the checkout (or $PHOTOSEARCH_SHARED), if present."""
    env = os.environ.get("PHOTOSEARCH_SHARED")
    path = Path(env) if env else REPO.parent / "shared"
    return path if (path / "README.md").exists() else None


def _save(model: onnx.ModelProto, path: Path) -> Path:
    model.opset_import[0].version = 13
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def tiny_classifier(path: Path, size: int = 32, classes: int = 10, seed: int = 0, work_channels: int = 0) -> Path:
    """A classifier-shaped graph: pooled 'features' -> Flatten -> Gemm (logits only).

    AveragePool(4) makes an (size/4)^2 colour thumbnail; Reshape turns it into a
    [N, C, 1, 1] map so that GlobalAveragePool -> Flatten -> Gemm is the usual head.
    The pooled features (the thumbnail) are a usable, if crude, image descriptor.
    """
    rng = np.random.default_rng(seed)
    cells = size // 4
    feat = 3 * cells * cells
    w = rng.normal(size=(classes, feat)).astype(np.float32)
    b = rng.normal(size=(classes,)).astype(np.float32)
    extra_inits, first = [], "input"
    nodes = []
    if work_channels:
        # real compute (two 3x3 convolutions) for tests that need indexing to take a while;
        # the residual keeps the colour thumbnail as the descriptor
        c = work_channels
        extra_inits = [numpy_helper.from_array(rng.normal(size=(c, 3, 3, 3)).astype(np.float32) * 0.1, "cw1"),
                       numpy_helper.from_array(rng.normal(size=(3, c, 3, 3)).astype(np.float32) * 0.01, "cw2")]
        nodes += [helper.make_node("Conv", ["input", "cw1"], ["h1"], pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", ["h1"], ["h2"]),
                  helper.make_node("Conv", ["h2", "cw2"], ["h3"], pads=[1, 1, 1, 1]),
                  helper.make_node("Add", ["input", "h3"], ["worked"])]
        first = "worked"
    nodes += [
        helper.make_node("AveragePool", [first], ["thumb"], kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("Reshape", ["thumb", "shape"], ["cells"]),
        helper.make_node("GlobalAveragePool", ["cells"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["features"], axis=1),
        helper.make_node("Gemm", ["features", "W", "B"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "tiny_classifier",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])],
        [numpy_helper.from_array(np.array([-1, feat, 1, 1], np.int64), "shape"),
         numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")] + extra_inits,
    )
    return _save(helper.make_model(graph), path)


def tiny_convnet(path: Path, channels: int = 32, classes: int = 10, seed: int = 0) -> Path:
    """A fully convolutional classifier that takes any input size (64 px nominal):
    8x8 average pooling, a random 1x1 convolution + ReLU (the feature map), then the
    usual GlobalAveragePool -> Flatten -> Gemm head. Crude, but every descriptor
    setting (GeM, thumbnails, rotations, whitening) works on it."""
    rng = np.random.default_rng(seed)
    nodes = [
        helper.make_node("AveragePool", ["input"], ["cells"], kernel_shape=[8, 8], strides=[8, 8]),
        helper.make_node("Conv", ["cells", "cw", "cb"], ["mixed"]),
        helper.make_node("Relu", ["mixed"], ["fmap"]),
        helper.make_node("GlobalAveragePool", ["fmap"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["features"], axis=1),
        helper.make_node("Gemm", ["features", "W", "B"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "tiny_convnet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 64, 64])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])],
        [numpy_helper.from_array(rng.normal(size=(channels, 3, 1, 1)).astype(np.float32), "cw"),
         numpy_helper.from_array(rng.normal(size=(channels,)).astype(np.float32) * 0.5, "cb"),
         numpy_helper.from_array(rng.normal(size=(classes, channels)).astype(np.float32), "W"),
         numpy_helper.from_array(np.zeros(classes, np.float32), "B")],
    )
    return _save(helper.make_model(graph), path)


def tiny_embedder(path: Path, size: int = 32) -> Path:
    """A model whose only output is an embedding (the flattened colour thumbnail)."""
    nodes = [
        helper.make_node("AveragePool", ["x"], ["thumb"], kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("Flatten", ["thumb"], ["embedding"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "tiny_embedder",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 3 * (size // 4) ** 2])],
    )
    return _save(helper.make_model(graph), path)


def make_photo(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A distinctive 'photo': smooth random colour fields plus a few shapes."""
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    low = rng.integers(0, 256, size=(4, 5, 3), dtype=np.uint8)
    img = Image.fromarray(low, "RGB").resize(size, Image.BICUBIC)
    draw = ImageDraw.Draw(img)
    w, h = size
    for _ in range(4):
        x0, y0 = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
        x1, y1 = x0 + int(rng.integers(20, w // 2)), y0 + int(rng.integers(20, h // 2))
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x1, y1], fill=color)
    return img


def save_jpeg(img: Image.Image, path: Path, quality: int = 90, orientation: int | None = None) -> Path:
    kwargs = {}
    if orientation:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    img.save(path, "JPEG", quality=quality, **kwargs)
    return path


# pixels stored so that a viewer applying the orientation tag shows the original
_STORE_FOR_ORIENTATION = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_90],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_270],
}


def oriented_copy(img: Image.Image, orientation: int) -> Image.Image:
    for op in _STORE_FOR_ORIENTATION.get(orientation, []):
        img = img.transpose(op)
    return img


def edits(img: Image.Image) -> dict[str, tuple[Image.Image, dict]]:
    """Mild edits people make: (image, save options) by name."""
    w, h = img.size
    return {
        "resized": (img.resize((w // 2, h // 2), Image.BILINEAR), {}),
        "cropped": (img.crop((w // 16, h // 16, w - w // 16, h - h // 16)), {}),
        "lowq": (img, {"quality": 25}),
        "rotated": (oriented_copy(img, 6), {"orientation": 6}),
    }


def jpeg_bytes(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def save_dng(rgb: np.ndarray, path: Path, orientation: int = 1) -> Path:
    """A camera RAW file (DNG, 12-bit RGGB mosaic of `rgb`) written with pidng, as LibRaw reads it."""
    from pidng.core import RAW2DNG, DNGTags, Tag
    from pidng.defs import CalibrationIlluminant, CFAPattern, DNGVersion, PhotometricInterpretation

    h, w, _ = rgb.shape
    mosaic = np.zeros((h, w), np.uint16)
    v = rgb.astype(np.uint16) * 16
    mosaic[0::2, 0::2] = v[0::2, 0::2, 0]
    mosaic[0::2, 1::2] = v[0::2, 1::2, 1]
    mosaic[1::2, 0::2] = v[1::2, 0::2, 1]
    mosaic[1::2, 1::2] = v[1::2, 1::2, 2]
    t = DNGTags()
    for tag, value in ((Tag.ImageWidth, w), (Tag.ImageLength, h), (Tag.TileWidth, w), (Tag.TileLength, h),
                       (Tag.Orientation, orientation), (Tag.SamplesPerPixel, 1), (Tag.BitsPerSample, 16),
                       (Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array),
                       (Tag.CFARepeatPatternDim, [2, 2]), (Tag.CFAPattern, CFAPattern.RGGB),
                       (Tag.BlackLevel, 0), (Tag.WhiteLevel, 4095),
                       (Tag.ColorMatrix1, [[1, 1], [0, 1], [0, 1], [0, 1], [1, 1], [0, 1], [0, 1], [0, 1], [1, 1]]),
                       (Tag.CalibrationIlluminant1, CalibrationIlluminant.D65),
                       (Tag.AsShotNeutral, [[1, 1], [1, 1], [1, 1]]), (Tag.Make, "Test"), (Tag.Model, "Cam"),
                       (Tag.DNGVersion, DNGVersion.V1_4), (Tag.DNGBackwardVersion, DNGVersion.V1_2)):
        t.set(tag, value)
    converter = RAW2DNG()
    converter.options(t, path=str(path.parent), compress=False)
    converter.convert(mosaic, filename=path.stem)
    written = path.parent / f"{path.stem}.dng"
    if written != path:
        written.rename(path)
    return path


def save_avif_with_thumbnail(img: Image.Image, path: Path, thumb: int = 160, orientation: int = 1) -> Path:
    """An AVIF whose primary image carries a thumbnail of `thumb` px (long side), as libheif writes
    them (Pillow writes none): both encoded by Pillow, turned by the same irot/imir, then put in one
    file, the thumbnail an item with a 'thmb' reference to the primary."""
    import struct

    from photosearch.core.vision import avif

    def encoded(im: Image.Image) -> tuple[bytes, list[tuple[bytes, bytes, bool]]]:
        kwargs = {}
        if orientation != 1:
            exif = Image.Exif()
            exif[0x0112] = orientation
            kwargs["exif"] = exif.tobytes()
        buf = io.BytesIO()
        im.save(buf, "AVIF", quality=80, **kwargs)
        data = buf.getvalue()
        found = avif._items(data)
        assert found is not None
        primary, items, _ = found
        return b"".join(data[o:o + n] for o, n in items[primary].extents), items[primary].props

    small = img.copy()
    small.thumbnail((thumb, thumb), Image.Resampling.BILINEAR)
    parts = [encoded(img), encoded(small)]
    boxes: list[bytes] = []
    ipma = struct.pack(">I", 2)
    for item_id, (_, props) in enumerate(parts, 1):
        marks = []
        for _, box, essential in props:
            boxes.append(box)
            marks.append((0x80 if essential else 0) | len(boxes))
        ipma += struct.pack(">HB", item_id, len(marks)) + bytes(marks)
    ftyp = avif._box(b"ftyp", b"avif" + bytes(4) + b"avifmif1miaf")
    head = (avif._full(b"hdlr", bytes(4) + b"pict" + bytes(12) + b"\0") + avif._full(b"pitm", struct.pack(">H", 1))
            + avif._full(b"iinf", struct.pack(">H", 2) + b"".join(
                avif._full(b"infe", struct.pack(">HH", i, 0) + b"av01\0", version=2) for i in (1, 2)))
            + avif._full(b"iref", avif._box(b"thmb", struct.pack(">HHH", 2, 1, 1))))
    iprp = avif._box(b"iprp", avif._box(b"ipco", b"".join(boxes)) + avif._full(b"ipma", ipma))

    def meta(start: int) -> bytes:
        offsets = [start, start + len(parts[0][0])]
        iloc = avif._full(b"iloc", bytes([0x44, 0]) + struct.pack(">H", 2) + b"".join(
            struct.pack(">HHHII", i, 0, 1, offsets[i - 1], len(parts[i - 1][0])) for i in (1, 2)))
        return avif._full(b"meta", head + iloc + iprp)

    start = len(ftyp) + len(meta(0)) + 8
    path.write_bytes(ftyp + meta(start) + avif._box(b"mdat", parts[0][0] + parts[1][0]))
    return path

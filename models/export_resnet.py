"""Export torchvision's ResNet-50 (ImageNet weights) to ONNX for photosearch.

Needs torch, torchvision and the internet (for the weights), so it is not part of the
tests. The result has two outputs, `embedding` [N, 2048] (global-average-pooled
features) and `logits` [N, 1000], a dynamic batch dimension, and is checked against
torch on a few images before it is written. Then:

    python models/export_resnet.py resnet50-tv.onnx
    photosearch model import resnet50-tv.onnx --name resnet50-tv
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="ONNX file to write")
    ap.add_argument("--weights", default="IMAGENET1K_V2", help="torchvision weights enum name")
    ap.add_argument("--opset", type=int, default=17)
    args = ap.parse_args()

    import onnxruntime as ort
    import torch
    import torchvision

    weights = getattr(torchvision.models.ResNet50_Weights, args.weights)
    net = torchvision.models.resnet50(weights=weights).eval()

    class TwoOutputs(torch.nn.Module):
        def __init__(self, resnet):
            super().__init__()
            self.body = torch.nn.Sequential(*list(resnet.children())[:-1])  # up to the average pool
            self.fc = resnet.fc

        def forward(self, x):
            embedding = torch.flatten(self.body(x), 1)
            return embedding, self.fc(embedding)

    model = TwoOutputs(net).eval()
    x = torch.randn(4, 3, 224, 224)
    torch.onnx.export(
        model, (x,), args.out, input_names=["input"], output_names=["embedding", "logits"],
        dynamic_axes={"input": {0: "N"}, "embedding": {0: "N"}, "logits": {0: "N"}},
        opset_version=args.opset,
    )
    with torch.no_grad():
        want_e, want_l = (t.numpy() for t in model(x))
    sess = ort.InferenceSession(args.out, providers=["CPUExecutionProvider"])
    got_e, got_l = sess.run(["embedding", "logits"], {"input": x.numpy()})
    err = max(float(np.abs(got_e - want_e).max()), float(np.abs(got_l - want_l).max()))
    print(f"wrote {args.out}; onnxruntime vs torch: max abs difference {err:.2e}")
    if err > 1e-3:
        print("mismatch between onnxruntime and torch; the file should not be used", file=sys.stderr)
        return 1
    # preprocessing photosearch should use (torchvision's): 224 center crop of 256, ImageNet mean/std
    return 0


if __name__ == "__main__":
    sys.exit(main())

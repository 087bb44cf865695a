#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Export engine_peer.py's network (ResNet-20 or LeNet-5, read off the
weights' names) to ONNX for bench/onnx_peer.mjs, with torch.onnx.export
(opset 13, the batch dimension dynamic), and write beside it OUT.onnx.json:
the input shape and PyTorch's logits for the first two images of the
benchmark input, which the ONNX Runtime peer checks before it times.

usage: onnx_export.py WEIGHTS.safetensors OUT.onnx"""
import json
import sys
import warnings

import torch

from engine_peer import bench_input, load_model

CHECK_IMAGES = 2


def main():
    warnings.filterwarnings("ignore", category=UserWarning)  # the exporter's notes on Slice folding
    weights, out = sys.argv[1], sys.argv[2]
    model, shape = load_model(weights)
    x = bench_input(CHECK_IMAGES, shape)
    with torch.no_grad():
        logits = model(x)
        torch.onnx.export(model, x, out, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=13, do_constant_folding=True)
    ref = {"torch": torch.__version__, "input_shape": list(shape), "check_images": CHECK_IMAGES,
           "classes": logits.shape[1], "logits": logits.flatten().tolist()}
    with open(out + ".json", "w") as f:
        json.dump(ref, f)
    print("onnx: %s\ntorch: %s" % (out, torch.__version__))


if __name__ == "__main__":
    main()

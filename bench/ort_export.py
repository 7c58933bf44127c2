#!/usr/bin/python3
"""Exports the workloads of torch_bench.py to ONNX for ort_bench.js.

python3 bench/ort_export.py DIR [WORKLOAD...]: DIR/NAME.onnx for each
workload (all without names), the same modules and input shapes PyTorch
runs in torch_bench.py, in evaluation mode, opset 17; and DIR/_identity.onnx,
one Add of a single number, whose run time is ONNX Runtime's cost per call
through its Node.js binding.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_bench  # noqa: E402


class Identity(torch.nn.Module):
    def forward(self, x):
        return x + 1


def main():
    out, only = sys.argv[1], set(sys.argv[2:])
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    models = {}
    for name, (layers, loss, batch) in torch_bench.WORKLOADS.items():
        model, x, _, _ = torch_bench.setup(layers, loss, batch)
        models[name] = (model, x)
    for name, (make, shape, loss, batch) in torch_bench.CONV_WORKLOADS.items():
        model, x, _, _ = torch_bench.setup_conv(make, shape, loss, batch)
        models[name] = (model, x)
    models["_identity"] = (Identity(), torch.ones(1))
    for name, (model, x) in models.items():
        if only and name not in only and name != "_identity":
            continue
        # Evaluation mode, except the transformer: torch 1.13 runs an
        # encoder layer in evaluation mode as one fused op that has no ONNX
        # export, so it is exported in training mode, its dropout 0 (the
        # same numbers; Dropout nodes of ratio 0).
        mode = torch.onnx.TrainingMode.EVAL
        if name == "Transformer":
            mode = torch.onnx.TrainingMode.PRESERVE
            model.train()
        else:
            model.eval()
        with torch.no_grad():
            torch.onnx.export(model, (x,), os.path.join(out, name + ".onnx"), opset_version=17,
                              input_names=["x"], output_names=["y"], training=mode,
                              do_constant_folding=mode == torch.onnx.TrainingMode.EVAL)
        print(name, list(x.shape))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Writes ONNX exports with the loss inside, for nngen's ONNX loss nodes.

torch.onnx.export (Debian's PyTorch 1.13, onnx 1.12) of a case's network
with its loss in the module's forward, the labels a second input: what
torch writes for F.cross_entropy and F.nll_loss (onnx/README.md, "Losses").

- loss_nll.withloss.onnx: loss_nll's network and loss, nll_loss(log_softmax(out),
  label, weight=(0.5, 1, 2, 1.5), ignore_index=-1): the exporter folds the
  log_softmax into SoftmaxCrossEntropyLoss(out, label, weight).
- loss_ce_sum.withloss.onnx: the same network, cross_entropy(out, label,
  ignore_index=2, reduction="sum"): SoftmaxCrossEntropyLoss without weights.
- loss_nll_tanh.withloss.onnx: nll_loss(tanh(out), label, weight=(1, 2, 0.5, 1),
  ignore_index=3, reduction="sum"): NegativeLogLikelihoodLoss, as torch writes
  an nll_loss whose input is not a log_softmax.

label_smoothing, smooth_l1_loss and huber_loss do not export in torch 1.13
("ONNX does not support label_smoothing"; "Exporting the operator
'aten::smooth_l1_loss' ... is not supported").

Usage (from this folder): /usr/bin/python3 export_losses.py
"""
import io, json, os, warnings
import onnx
import torch
import torch.nn.functional as F


warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))


class WithLoss(torch.nn.Module):
    """loss_nll's network (x[5] -> linear 6 -> tanh -> linear 4) and a loss."""
    def __init__(self, loss):
        super().__init__()
        self.h = torch.nn.Linear(5, 6)
        self.out = torch.nn.Linear(6, 4)
        self.loss = loss

    def forward(self, x, label):
        return self.loss(self.out(torch.tanh(self.h(x))), label)


LOSSES = {
    "loss_nll": lambda z, t: F.nll_loss(F.log_softmax(z, dim=1), t, weight=torch.tensor([0.5, 1, 2, 1.5]), ignore_index=-1),
    "loss_ce_sum": lambda z, t: F.cross_entropy(z, t, ignore_index=2, reduction="sum"),
    "loss_nll_tanh": lambda z, t: F.nll_loss(torch.tanh(z), t, weight=torch.tensor([1, 2, 0.5, 1]), ignore_index=3, reduction="sum"),
}

if __name__ == "__main__":
    trace = json.load(open(os.path.join(HERE, "loss_nll.json")))
    step = trace["steps"][0]
    x = torch.tensor(step["inputs"]["x"], dtype=torch.float32)
    label = torch.tensor([0, 1, 2, 3, 1, 2])
    for name, loss in LOSSES.items():
        m = WithLoss(loss).float()
        with torch.no_grad():
            for k, p in m.named_parameters():
                p.copy_(torch.tensor(trace["params"][k]))
        f = io.BytesIO()
        torch.onnx.export(m, (x, label), f, opset_version=14, input_names=["x", "label"], output_names=["loss"],
                          do_constant_folding=True)
        model = onnx.load_from_string(f.getvalue())
        onnx.checker.check_model(model, full_check=True)
        path = os.path.join(HERE, "onnx", name + ".withloss.onnx")
        with open(path, "wb") as out:
            out.write(f.getvalue())
        print("wrote onnx/%s.withloss.onnx: %s; loss %.6g" % (
            name, ", ".join(n.op_type for n in model.graph.node), m(x, label).item()))

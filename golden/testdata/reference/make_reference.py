#!/usr/bin/python3
"""Writes PyTorch reference traces for nngen's parity tests.

Each case is a small network from torch.nn run in float64 for a few
training steps. The JSON records the architecture in neutral form, the
starting parameters (float32-representable), and per step: inputs,
targets, outputs, loss, gradients and parameters after the update.

A copy of ../shared/reference/make_reference.py with more activations (see ACT).

Usage: make_reference.py CASES.py OUTDIR   (CASES.py defines CASES, a list)
       make_reference.py                     (the public cases, into this folder)
Needs Debian's python3-torch (apt-get install python3-torch).
"""
import json, os, sys
import torch

torch.set_default_dtype(torch.float64)

ACT = {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh,
       "identity": lambda z: z,
       "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01),
       # Added for nngen beyond the shared script: gelu in both forms, softmax
       # over the features, leaky_relu with another slope.
       "leaky_relu_0.2": lambda z: torch.nn.functional.leaky_relu(z, 0.2),
       "gelu": lambda z: torch.nn.functional.gelu(z),
       "gelu_tanh": lambda z: torch.nn.functional.gelu(z, approximate="tanh"),
       "softmax": lambda z: torch.softmax(z, dim=-1)}


class Net(torch.nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.spec = layers
        for l in layers:
            setattr(self, l["name"], torch.nn.Linear(l["in"], l["out"], bias=l.get("bias", True)))

    def forward(self, x):
        for l in self.spec:
            x = ACT[l.get("activation", "identity")](getattr(self, l["name"])(x))
        return x


def loss_fn(spec):
    kind = spec["type"]
    if kind == "mse":
        return torch.nn.MSELoss(reduction=spec.get("reduction", "mean"))
    if kind == "cross_entropy":  # logits + class indices
        return torch.nn.CrossEntropyLoss(reduction=spec.get("reduction", "mean"))
    if kind == "bce_with_logits":
        return torch.nn.BCEWithLogitsLoss(reduction=spec.get("reduction", "mean"))
    if kind == "l1":
        return torch.nn.L1Loss(reduction=spec.get("reduction", "mean"))
    raise ValueError(kind)


def optimizer(spec, params):
    o = dict(spec)
    kind = o.pop("type")
    if kind == "sgd":
        return torch.optim.SGD(params, **o)
    if kind == "adam":
        return torch.optim.Adam(params, **o)
    if kind == "adamw":
        return torch.optim.AdamW(params, **o)
    raise ValueError(kind)


def tolist(t):
    return t.detach().tolist()


def run(case):
    g = torch.Generator().manual_seed(case.get("seed", 0))
    net = Net(case["model"]["layers"])
    with torch.no_grad():  # float32-representable starting values, so float32 and float64 runs start equal
        for p in net.parameters():
            bound = 1.0 / (p.shape[-1] ** 0.5) if p.dim() == 2 else 0.5
            p.copy_(((torch.rand(p.shape, generator=g) * 2 - 1) * bound).float().double())
    if "params" in case:  # explicit starting values override
        with torch.no_grad():
            for k, v in net.named_parameters():
                v.copy_(torch.tensor(case["params"][k]))
    start = {k: tolist(v) for k, v in net.named_parameters()}
    lossf = loss_fn(case["loss"])
    opt = optimizer(case["optimizer"], net.parameters())
    n_in = case["model"]["layers"][0]["in"]
    n_out = case["model"]["layers"][-1]["out"]
    batch = case.get("batch")  # None: one sample, no batch dimension (as in the tutorial)
    steps = []
    for s in range(case.get("steps", 3)):
        shape = (n_in,) if batch is None else (batch, n_in)
        if "x" in case:
            x = torch.tensor(case["x"])
        else:
            x = (torch.rand(shape, generator=g) * 2 - 1).float().double()
        kind = case["loss"]["type"]
        if "y" in case:
            y = torch.tensor(case["y"])
        elif kind == "cross_entropy":
            y = torch.randint(0, n_out, (() if batch is None else (batch,)), generator=g)
        elif kind == "bce_with_logits":
            y = torch.randint(0, 2, ((n_out,) if batch is None else (batch, n_out)), generator=g).double()
        else:
            y = (torch.rand((n_out,) if batch is None else (batch, n_out), generator=g) * 2 - 1).float().double()
        opt.zero_grad()
        out = net(x)
        loss = lossf(out, y)
        loss.backward()
        grads = {k: tolist(v.grad) for k, v in net.named_parameters()}
        opt.step()
        steps.append({"x": tolist(x), "y": tolist(y), "output": tolist(out), "loss": loss.item(),
                      "grads": grads,
                      "params_after": {k: tolist(v) for k, v in net.named_parameters()}})
    return {"name": case["name"], "description": case.get("description", ""),
            "torch_version": torch.__version__, "dtype": "float64",
            "model": case["model"], "loss": case["loss"], "optimizer": case["optimizer"],
            "batch": batch, "params": start, "steps": steps}


PUBLIC = [
    {"name": "seed", "description": "The tutorial network: 4-5-7-3, sigmoid, MSE, SGD lr=0.3, one sample x=ones(4), target ones(3).",
     "model": {"layers": [
         {"name": "layer1", "in": 4, "out": 5, "activation": "sigmoid"},
         {"name": "layer2", "in": 5, "out": 7, "activation": "sigmoid"},
         {"name": "layer3", "in": 7, "out": 3}]},
     "loss": {"type": "mse"}, "optimizer": {"type": "sgd", "lr": 0.3},
     "x": [1.0, 1.0, 1.0, 1.0], "y": [1.0, 1.0, 1.0], "steps": 5, "seed": 1},
    {"name": "seed_batch", "description": "The tutorial network trained on random batches of 8.",
     "model": {"layers": [
         {"name": "layer1", "in": 4, "out": 5, "activation": "sigmoid"},
         {"name": "layer2", "in": 5, "out": 7, "activation": "sigmoid"},
         {"name": "layer3", "in": 7, "out": 3}]},
     "loss": {"type": "mse"}, "optimizer": {"type": "sgd", "lr": 0.3},
     "batch": 8, "steps": 4, "seed": 2},
    {"name": "relu_ce_momentum", "description": "10-16-3 classifier: relu, cross-entropy on logits, SGD momentum 0.9.",
     "model": {"layers": [
         {"name": "fc1", "in": 10, "out": 16, "activation": "relu"},
         {"name": "fc2", "in": 16, "out": 3}]},
     "loss": {"type": "cross_entropy"}, "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
     "batch": 4, "steps": 4, "seed": 3},
    {"name": "tanh_adam", "description": "6-8-8-2 regressor: tanh, MSE, Adam lr=0.01.",
     "model": {"layers": [
         {"name": "l1", "in": 6, "out": 8, "activation": "tanh"},
         {"name": "l2", "in": 8, "out": 8, "activation": "tanh"},
         {"name": "l3", "in": 8, "out": 2}]},
     "loss": {"type": "mse"}, "optimizer": {"type": "adam", "lr": 0.01},
     "batch": 5, "steps": 5, "seed": 4},
]

if __name__ == "__main__":
    if len(sys.argv) == 3:
        ns = {}
        exec(open(sys.argv[1]).read(), ns)
        cases, outdir = ns["CASES"], sys.argv[2]
    else:
        cases, outdir = PUBLIC, os.path.dirname(os.path.abspath(__file__))
    os.makedirs(outdir, exist_ok=True)
    for c in cases:
        with open(os.path.join(outdir, c["name"] + ".json"), "w") as f:
            json.dump(run(c), f, indent=1)
            f.write("\n")
        print("wrote", c["name"])

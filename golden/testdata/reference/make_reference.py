#!/usr/bin/python3
"""Writes PyTorch reference traces for nngen's parity tests.

Each case is a small network from torch.nn run in float64 for a few
training steps. The JSON records the architecture in neutral form, the
starting parameters (float32-representable), and per step: inputs,
targets, outputs, loss, gradients and parameters after the update.

A copy of ../shared/reference/make_reference.py with more activations (see ACT),
and three more case keys: "input_range" (inputs uniform in [-r, r] rather than
[-1, 1]), "weight_scale" ({layer: factor}, starting values that many times
the usual range) and "sizes" (the samples of each step, up to the batch: the
partial batches that a package compiled for the batch also runs). For the activations with kinks it checks that no
pre-activation comes near one, and that the piecewise ones get inputs on
every piece (KINKS, PIECES).

Usage: make_reference.py CASES.py OUTDIR [NAME ...]   (CASES.py defines CASES, a list;
                                                      with NAMEs, only those cases)
       make_reference.py                                (the public cases, into this folder)
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
       "softmax": lambda z: torch.softmax(z, dim=-1),
       # The smooth and hard activations of PyTorch's torch.nn.functional,
       # with their defaults (softplus: beta 1, threshold 20), and elu with
       # another alpha.
       "silu": torch.nn.functional.silu,
       "elu": torch.nn.functional.elu,
       "elu_0.7": lambda z: torch.nn.functional.elu(z, alpha=0.7),
       "softplus": torch.nn.functional.softplus,
       "mish": torch.nn.functional.mish,
       "hardswish": torch.nn.functional.hardswish,
       "hardsigmoid": torch.nn.functional.hardsigmoid,
       "softsign": torch.nn.functional.softsign}

# Where an activation's derivative jumps (elu's with alpha != 1: at 0; the
# hard ones' at -3 and 3; softplus switches to the identity above its
# threshold, 20), and, for the piecewise ones, the pieces its inputs must
# all reach at every step. run() refuses a case whose pre-activations come
# within KINK_MARGIN of a kink (where a float32 run, or a finite difference,
# could land on the other side), or miss a piece. Only the activations
# named here are checked.
KINKS = {"elu": [0.0], "elu_0.7": [0.0], "hardswish": [-3.0, 3.0], "hardsigmoid": [-3.0, 3.0],
         "softplus": [20.0]}
PIECES = {"elu_0.7": [0.0], "hardswish": [-3.0, 3.0], "hardsigmoid": [-3.0, 3.0]}
KINK_MARGIN = 1e-2


class Net(torch.nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.spec = layers
        for l in layers:
            setattr(self, l["name"], torch.nn.Linear(l["in"], l["out"], bias=l.get("bias", True)))

    def forward(self, x):
        self.pre = []  # each layer's pre-activation, for check_kinks
        for l in self.spec:
            z = getattr(self, l["name"])(x)
            self.pre.append(z.detach())
            x = ACT[l.get("activation", "identity")](z)
        return x


def check_kinks(case, net, step):
    """Fails unless the pre-activations of KINKS's activations keep
    KINK_MARGIN from their kinks, and reach every piece of PIECES's."""
    for l, z in zip(net.spec, net.pre):
        act = l.get("activation", "identity")
        for k in KINKS.get(act, []):
            d = (z - k).abs().min().item()
            if d < KINK_MARGIN:
                raise SystemExit("%s step %d: %s's input %s comes within %g of %s's kink at %g" % (
                    case["name"], step, l["name"], act, d, act, k))
        if act in PIECES:
            edges = [float("-inf")] + PIECES[act] + [float("inf")]
            for lo, hi in zip(edges, edges[1:]):
                n = ((z > lo) & (z < hi)).sum().item()
                if n == 0:
                    raise SystemExit("%s step %d: no input of %s's %s in (%g, %g)" % (case["name"], step, l["name"], act, lo, hi))


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
        # "weight_scale": {layer: factor} widens a layer's starting range
        # (weight and bias), after the draws, which stay as without it.
        for name, factor in case.get("weight_scale", {}).items():
            for p in getattr(net, name).parameters():
                p.mul_(factor).copy_(p.float().double())
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
    # "sizes": the samples of each step, at most the batch (a package
    # compiled for the batch runs them through its ...Batch methods).
    sizes = case.get("sizes", [batch] * case.get("steps", 3))
    steps = []
    for s, rows in enumerate(sizes):
        shape = (n_in,) if batch is None else (rows, n_in)
        if "x" in case:
            x = torch.tensor(case["x"])
        else:
            x = ((torch.rand(shape, generator=g) * 2 - 1) * case.get("input_range", 1)).float().double()
        kind = case["loss"]["type"]
        if "y" in case:
            y = torch.tensor(case["y"])
        elif kind == "cross_entropy":
            y = torch.randint(0, n_out, (() if batch is None else (rows,)), generator=g)
        elif kind == "bce_with_logits":
            y = torch.randint(0, 2, ((n_out,) if batch is None else (rows, n_out)), generator=g).double()
        else:
            y = (torch.rand((n_out,) if batch is None else (rows, n_out), generator=g) * 2 - 1).float().double()
        opt.zero_grad()
        out = net(x)
        check_kinks(case, net, s)
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
    if len(sys.argv) >= 3:
        ns = {}
        exec(open(sys.argv[1]).read(), ns)
        cases, outdir = ns["CASES"], sys.argv[2]
        if sys.argv[3:]:
            unknown = set(sys.argv[3:]) - {c["name"] for c in cases}
            if unknown:
                sys.exit("no such case: %s" % ", ".join(sorted(unknown)))
            cases = [c for c in cases if c["name"] in sys.argv[3:]]
    else:
        cases, outdir = PUBLIC, os.path.dirname(os.path.abspath(__file__))
    os.makedirs(outdir, exist_ok=True)
    for c in cases:
        with open(os.path.join(outdir, c["name"] + ".json"), "w") as f:
            json.dump(run(c), f, indent=1)
            f.write("\n")
        print("wrote", c["name"])

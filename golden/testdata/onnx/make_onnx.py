#!/usr/bin/python3
"""Exports the PyTorch networks of nngen's ONNX tests with torch.onnx.export.

For every trace in ../reference (the tutorial network is seed.json and
seed_batch.json), models/NAME.onnx is that network with the trace's starting
parameters, exported in float32 as a user would: torch.onnx.export(model, x,
path), with x one sample when the trace has no batch dimension (so the
export writes MatMul + Add) and a batch otherwise (Gemm). The opset
version cycles through 13 to 17. A few are also exported in float64, as
models/NAME.f64.onnx.

Five networks go beyond ../reference's, each with its own trace, written
here by the same loop as make_reference.py's run (float64, a few training
steps): sequential (nn.Sequential with Flatten, LeakyReLU, Dropout, a Linear
without bias, GELU with the tanh approximation and Identity, on an input
[5, 2, 3], cross-entropy and Adam), tokens (Linear over the last axis
of an input [2, 3, 4], MSE and SGD with momentum), and three exports of a
network whose parameters start equal: three zero biases, and two equal
weights. torch.onnx.export keeps one initializer of each set of equal
values and writes an Identity of it for each other parameter, named as the
state_dict names it; nngen must train them apart, as PyTorch does. They
are exported on a batch (Gemm; also in float64), on one sample (MatMul of
the weights that constant folding transposed, "onnx::MatMul_25", and of an
Identity of one), and on one sample without constant folding (Transpose
then MatMul).

Usage: make_onnx.py   (writes models/ beside this file)
Needs Debian's python3-torch (apt-get install python3-torch).
"""
import glob, json, os, sys
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import make_reference as ref  # noqa: E402  (sets float64 as the default dtype)

nn = torch.nn
OPSETS = [13, 14, 15, 16, 17]
FLOAT64 = {"seed_batch", "gelu_bce_adamw", "deep_unbatched"}


def export(net, x, path, opset, fold=True):
    torch.onnx.export(net, x, path, opset_version=opset, do_constant_folding=fold)
    print("wrote", os.path.relpath(path, HERE), "opset", opset, *([] if fold else ["without constant folding"]))


def from_reference(models):
    for i, path in enumerate(sorted(glob.glob(os.path.join(HERE, "..", "reference", "*.json")))):
        trace = json.load(open(path))
        layers = trace["model"]["layers"]
        net = ref.Net(layers)
        with torch.no_grad():
            for k, v in net.named_parameters():
                v.copy_(torch.tensor(trace["params"][k]))
        net.eval()
        shape = (layers[0]["in"],) if trace["batch"] is None else (trace["batch"], layers[0]["in"])
        opset = OPSETS[i % len(OPSETS)]
        export(net.float(), torch.ones(shape, dtype=torch.float32), os.path.join(models, trace["name"] + ".onnx"), opset)
        if trace["name"] in FLOAT64:
            export(net.double(), torch.ones(shape, dtype=torch.float64), os.path.join(models, trace["name"] + ".f64.onnx"), opset)


class Sequential(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(6, 8), nn.LeakyReLU(0.1), nn.Dropout(0.25),
                                 nn.Linear(8, 8, bias=False), nn.GELU(approximate="tanh"), nn.Identity(), nn.Linear(8, 4))

    def forward(self, x):
        return self.net(x)


class ZeroBiases(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 6)
        self.fc2 = nn.Linear(6, 6)
        self.fc3 = nn.Linear(6, 6)
        self.out = nn.Linear(6, 2)

    def forward(self, x):
        return self.out(torch.relu(self.fc3(torch.tanh(self.fc2(torch.relu(self.fc1(x)))))))


def equal_start(net):
    """Zero biases, as nn.init.zeros_ gives, and fc3 starting as fc2: equal
    values in parameters of their own, which the export deduplicates."""
    for layer in (net.fc1, net.fc2, net.fc3):
        nn.init.zeros_(layer.bias)
    net.fc3.weight.copy_(net.fc2.weight)


class Tokens(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(4, 5)
        self.out = nn.Linear(5, 2)

    def forward(self, x):
        return self.out(torch.relu(self.embed(x)))


CUSTOM = [
    {"name": "sequential", "net": Sequential, "shape": (5, 2, 3), "classes": 4,
     "description": "nn.Sequential(Flatten, Linear, LeakyReLU(0.1), Dropout (eval), Linear without bias, GELU tanh, Identity, Linear) on [5, 2, 3], cross-entropy, Adam.",
     "loss": {"type": "cross_entropy"}, "optimizer": {"type": "adam", "lr": 0.01}, "steps": 4, "seed": 31, "opset": 16},
    {"name": "tokens", "net": Tokens, "shape": (2, 3, 4), "out": (2, 3, 2),
     "description": "Linear(4, 5), relu, Linear(5, 2) over the last axis of [2, 3, 4] (MatMul + Add on a 3-D tensor), MSE, SGD momentum 0.9.",
     "loss": {"type": "mse"}, "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9}, "steps": 3, "seed": 32, "opset": 15},
    {"name": "zero_biases", "net": ZeroBiases, "init": equal_start, "shape": (4, 4), "out": (4, 2),
     "description": "Linear 4-6-6-6-2 (relu, tanh, relu), the three hidden biases zero and fc3.weight equal to fc2.weight at the start, on a batch (Gemm), MSE, Adam.",
     "loss": {"type": "mse"}, "optimizer": {"type": "adam", "lr": 0.01}, "steps": 4, "seed": 33, "opset": 17, "float64": True},
    {"name": "zero_biases_sample", "net": ZeroBiases, "init": equal_start, "shape": (4,), "out": (2,),
     "description": "zero_biases on one sample (MatMul of folded weights, Add), MSE sum, SGD momentum 0.9.",
     "loss": {"type": "mse", "reduction": "sum"}, "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9}, "steps": 4, "seed": 34, "opset": 14},
    {"name": "zero_biases_unfolded", "net": ZeroBiases, "init": equal_start, "shape": (4,), "out": (2,), "fold": False,
     "description": "zero_biases on one sample exported without constant folding (Transpose, MatMul, Add), L1, AdamW.",
     "loss": {"type": "l1"}, "optimizer": {"type": "adamw", "lr": 0.01, "weight_decay": 0.05}, "steps": 4, "seed": 35, "opset": 13},
]


def run_custom(case, models):
    """make_reference.run's loop for a network of its own. Training runs in
    eval mode, as the export does, so that Dropout is the identity."""
    g = torch.Generator().manual_seed(case["seed"])
    net = case["net"]()
    with torch.no_grad():
        for p in net.parameters():
            bound = 1.0 / (p.shape[-1] ** 0.5) if p.dim() == 2 else 0.5
            p.copy_(((torch.rand(p.shape, generator=g) * 2 - 1) * bound).float().double())
        if "init" in case:
            case["init"](net)
    net.eval()
    start = {k: ref.tolist(v) for k, v in net.named_parameters()}
    lossf = ref.loss_fn(case["loss"])
    opt = ref.optimizer(case["optimizer"], net.parameters())
    steps = []
    for _ in range(case["steps"]):
        x = (torch.rand(case["shape"], generator=g) * 2 - 1).float().double()
        if case["loss"]["type"] == "cross_entropy":
            y = torch.randint(0, case["classes"], (case["shape"][0],), generator=g)
        else:
            y = (torch.rand(case["out"], generator=g) * 2 - 1).float().double()
        opt.zero_grad()
        out = net(x)
        loss = lossf(out, y)
        loss.backward()
        grads = {k: ref.tolist(v.grad) for k, v in net.named_parameters()}
        opt.step()
        steps.append({"x": ref.tolist(x), "y": ref.tolist(y), "output": ref.tolist(out), "loss": loss.item(),
                      "grads": grads, "params_after": {k: ref.tolist(v) for k, v in net.named_parameters()}})
    trace = {"name": case["name"], "description": case["description"], "torch_version": torch.__version__,
             "dtype": "float64", "model": {"layers": []}, "loss": case["loss"], "optimizer": case["optimizer"],
             "batch": case["shape"][0] if len(case["shape"]) > 1 else None, "params": start, "steps": steps}
    with open(os.path.join(models, case["name"] + ".json"), "w") as f:
        json.dump(trace, f, indent=1)
        f.write("\n")
    # Export the starting network, not the trained one.
    with torch.no_grad():
        for k, v in net.named_parameters():
            v.copy_(torch.tensor(start[k]))
    export(net.float(), torch.ones(case["shape"], dtype=torch.float32), os.path.join(models, case["name"] + ".onnx"), case["opset"],
           case.get("fold", True))
    if case.get("float64"):
        export(net.double(), torch.ones(case["shape"], dtype=torch.float64), os.path.join(models, case["name"] + ".f64.onnx"),
               case["opset"], case.get("fold", True))


if __name__ == "__main__":
    models = os.path.join(HERE, "models")
    os.makedirs(models, exist_ok=True)
    from_reference(models)
    for case in CUSTOM:
        run_custom(case, models)

#!/usr/bin/python3
"""Exports the PyTorch networks of nngen's ONNX tests with torch.onnx.export.

For every trace of ../reference named in REFERENCE (the tutorial network is
seed.json and seed_batch.json), models/NAME.onnx is that network with the
trace's starting parameters, exported in float32 as a user would:
torch.onnx.export(model, x, path), with x one sample when the trace has no
batch dimension (so the export writes MatMul + Add) and a batch otherwise
(Gemm). The opset version cycles through 13 to 17 in REFERENCE's order. A
few are also exported in float64, as models/NAME.f64.onnx. (REFERENCE
lists the traces there were when the models were made, so that their
opsets stay; the later gemm_* and vector_mse_decay traces have no export.)

The activation traces (../reference/act_*, from cases_activations.py) are
exported the same way at the opsets ACTIVATIONS gives them. F.silu exports
as Sigmoid + Mul, which nngen's recognize pass makes one silu. PyTorch 1.13 exports elu as Elu (alpha
rounded to float32), softplus as Softplus, hardswish as HardSwish (from
opset 14; HardSigmoid + Mul before), hardsigmoid as HardSigmoid (alpha
float32(1/6), beta 0.5 by default), but mish as Softplus + Tanh + Mul (it
has no opset 18, which brought Mish) and softsign as Abs, Add of a Constant
1, Div. So ONE_NODE also writes models/act_mish_node.onnx (opset 18) and
models/act_softsign_node.onnx, the same exports with that formula replaced
by one Mish or Softsign node, as a newer exporter or a graph optimizer
writes them, each with a copy of its trace (models/NAME_node.json).

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

Usage: make_onnx.py [NAME ...]   (writes models/ beside this file: every
                                  model, or only those named, as NAME or
                                  NAME.f64; a custom case writes all its
                                  files, its trace included)
Needs Debian's python3-torch and python3-onnx (apt-get install python3-torch
python3-onnx).
"""
import json, os, sys
import onnx
from onnx import numpy_helper
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import make_reference as ref  # noqa: E402  (sets float64 as the default dtype)

nn = torch.nn
OPSETS = [13, 14, 15, 16, 17]
REFERENCE = ["batch1_sum", "bce_sum_leaky02", "ce_sum_batch1_adam", "ce_unbatched_nobias", "deep_relu_adam",
             "deep_unbatched", "gelu_bce_adamw", "gelutanh_mse_adam", "l1_adamw_defaults", "leaky_l1_nesterov",
             "linear_only", "relu_ce_momentum", "seed", "seed_batch", "softmax_dampening", "tanh_adam",
             "tanh_sum_momentum", "wide_nobias"]
# Every activation trace but act_silu, at an opset each (HardSwish needs 14).
ACTIVATIONS = {"act_silu": 14, "act_elu": 13, "act_elu_alpha07": 14, "act_softplus": 15, "act_mish": 16, "act_hardswish": 17,
               "act_hardsigmoid": 14, "act_softsign": 13}
# act_hardsigmoid in float64 too: HardSigmoid's alpha is float32(1/6) in the
# file, and the trace's hardsigmoid uses 1/6.
FLOAT64 = {"seed_batch", "gelu_bce_adamw", "deep_unbatched", "act_hardsigmoid"}
ONLY = set()  # the command line's names; empty for every model


def wanted(name):
    return not ONLY or name in ONLY


def export(net, x, path, opset, fold=True):
    torch.onnx.export(net, x, path, opset_version=opset, do_constant_folding=fold)
    print("wrote", os.path.relpath(path, HERE), "opset", opset, *([] if fold else ["without constant folding"]))


def from_reference(models):
    opsets = {name: OPSETS[i % len(OPSETS)] for i, name in enumerate(REFERENCE)}
    opsets.update(ACTIVATIONS)
    for name, opset in opsets.items():
        trace = json.load(open(os.path.join(HERE, "..", "reference", name + ".json")))
        layers = trace["model"]["layers"]
        net = ref.Net(layers)
        with torch.no_grad():
            for k, v in net.named_parameters():
                v.copy_(torch.tensor(trace["params"][k]))
        net.eval()
        shape = (layers[0]["in"],) if trace["batch"] is None else (trace["batch"], layers[0]["in"])
        if wanted(name):
            export(net.float(), torch.ones(shape, dtype=torch.float32), os.path.join(models, name + ".onnx"), opset)
        if name in FLOAT64 and wanted(name + ".f64"):
            export(net.double(), torch.ones(shape, dtype=torch.float64), os.path.join(models, name + ".f64.onnx"), opset)


def one_node(graph, op_type, match):
    """Replaces each formula that match finds at a node (returning the
    formula's input and its nodes) with one op_type node of that input,
    with the formula's output and the last node's name."""
    producer = {o: n for n in graph.node for o in n.output}
    replaced = 0
    for n in list(graph.node):
        found = match(n, producer)
        if found is None:
            continue
        x, nodes = found
        inner = {o for m in nodes for o in m.output} - set(n.output)
        users = [m for m in graph.node if m not in nodes and inner & set(m.input)]
        assert not users and not inner & {o.name for o in graph.output}, "a value inside the formula has another user"
        at = list(graph.node).index(n)
        for m in nodes:
            graph.node.remove(m)
        graph.node.insert(at - len(nodes) + 1, onnx.helper.make_node(op_type, [x], list(n.output), name=n.name))
        replaced += 1
    assert replaced, "no %s formula" % op_type


def mish_formula(n, p):
    """Mul(x, Tanh(Softplus(x))), in either order."""
    if n.op_type != "Mul" or len(n.input) != 2:
        return None
    for x, t in (n.input, n.input[::-1]):
        tanh = p.get(t)
        sp = tanh is not None and tanh.op_type == "Tanh" and p.get(tanh.input[0])
        if sp and sp.op_type == "Softplus" and sp.input[0] == x:
            return x, [sp, tanh, n]
    return None


def softsign_formula(n, p):
    """Div(x, Add(Abs(x), Constant 1)), the Add's operands in either order."""
    if n.op_type != "Div" or len(n.input) != 2:
        return None
    x, d = n.input
    add = p.get(d)
    if add is None or add.op_type != "Add":
        return None
    for a, c in (add.input, add.input[::-1]):
        ab, one = p.get(a), p.get(c)
        if ab is not None and ab.op_type == "Abs" and ab.input[0] == x and one is not None and one.op_type == "Constant":
            value = numpy_helper.to_array(one.attribute[0].t)
            if value.size == 1 and value.item() == 1:
                return x, [ab, one, add, n]
    return None


# name: (the export it rewrites, the op, the formula, the opset it needs or None to keep the export's)
ONE_NODE = {"act_mish_node": ("act_mish", "Mish", mish_formula, 18),
            "act_softsign_node": ("act_softsign", "Softsign", softsign_formula, None)}


def one_nodes(models):
    for name, (base, op_type, match, opset) in ONE_NODE.items():
        if not wanted(name):
            continue
        m = onnx.load(os.path.join(models, base + ".onnx"))
        one_node(m.graph, op_type, match)
        if opset is not None:
            for o in m.opset_import:
                if o.domain in ("", "ai.onnx"):
                    o.version = opset
        # onnx 1.12's checker knows opsets up to 17 only: check those.
        if all(o.version <= 17 for o in m.opset_import):
            onnx.checker.check_model(m)
        path = os.path.join(models, name + ".onnx")
        onnx.save(m, path)
        trace = json.load(open(os.path.join(HERE, "..", "reference", base + ".json")))
        trace["name"] = name
        trace["description"] = "%s, exported with one %s node. %s" % (base, op_type, trace["description"])
        with open(os.path.join(models, name + ".json"), "w") as f:
            json.dump(trace, f, indent=1)
            f.write("\n")
        print("wrote", os.path.relpath(path, HERE), "from", base + ".onnx", "with one", op_type, "node, opset",
              [o.version for o in m.opset_import], "and", name + ".json")


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
    ONLY.update(sys.argv[1:])
    known = set(REFERENCE) | set(ACTIVATIONS) | {n + ".f64" for n in FLOAT64} | set(ONE_NODE)
    known |= {c["name"] for c in CUSTOM} | {c["name"] + ".f64" for c in CUSTOM if c.get("float64")}
    if ONLY - known:
        sys.exit("no such model: %s" % ", ".join(sorted(ONLY - known)))
    from_reference(models)
    one_nodes(models)
    for case in CUSTOM:
        if wanted(case["name"]) or (case.get("float64") and wanted(case["name"] + ".f64")):
            run_custom(case, models)

#!/usr/bin/python3
"""Writes PyTorch checkpoints in nngen's checkpoint layout, and what PyTorch
computes after them, for golden's TestTorchCheckpoints.

Each case trains a module with buffers for three steps in float64, then
writes NAME.safetensors: the module's state_dict() as it is, and its
optimizer.state_dict() flattened under nngen's names with the prefix
"optimizer." (optimizer.state.I.KEY, I the parameter's index in
param_groups[0]["params"]; optimizer.param_groups.0.KEY, betas as betas.0
and betas.1; steps as I64). torch.optim.SGD keeps no step: the script
writes the steps taken, which nngen's SGD with momentum needs to know that
its buffers exist. NAME.json holds the .nn source (no dtype line) and two
more steps: inputs, targets, and the parameters and optimizer state after
each, which the Go package, loaded from the checkpoint, must reproduce.

torch 1.13 has no safetensors module: the file is written by hand (an
8-byte little-endian header length, the JSON header, the data).

Usage (from this folder): /usr/bin/python3 make_checkpoints.py
"""
import json, os, struct
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)

SOURCE = """network Resume
batch 4
input x[5]
buffer scale[6] = ones
buffer shift[6] = zeros
h = linear(x, 6)
u = tanh(h * scale + shift)
out = linear(u, 3)
output out
loss mse(out, target[3])
optimizer %s
"""


class Resume(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("scale", torch.ones(6))
        self.register_buffer("shift", torch.zeros(6))
        self.h = nn.Linear(5, 6)
        self.out = nn.Linear(6, 3)

    def forward(self, x):
        return self.out(torch.tanh(self.h(x) * self.scale + self.shift))


CASES = [
    ("resume_sgd_momentum", "sgd(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)",
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("resume_sgd_nesterov", "sgd(lr=0.05, momentum=0.8, nesterov=true)",
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True)),
    ("resume_adam", "adam(lr=0.01, betas=(0.8, 0.95), weight_decay=0.01)",
     lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.95), weight_decay=0.01)),
    ("resume_adamw", "adamw(lr=0.01)", lambda p: torch.optim.AdamW(p, lr=0.01)),
]

# PyTorch's param_groups keys that nngen models keep as settings; the rest
# (nesterov, amsgrad, maximize, foreach, ...) are compiled into the package.
GROUP_KEYS = ["lr", "momentum", "dampening", "weight_decay", "betas", "eps"]


def optimizer_tensors(opt, steps_taken):
    """optimizer.state_dict() under nngen's names, as (name, tensor) in order."""
    sd = opt.state_dict()
    out = []
    group = sd["param_groups"][0]
    for i in group["params"]:
        st = sd["state"].get(i, {})
        step = st.get("step", steps_taken)  # SGD keeps none: the steps taken
        out.append(("state.%d.step" % i, torch.tensor(int(step), dtype=torch.int64)))
        for key in ("momentum_buffer", "exp_avg", "exp_avg_sq"):
            if key in st:
                out.append(("state.%d.%s" % (i, key), st[key].detach().clone()))
    for key in GROUP_KEYS:
        if key not in group:
            continue
        if key == "betas":
            for j, b in enumerate(group[key]):
                out.append(("param_groups.0.betas.%d" % j, torch.tensor(float(b))))
        else:
            out.append(("param_groups.0." + key, torch.tensor(float(group[key]))))
    return out


def write_safetensors(path, tensors, metadata):
    header, data = {"__metadata__": metadata}, b""
    for name, t in tensors:
        t = t.contiguous()
        dtype = {torch.float64: "F64", torch.int64: "I64"}[t.dtype]
        raw = t.numpy().astype("<f8" if dtype == "F64" else "<i8").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def run(name, line, make_opt, seed):
    g = torch.Generator().manual_seed(seed)
    net = Resume()
    with torch.no_grad():  # float32-representable start, buffers from a range
        for _, p in net.named_parameters():
            bound = 1 / p.shape[-1] ** 0.5 if p.dim() == 2 else 0.5
            p.copy_(((torch.rand(p.shape, generator=g) * 2 - 1) * bound).float().double())
        net.scale.copy_((0.5 + torch.rand(6, generator=g)).float().double())
        net.shift.copy_((torch.rand(6, generator=g) - 0.5).float().double())
    opt = make_opt(net.parameters())

    def step():
        x = (torch.rand(4, 5, generator=g) * 2 - 1).float().double()
        t = (torch.rand(4, 3, generator=g) * 2 - 1).float().double()
        opt.zero_grad()
        loss = ((net(x) - t) ** 2).mean()
        loss.backward()
        opt.step()
        return x, t, loss.item()

    for _ in range(3):
        step()
    tensors = [(k, v.detach().clone()) for k, v in net.state_dict().items()]
    tensors += [("optimizer." + k, v) for k, v in optimizer_tensors(opt, 3)]
    write_safetensors(os.path.join(OUT, name + ".safetensors"), tensors, {"steps": "3", "torch": torch.__version__})
    after = []
    for k in range(2):
        x, t, loss = step()
        after.append({"inputs": {"x": x.tolist()}, "targets": {"target": t.tolist()}, "loss": loss,
                      "params_after": {n: p.detach().tolist() for n, p in net.named_parameters()},
                      "optimizer_after": {n: v.tolist() for n, v in optimizer_tensors(opt, 4 + k)}})
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump({"name": name, "torch_version": torch.__version__, "source": SOURCE % line,
                   "state_dict": [k for k, _ in tensors], "steps": after}, f, indent=1)
        f.write("\n")
    print("wrote %s.safetensors (%d tensors) and %s.json, losses after it %s" % (
        name, len(tensors), name, " ".join("%.6g" % s["loss"] for s in after)))


OUT = os.path.dirname(os.path.abspath(__file__))
if __name__ == "__main__":
    for i, (name, line, make_opt) in enumerate(CASES):
        run(name, line, make_opt, 200 + i)

#!/usr/bin/python3
"""Resident memory of the bench/ workloads trained in PyTorch.

For each workload, a fresh Python process (so that one workload's memory does
not count toward another's) reads its resident set size from
/proc/self/status before `import torch`, after it (the baseline), and after
building the model of bench/<w>/model.nn (nn.Linear layers, the same
activations, loss and torch.optim.SGD lr) and running a few training steps
(zero_grad, forward, loss, backward, step) with torch.set_num_threads(1).

Prints one line per workload, sizes in KiB:

    W2 python=9000 baseline=250000 rss=252000 peak=252500 growth=2000 peak_growth=2500 tensors=813324 inputs=100480

python: RSS before import torch; baseline: RSS after import torch; rss, peak:
VmRSS and VmHWM after the training steps; growth = rss - baseline;
peak_growth = peak - baseline; tensors: bytes of the parameters and gradients
(PyTorch's equivalent of nngen's parameters + gradients, no optimizer state for
plain SGD); inputs: bytes of x and the target. Run by bench/memory.sh with
OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1.

    /usr/bin/python3 bench/torch_memory.py [W1 W2 ...]
"""
import os
import subprocess
import sys

WORKLOADS = {
    # name: (layers [(in, out, activation)], loss, batch (None: one sample), lr)
    "W1": ([(4, 5, "sigmoid"), (5, 7, "sigmoid"), (7, 3, None)], "mse", None, 0.3),
    "W2": ([(784, 128, "relu"), (128, 10, None)], "cross_entropy", 32, 0.01),
    "W2Batch256": ([(784, 128, "relu"), (128, 10, None)], "cross_entropy", 256, 0.01),
    "W3": ([(784, 512, "relu"), (512, 512, "relu"), (512, 10, None)], "cross_entropy", 64, 0.01),
    "W4": ([(1024, 1024, "relu"), (1024, 1024, None)], "mse", 256, 0.01),
}

STEPS = 3


def status():
    """VmRSS and VmHWM of this process in KiB."""
    kib = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                kib[key] = int(value.split()[0])
    return kib["VmRSS"], kib["VmHWM"]


def child(name):
    python, _ = status()
    import torch  # the baseline is the process with torch imported

    base, _ = status()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    layers, loss, batch, lr = WORKLOADS[name]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from torch_bench import build  # the same model as the speed comparison's

    model = build(layers)
    n_in, n_out = layers[0][0], layers[-1][1]
    x = torch.rand((n_in,) if batch is None else (batch, n_in))
    if loss == "mse":
        y = torch.rand((n_out,) if batch is None else (batch, n_out))
        lossf = torch.nn.MSELoss()
    else:
        y = torch.randint(0, n_out, (batch,))
        lossf = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(STEPS):
        opt.zero_grad()
        lossf(model(x), y).backward()
        opt.step()
    rss, peak = status()
    tensors = sum(p.numel() * p.element_size() for p in model.parameters())
    tensors += sum(p.grad.numel() * p.grad.element_size() for p in model.parameters() if p.grad is not None)
    inputs = x.numel() * x.element_size() + y.numel() * y.element_size()
    print(f"{name} python={python} baseline={base} rss={rss} peak={peak} growth={rss - base} "
          f"peak_growth={peak - base} tensors={tensors} inputs={inputs}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
        return
    names = sys.argv[1:] or list(WORKLOADS)
    for name in names:
        if name not in WORKLOADS:
            sys.exit(f"torch_memory.py: no workload {name} (have {', '.join(WORKLOADS)})")
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", name],
                             check=True, stdout=subprocess.PIPE, text=True).stdout
        sys.stdout.write(out)
        sys.stdout.flush()


if __name__ == "__main__":
    main()

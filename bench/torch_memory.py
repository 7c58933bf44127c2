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
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 and the OPENBLAS_CORETYPE of
bench/lib.sh, after its BLAS check.

    /usr/bin/python3 bench/torch_memory.py [W1 W2 ...]
"""
import os
import subprocess
import sys

# The learning rates of the bench/<w>/model.nn files; the workloads
# themselves are torch_bench.py's, imported once torch is (the children
# measure the memory of the process before and after importing it).
LR = {"W1": 0.3, "W2": 0.01, "W2Batch256": 0.01, "W3": 0.01, "W4": 0.01}

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


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def child(name):
    python, _ = status()
    import torch  # the baseline is the process with torch imported

    base, _ = status()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    from torch_bench import WORKLOADS, setup  # the same models as the speed comparison's

    model, x, y, lossf = setup(*WORKLOADS[name])
    opt = torch.optim.SGD(model.parameters(), lr=LR[name])
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
    names = sys.argv[1:] or list(LR)
    for name in names:
        if name not in LR:
            sys.exit(f"torch_memory.py: no workload {name} (have {', '.join(LR)})")
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", name],
                             check=True, stdout=subprocess.PIPE, text=True).stdout
        sys.stdout.write(out)
        sys.stdout.flush()


if __name__ == "__main__":
    main()

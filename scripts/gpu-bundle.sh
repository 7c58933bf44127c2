#!/usr/bin/env bash
# gpu-bundle.sh builds, on a machine with Go and clang-16, everything that
# scripts/gpu-check.sh needs on a machine with an NVIDIA GPU, which has no Go:
#
#   bash scripts/gpu-bundle.sh [--fake] [DIR]     # default DIR: gpu-bundle
#
# --fake adds the emulation's fake libcuda.so.1 (per network) and
# libcublas.so.12, for a dry run without a GPU: bash DIR/gpu-check.sh --fake.
#
# DIR gets, per network, a test binary (CGO_ENABLED=0: only the driver,
# libcuda.so.1, is needed there) with its PyTorch trace and its PTX; the
# PyTorch benchmark; and gpu-check.sh. Copy DIR to the GPU machine and run
#
#   bash DIR/gpu-check.sh
#
# (docs/cuda.md says what it checks.)
set -euo pipefail
cd "$(dirname "$0")/.."
fakes=false
[ "${1:-}" = --fake ] && { fakes=true; shift; }
out=${1:-gpu-bundle}
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

command -v go >/dev/null || { echo "gpu-bundle.sh needs Go" >&2; exit 1; }
command -v clang-16 >/dev/null || { echo "gpu-bundle.sh needs clang-16: apt-get install clang-16" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
# The golden tests know how to generate each network's packages and their
# parity harness; with -cudabundle they build the test binaries into $out.
go test -count=1 -run '^TestCudaBundle$' ./golden -args -cudabundle "$out" -cudafakes=$fakes
cp scripts/gpu-check.sh "$out/"
# PyTorch's figures for the same networks on the same GPU, for comparison.
cat > "$out/bench.py" <<'PY'
"""Training steps per second in PyTorch, for the networks gpu-check.sh times in Go.

Each step is what nngen's TrainStep does: forward, loss, backward, optimizer
step, and the loss read back to the host (loss.item(), which waits for the GPU).
"""
import sys
import time

import torch


def bench(name, sizes, acts, loss_fn, optimizer, batch, device, steps):
    torch.manual_seed(0)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(acts) and acts[i]:
            layers.append(acts[i]())
    model = torch.nn.Sequential(*layers).to(device)
    opt = optimizer(model.parameters())
    x = torch.rand(batch, sizes[0], device=device) * 2 - 1
    if isinstance(loss_fn, torch.nn.CrossEntropyLoss):
        y = torch.randint(0, sizes[-1], (batch,), device=device)
    else:
        y = torch.rand(batch, sizes[-1], device=device)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(min(10, steps)):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    rate = steps / (time.perf_counter() - start)
    print(f"pytorch {device} {name}: {rate:.1f} steps/s", flush=True)


def main():
    devices = ["cuda"] if torch.cuda.is_available() else []
    if not devices:
        print("pytorch: no CUDA device", flush=True)
    print(f"torch {torch.__version__}, tf32 matmul {torch.backends.cuda.matmul.allow_tf32}", flush=True)
    for device in devices + ["cpu"]:
        cpu = device == "cpu"
        bench("mlp1024 (1024-1024-1024-10 tanh, cross-entropy, sgd momentum, batch 1024)",
              [1024, 1024, 1024, 10], [torch.nn.Tanh, torch.nn.Tanh], torch.nn.CrossEntropyLoss(),
              lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9), 1024, device, 5 if cpu else 200)
        bench("tutorial (4-5-7-3 sigmoid, mse, sgd, one sample)",
              [4, 5, 7, 3], [torch.nn.Sigmoid, torch.nn.Sigmoid], torch.nn.MSELoss(),
              lambda p: torch.optim.SGD(p, lr=0.3), 1, device, 2000)


if __name__ == "__main__":
    sys.exit(main())
PY
chmod +x "$out/gpu-check.sh" "$out"/tests/*/gpu.test
{ git rev-parse --short HEAD 2>/dev/null || echo unknown; } | tr -d '\n' > "$out/REVISION"
[ -z "$(git status --porcelain 2>/dev/null)" ] || printf '+uncommitted changes' >> "$out/REVISION"
echo "built $out ($(du -sh "$out" | cut -f1)); on the GPU machine run: bash $(basename "$out")/gpu-check.sh"

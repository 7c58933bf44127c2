#!/usr/bin/env bash
# gpu-dist-check.sh checks runtime/dist's NCCL path on a machine with NVIDIA
# GPUs: examples/dataparallel -gpu trains 20 steps of gpu.nn on 2 ranks,
# one GPU each, the gradients all-reduced in device memory by NCCL, and
# rank 0 compares the parameters with one process trained on the CPU on the
# whole batches (-verify, within 1e-5 of the largest: the GPU's kernels
# round differently from the CPU's). From the repository's root:
#
#   bash scripts/gpu-dist-check.sh          # needs 2 GPUs, libnccl.so.2, mpirun
#   bash scripts/gpu-dist-check.sh --fake   # a dry run anywhere: fake libcuda and libnccl, built with g++
#
# NCCL refuses two ranks on one GPU ("Duplicate GPU detected"), so the
# 2-rank check needs 2 GPUs; with one, it runs 1 rank through NCCL (a
# communicator of one: the real library's calls, in place on device
# memory, on the model's stream) and says that the 2-rank check was not
# run. Each rank sees one GPU: CUDA_VISIBLE_DEVICES is its local rank.
# Go builds the example (CGO_ENABLED=0); DATAPARALLEL=path runs a binary
# built elsewhere instead. The exit status is 1 when a check failed.
set -uo pipefail
cd "$(dirname "$0")/.."
fake=false
[ "${1:-}" = --fake ] && fake=true
failed=()
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT

echo "== nngen distributed GPU check, $(git rev-parse --short HEAD 2>/dev/null), $(date -u +%Y-%m-%dT%H:%MZ)"
exe=${DATAPARALLEL:-}
if [ -z "$exe" ]; then
  exe=$bin/dataparallel
  CGO_ENABLED=0 go build -o "$exe" ./examples/dataparallel || exit 1
fi
if $fake; then
  emulation=$PWD/cudagen/emulation
  g++ -std=c++17 -O1 -shared -fPIC -fvisibility=hidden -I "$emulation" -include nngen_emu.h \
    -DNNGEN_MODEL="\"$PWD/examples/dataparallel/gpumodel/gpu/model.cu\"" "$emulation/fakecuda.cc" -o "$bin/libcuda.so.1" || exit 1
  g++ -std=c++17 -O1 -shared -fPIC -fvisibility=hidden runtime/dist/testdata/fakenccl.cc -o "$bin/libnccl.so.2" || exit 1
  export NNGEN_LIBCUDA=$bin/libcuda.so.1 NNGEN_LIBNCCL=$bin/libnccl.so.2
  gpus=2
else
  nvidia-smi -L || echo "nvidia-smi: not found"
  gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')
  ldconfig -p | grep -m1 libnccl.so.2 || echo "libnccl.so.2 is not in the loader's cache (NNGEN_LIBNCCL=${NNGEN_LIBNCCL:-unset})"
fi
mpirun --version 2>/dev/null | head -1 || { echo "FAIL no mpirun: apt-get install openmpi-bin"; exit 1; }
root=()
[ "$(id -u)" = 0 ] && root=(--allow-run-as-root)

# rank runs the example as one rank, on the GPU of its local rank.
cat >"$bin/rank" <<'RANK'
#!/bin/sh
CUDA_VISIBLE_DEVICES=${OMPI_COMM_WORLD_LOCAL_RANK:-0} exec "$@"
RANK
chmod +x "$bin/rank"

check() { # name, what its success prints, ranks, arguments...
  local name=$1 success=$2 ranks=$3
  shift 3
  echo "== $name"
  if timeout 300 mpirun -np "$ranks" --oversubscribe "${root[@]}" -x UCX_ERROR_SIGNALS= -x NNGEN_LIBCUDA -x NNGEN_LIBNCCL \
    "$bin/rank" "$exe" "$@" 2>&1 | tee "$bin/log" | grep -v '^step '; then
    grep -q "$success" "$bin/log" && echo "ok   $name" && return
  fi
  echo "FAIL $name"; failed+=("$name")
}

check "1 rank through NCCL on the GPU, against the CPU" "differ by" 1 -gpu -steps 20 -verify -tolerance 1e-5
if [ "$gpus" -ge 2 ]; then
  check "2 ranks through NCCL, a GPU each, against one process on the CPU" "differ by" 2 -gpu -steps 20 -verify -tolerance 1e-5
else
  echo "== 2 ranks through NCCL: not run, $gpus GPU(s) here (NCCL takes one GPU per rank)"
fi
check "2 ranks through MPI on the CPU, against one process" "differ by" 2 -steps 20 -verify -tolerance 1e-6
check "all-reduce of 4 MiB through MPI" "mean of 200" 2 -allreduce 200

if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "all checks passed"

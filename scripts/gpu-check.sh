#!/usr/bin/env bash
# gpu-check.sh checks nngen's CUDA output on a machine with an NVIDIA GPU.
# It runs inside the folder that scripts/gpu-bundle.sh built (the machine
# needs the NVIDIA driver; ptxas, from the CUDA toolkit, and PyTorch are
# used when present; Go is not needed):
#
#   bash gpu-bundle/gpu-check.sh
#
# 1. ptxas assembles every model.ptx for sm_80 and sm_90;
# 2. every network's parity test runs on the GPU (NNGEN_TEST_DEVICE=gpu):
#    Auto must pick the GPU, and every step's outputs, loss, gradients,
#    parameters and optimizer state must equal the CPU package's within
#    1e-5 relative (float32; 1e-10 float64), and PyTorch's trace where there
#    is one; mlp1024 is 1024-1024-1024-10 at batch 1024;
# 3. training steps per second: GPU and CPU path in Go, and PyTorch on the
#    same GPU (bench.py).
# Everything is also written to results.txt. The exit status is 1 when a
# check failed.
set -uo pipefail
cd "$(dirname "$0")"
exec > >(tee results.txt) 2>&1
[ -d /usr/local/cuda/bin ] && PATH=$PATH:/usr/local/cuda/bin
failed=()

# device runs a test binary on the GPU. With --fake (a dry run of this
# script on a machine without a GPU), each test folder must hold a fake
# libcuda.so.1 built from its model.cu (cudagen/emulation/fakecuda.cc).
fake=false
[ "${1:-}" = --fake ] && fake=true
device() {
  if $fake; then
    NNGEN_TEST_DEVICE=gpu NNGEN_LIBCUDA=$PWD/libcuda.so.1 "$@"
  else
    NNGEN_TEST_DEVICE=gpu "$@"
  fi
}

echo "== nngen GPU check, revision $(cat REVISION 2>/dev/null), $(date -u +%Y-%m-%dT%H:%MZ)"
nvidia-smi -L 2>/dev/null || echo "nvidia-smi: not found"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null
echo "CPU: $(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2-), $(nproc) threads"

echo "== 1. ptxas"
if command -v ptxas >/dev/null; then
  ptxas --version | tail -1
  for ptx in tests/*/model.ptx; do
    for arch in sm_80 sm_90; do
      if ptxas -arch=$arch "$ptx" -o /dev/null; then
        echo "ok   $ptx $arch"
      else
        echo "FAIL $ptx $arch"; failed+=("ptxas $ptx $arch")
      fi
    done
  done
elif $fake; then
  echo "ptxas not found (dry run)"
else
  echo "FAIL ptxas not found: put CUDA's bin folder on the PATH"; failed+=("ptxas not found")
fi

echo "== 2. parity on the GPU"
for dir in tests/*/; do
  name=$(basename "$dir")
  if (cd "$dir" && device ./gpu.test -test.v -test.count=1 -test.timeout=30m >parity.log 2>&1); then
    grep -E "parity_test.go:[0-9]+: (Auto|.*max error)" "$dir/parity.log" | sed 's/^ *//'
    echo "ok   $name"
  else
    grep -E "parity_test.go|--- FAIL|panic|rror" "$dir/parity.log" | head -20
    echo "FAIL $name (all output: $dir/parity.log)"; failed+=("parity $name")
  fi
done

echo "== 3. training steps per second"
bench() { # dir, benchmark, iterations
  (cd "tests/$1" && device ./gpu.test -test.run '^$' -test.bench "^$2\$" -test.benchtime "$3" -test.timeout=30m 2>&1) |
    awk -v net="$1" '/steps\/s/ { for (i = 1; i <= NF; i++) if ($(i+1) == "steps/s") printf "nngen %s %s: %s steps/s (%s ns/step)\n", net, $1, $i, $3 } /FAIL|panic/ { print }'
}
bench mlp1024 BenchmarkTrainStepGPU 200x
bench mlp1024 BenchmarkTrainStepCPU 3x
bench seedf32 BenchmarkTrainStepGPU 2000x
bench seedf32 BenchmarkTrainStepCPU 200000x
if python3 -c "import torch" 2>/dev/null; then
  python3 bench.py || failed+=("bench.py")
else
  echo "PyTorch not found: no comparison"
fi

echo "== summary"
if [ ${#failed[@]} -eq 0 ]; then
  echo "all checks passed"
else
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi

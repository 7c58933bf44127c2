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
#    is one; mlp1024 is 1024-1024-1024-10 at batch 1024. Each runs on the
#    paths a gpu package takes (docs/cuda.md): cublas (the products through
#    cuBLAS, the phases without scalars replayed as CUDA graphs: the
#    default), cublas-nographs (NNGEN_CUDA_GRAPHS=off) and kernels (nngen's
#    own kernels, NNGEN_CUBLAS=off, as without cuBLAS); mlp1024, whose CPU
#    side takes a minute, on cublas and kernels only;
# 3. training steps per second: the GPU paths and the CPU path in Go, and
#    PyTorch on the same GPU (bench.py).
# cuBLAS is libcublas.so.12 where the loader finds it, else the one in
# /usr/local/cuda or in PyTorch's nvidia-cublas package, else
# $NNGEN_LIBCUBLAS when set. Everything is also written to results.txt.
# The exit status is 1 when a check failed.
set -uo pipefail
cd "$(dirname "$0")"
exec > >(tee results.txt) 2>&1
[ -d /usr/local/cuda/bin ] && PATH=$PATH:/usr/local/cuda/bin
failed=()

# device runs a test binary on the GPU, on a path (see above). With --fake
# (a dry run of this script on a machine without a GPU), each test folder
# must hold a fake libcuda.so.1 built from its model.cu, and the bundle a
# fake libcublas.so.12 (cudagen/emulation; gpu-bundle.sh --fake builds
# them); networks missing from the bundle are then skipped.
fake=false
[ "${1:-}" = --fake ] && fake=true
paths=(cublas cublas-nographs kernels)
device() { # path, command...
  local path=$1 env=(NNGEN_TEST_DEVICE=gpu)
  shift
  case $path in
    cublas) env+=(NNGEN_TEST_BLAS=cublas NNGEN_TEST_GRAPHS=on) ;;
    cublas-nographs) env+=(NNGEN_TEST_BLAS=cublas NNGEN_CUDA_GRAPHS=off NNGEN_TEST_GRAPHS=off) ;;
    kernels) env+=(NNGEN_CUBLAS=off NNGEN_TEST_BLAS=kernels NNGEN_TEST_GRAPHS=on) ;;
  esac
  $fake && env+=(NNGEN_LIBCUDA=$PWD/libcuda.so.1)
  env "${env[@]}" "$@"
}

# cuBLAS for the cublas paths, where the dynamic loader would not find it.
if $fake; then
  export NNGEN_LIBCUBLAS=$PWD/libcublas.so.12
elif [ -z "${NNGEN_LIBCUBLAS:-}" ] && ! ldconfig -p 2>/dev/null | grep -q 'libcublas\.so\.12 '; then
  for lib in /usr/local/cuda/lib64/libcublas.so.12 \
    "$(python3 -c 'import nvidia.cublas as c, os; print(os.path.join(list(c.__path__)[0], "lib", "libcublas.so.12"))' 2>/dev/null)"; do
    if [ -n "$lib" ] && [ -e "$lib" ]; then
      export NNGEN_LIBCUBLAS=$lib
      # libcublasLt.so.12 lies beside it.
      export LD_LIBRARY_PATH=$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
      break
    fi
  done
fi

echo "== nngen GPU check, revision $(cat REVISION 2>/dev/null), $(date -u +%Y-%m-%dT%H:%MZ)"
nvidia-smi -L 2>/dev/null || echo "nvidia-smi: not found"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null
echo "CPU: $(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2-), $(nproc) threads"
echo "cuBLAS: ${NNGEN_LIBCUBLAS:-libcublas.so.12 on the loader path}"

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
  for path in "${paths[@]}"; do
    [ "$name" = mlp1024 ] && [ "$path" = cublas-nographs ] && continue
    log=$dir/parity-$path.log
    if (cd "$dir" && device "$path" ./gpu.test -test.v -test.count=1 -test.timeout=30m >"parity-$path.log" 2>&1); then
      grep -E "parity_test.go:[0-9]+: (Auto|.*max error)" "$log" | sed 's/^ *//'
      echo "ok   $name $path"
    else
      grep -E "parity_test.go|--- FAIL|panic|rror" "$log" | head -20
      echo "FAIL $name $path (all output: $log)"; failed+=("parity $name $path")
    fi
  done
done

echo "== 3. training steps per second"
bench() { # net, benchmark, iterations, path (none for the CPU)
  if [ ! -d "tests/$1" ]; then
    if $fake; then echo "nngen $1: not in the bundle (dry run)"; else echo "FAIL nngen $1: not in the bundle"; failed+=("bench $1"); fi
    return
  fi
  (cd "tests/$1" && device "${4:-cublas}" ./gpu.test -test.run '^$' -test.bench "^$2\$" -test.benchtime "$3" -test.timeout=30m 2>&1) |
    awk -v net="$1" -v path="${4:+ $4}" '/steps\/s/ { sub(/-[0-9]+$/, "", $1); for (i = 1; i <= NF; i++) if ($(i+1) == "steps/s") printf "nngen %s %s%s: %s steps/s (%s ns/step)\n", net, $1, path, $i, $3 } /FAIL|panic/ { print }'
}
for path in "${paths[@]}"; do
  bench mlp1024 BenchmarkTrainStepGPU 200x "$path"
  bench seedf32 BenchmarkTrainStepGPU 2000x "$path"
done
bench mlp1024 BenchmarkTrainStepCPU 3x
bench seedf32 BenchmarkTrainStepCPU 200000x
if [ -f bench.py ] && python3 -c "import torch" 2>/dev/null; then
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

#!/usr/bin/env bash
# Runs nngen's workload benchmarks and the same workloads in PyTorch, side by
# side in one run, and prints a table of times and ratios.
#
#   bash bench/compare.sh            # one thread (GOMAXPROCS=1, torch 1 thread)
#   THREADS=2 bash bench/compare.sh  # two cores: GOMAXPROCS=2; torch 1 thread + 2 OpenBLAS threads
#
# PyTorch is Debian's python3-torch (apt-get install python3-torch). Its
# OpenBLAS does not recognise this CPU and falls back to slow kernels, so we
# run it with OPENBLAS_CORETYPE=SkylakeX: PyTorch at its best.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-1}
benchtime=${BENCHTIME:-2s}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(go version | cut -d' ' -f3)"
echo "threads: $threads (nngen GOMAXPROCS=$threads; PyTorch torch.set_num_threads(1), OPENBLAS_NUM_THREADS=$threads, OPENBLAS_CORETYPE=SkylakeX)"

go_out=$(GOMAXPROCS=$threads go test ./bench -run '^$' -bench . -benchtime "$benchtime" -count 1 | grep '^Benchmark')
python=${PYTHON:-/usr/bin/python3}
py_out=$(OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=1 \
	"$python" -c 'import torch; torch.set_num_threads(1); exec(open("bench/torch_bench.py").read())')

printf '\n%-22s %14s %14s %10s %12s\n' workload "nngen" "PyTorch" "speedup" "nngen GFLOP/s"
while read -r name us; do
	line=$(echo "$go_out" | grep -E "^Benchmark${name}(-[0-9]+)?[[:space:]]" || true)
	[ -n "$line" ] || continue
	ns=$(echo "$line" | awk '{print $3}')
	gflops=$(echo "$line" | awk '{for (i=1;i<=NF;i++) if ($(i+1)=="GFLOP/s") print $i}')
	awk -v n="$name" -v ns="$ns" -v us="$us" -v g="$gflops" 'BEGIN {
		go = ns / 1000
		printf "%-22s %12.3f us %12.3f us %9.1fx %12s\n", n, go, us, us / go, g
	}'
done <<<"$py_out"

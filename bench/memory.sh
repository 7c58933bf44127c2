#!/usr/bin/env bash
# Memory of the bench/ workloads: what nngen's generated Model holds next to
# the minimum (parameters, gradients, optimizer state and the planned
# activation slots), and the resident memory a training process gains, next
# to PyTorch's for the same workload (over `import torch`).
#
#   bash bench/memory.sh              # nngen at GOMAXPROCS=1 and GOMAXPROCS=$(nproc)
#   PROCS="1 4" bash bench/memory.sh  # other GOMAXPROCS values
#
# The pool of a generated model has one GEMM workspace per GOMAXPROCS, so
# nngen's bytes depend on it; PyTorch runs with torch.set_num_threads(1).
# See bench/memory_test.go and bench/torch_memory.py for what is measured.
# PyTorch is set up and its BLAS checked as for compare.sh (bench/lib.sh):
# the script stops before measuring when it is not an optimised BLAS.
set -euo pipefail
cd "$(dirname "$0")/.."
procs=${PROCS:-"1 $(nproc)"}
python=${PYTHON:-/usr/bin/python3}

echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(go version | cut -d' ' -f3)"
. bench/lib.sh
torch_setup "$python" 1
echo "revision: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo '+uncommitted changes')"

rows=""
for p in $(echo "$procs" | tr ' ' '\n' | awk '!seen[$0]++'); do
	echo
	echo "== go test ./bench -run TestMemoryReport -v (GOMAXPROCS=$p)"
	out=$(GOMAXPROCS=$p go test ./bench -run '^TestMemoryReport$' -count 1 -v 2>&1) || {
		echo "$out"
		exit 1
	}
	echo "$out"
	rows+=$(echo "$out" | grep -E '^[[:space:]]+ROW ' | sed 's/^[[:space:]]*//')$'\n'
done

echo
echo "== $python bench/torch_memory.py (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1)"
py_out=$(OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$python" bench/torch_memory.py)
echo "$py_out"

echo
echo "model: unsafe.Sizeof(Model{}) + the GEMM workspace and the pool's worker workspaces it owns"
echo "minimum: parameters + gradients + optimizer state + hyperparameters + the buffer plan's slots"
echo "RSS growth: VmRSS after New (nngen) or model + optimizer (PyTorch), the inputs and 3 training steps,"
echo "  less VmRSS before (nngen: the fresh test binary; PyTorch: the process after import torch); peak: VmHWM"
awk -v rows="$rows" -v py="$py_out" '
function h(b) {
	if (b < 1048576) return sprintf("%.1f KiB", b / 1024)
	return sprintf("%.2f MiB", b / 1048576)
}
function val(line, key,   i, n, f, kv) {
	n = split(line, f, " ")
	for (i = 1; i <= n; i++) {
		split(f[i], kv, "=")
		if (kv[1] == key) return kv[2]
	}
	return ""
}
BEGIN {
	n = split(py, pl, "\n")
	for (i = 1; i <= n; i++) {
		split(pl[i], f, " ")
		pgrowth[f[1]] = val(pl[i], "growth") * 1024
		ppeak[f[1]] = val(pl[i], "peak") * 1024
	}
	printf "%-26s %12s %12s %6s %8s %17s %15s %16s\n", "workload", "nngen model", "minimum", "ratio", "≤ 1.10?", "nngen RSS growth", "PyTorch growth", "PyTorch peak RSS"
	n = split(rows, rl, "\n")
	for (i = 1; i <= n; i++) {
		if (rl[i] == "") continue
		split(rl[i], f, " ")
		name = f[2]
		label = name " (GOMAXPROCS=" val(rl[i], "procs") ")"
		ratio = val(rl[i], "ratio")
		printf "%-26s %12s %12s %6s %8s %17s %15s %16s\n", label, h(val(rl[i], "model")), h(val(rl[i], "minimum")),
			ratio, (ratio <= 1.10 ? "met" : "missed"), h(val(rl[i], "rssgrowth")),
			(name in pgrowth ? h(pgrowth[name]) : "-"), (name in ppeak ? h(ppeak[name]) : "-")
	}
}'

#!/usr/bin/env bash
# Runs nngen's workload benchmarks and the same workloads in PyTorch, side by
# side, and prints a table of times and ratios; and the forward passes in
# ONNX Runtime, the inference engine users would pick instead (the npm
# package onnxruntime-node's CPU library, installed once into
# ~/.cache/nngen/ort where node and npm are found; ORT_VERSION picks another
# version), in the last columns.
#
#   bash bench/compare.sh            # one thread (GOMAXPROCS=1, torch 1 thread)
#   THREADS=2 bash bench/compare.sh  # two cores: GOMAXPROCS=2; PyTorch the faster of torch 1 thread +
#                                     # 2 OpenBLAS threads and 2 torch threads + 1 OpenBLAS thread
#   ROUNDS=5 BENCHTIME=2s bash bench/compare.sh
#   WORKLOADS="W3 W4" ROUNDS=9 bash bench/compare.sh   # some workloads only
#   CORETYPE=Zen bash bench/compare.sh   # another OpenBLAS core type (CORETYPE= OpenBLAS's own)
#
# The two sides alternate for ROUNDS rounds (default 3), so a slow spell of
# the machine (a shared host's neighbours) falls on both; the table shows
# each side's median over the rounds, their ratio, and the lowest and
# highest ratio of a single round. With THREADS > 1 each round also runs
# nngen on one core, and the last columns are its one-core median over its
# THREADS-core median, and that ratio's lowest and highest in a single
# round: on a shared host the second core's speed comes and goes.
#
# PyTorch is Debian's python3-torch with OpenBLAS (libopenblas0-pthread),
# installed where missing, on the OpenBLAS core type fastest for this CPU
# (bench/lib.sh). The script first prints the BLAS PyTorch loaded, its core
# type and its sgemm GFLOP/s, and stops there on the reference BLAS or a slow
# sgemm: against those, ratios would measure the BLAS, not nngen.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-1}
benchtime=${BENCHTIME:-1s}
rounds=${ROUNDS:-3}
workloads=${WORKLOADS:-}
pattern=.
[ -n "$workloads" ] && pattern="^Benchmark($(echo "$workloads" | tr ' ' '|'))\$"
python=${PYTHON:-/usr/bin/python3}

. bench/lib.sh

# PyTorch (and ONNX Runtime) at their best: glibc's malloc returns large
# blocks to the system with munmap and maps them again on the next step, and
# its threshold for that rises only after large frees, so PyTorch ran the
# transformer 2-3x slower alone (WORKLOADS=Transformer) than after W4 had
# raised it. These keep every step's tensors in the heap from the start.
# nngen allocates nothing per step and is not affected.
export MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-67108864} MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-134217728}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(go version | cut -d' ' -f3)"
torch_setup "$python" "$threads"
echo "threads: $threads (nngen GOMAXPROCS=$threads; PyTorch torch.set_num_threads(1), OPENBLAS_NUM_THREADS=$threads, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
[ "$threads" != 1 ] && echo "         and PyTorch again with torch.set_num_threads($threads), OPENBLAS_NUM_THREADS=1: each row takes the faster of the two (* where the second)"
echo "rounds: $rounds, benchtime $benchtime; malloc: MALLOC_MMAP_THRESHOLD_=$MALLOC_MMAP_THRESHOLD_ MALLOC_TRIM_THRESHOLD_=$MALLOC_TRIM_THRESHOLD_"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ), revision: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- . 2>/dev/null || echo '+uncommitted changes')"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# ONNX Runtime beside PyTorch, forward only: the workloads exported by
# ort_export.py, run by ort_bench.js with ORT_THREADS=$threads intra-op threads.
ort=$(ort_setup)
if [ -n "$ort" ] && "$python" bench/ort_export.py "$tmp/onnx" $workloads >/dev/null 2>"$tmp/ort_export.log"; then
	echo "onnxruntime: onnxruntime-node $(cat "$ort/../version") (its CPU library, through Node.js $(node --version)), $threads intra-op thread(s), the models exported by bench/ort_export.py (opset 17)"
else
	[ -n "$ort" ] && { echo "onnxruntime: ort_export.py failed:"; tail -3 "$tmp/ort_export.log"; }
	[ -z "$ort" ] && echo "onnxruntime: left out (needs node and npm to install onnxruntime-node)"
	ort=""
fi
go test -c -o "$tmp/bench.test" ./bench
# The yardstick of the GFLOP/s column: one core's FMA peak (BenchmarkPeak,
# the widest vectors this CPU runs), the best of three runs.
go test -c -o "$tmp/kernels.test" ./runtime/kernels
peak=$("$tmp/kernels.test" -test.run '^$' -test.bench 'BenchmarkPeak' -test.count 3 2>/dev/null |
	awk '/GFLOP\/s/ { for (i = 1; i <= NF; i++) if ($(i+1) == "GFLOP/s" && $i + 0 > best + 0) best = $i } END { print best + 0 }')
echo "FMA peak: $peak GFLOP/s per core (runtime/kernels BenchmarkPeak); % peak is nngen's GFLOP/s over $threads core(s)' peak"
for r in $(seq "$rounds"); do
	GOMAXPROCS=$threads "$tmp/bench.test" -test.run '^$' -test.bench "$pattern" -test.benchtime "$benchtime" |
		awk -v r="$r" '/^Benchmark/ {
			name = substr($1, 10); sub(/-[0-9]+$/, "", name)
			g = ""; for (i = 1; i <= NF; i++) if ($(i+1) == "GFLOP/s") g = $i
			print "go", r, name, $3 / 1000, g
		}' >>"$tmp/results"
	if [ "$threads" != 1 ]; then # nngen's own one-core time, for the scaling column
		GOMAXPROCS=1 "$tmp/bench.test" -test.run '^$' -test.bench "$pattern" -test.benchtime "$benchtime" |
			awk -v r="$r" '/^Benchmark/ { name = substr($1, 10); print "go1", r, name, $3 / 1000 }' >>"$tmp/results"
	fi
	OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=1 \
		"$python" -c 'import torch; torch.set_num_threads(1); exec(open("bench/torch_bench.py").read())' $workloads |
		awk -v r="$r" '{print "py", r, $1, $2}' >>"$tmp/results"
	if [ -n "$ort" ]; then
		ORT_THREADS=$threads NODE_PATH="$ort" node bench/ort_bench.js "$tmp/onnx" $workloads |
			awk -v r="$r" '{print "ort", r, $1, $2}' >>"$tmp/results"
	fi
	if [ "$threads" != 1 ]; then # PyTorch's other way to use the cores: its own threads (oneDNN's convolutions)
		OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=$threads \
			"$python" -c "import torch; torch.set_num_threads($threads); exec(open('bench/torch_bench.py').read())" $workloads |
			awk -v r="$r" '{print "pyt", r, $1, $2}' >>"$tmp/results"
	fi
done

scaling=""
[ "$threads" != 1 ] && scaling="nngen 1 core/$threads   round range"
printf '\n%-22s %14s %14s %9s %15s %14s %7s %14s %8s %s\n' workload "nngen" "PyTorch" "speedup" "round range" "nngen GFLOP/s" "% peak" "ONNX Runtime" "vs ORT" "$scaling"
awk -v peak="$peak" -v threads="$threads" '
function roundRange(num, w,   key, k, q) { # lo and hi: the lowest and highest num[w, r] / go1[w, r] over the rounds r
	lo = hi = ""
	for (key in num) {
		split(key, k, SUBSEP)
		if (k[1] != w || !((w, k[2]) in go1)) continue
		q = num[key] / go1[w, k[2]]
		if (lo == "" || q < lo) lo = q
		if (hi == "" || q > hi) hi = q
	}
}
function median(list,   n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
$1 == "go" { gov[$3] = gov[$3] " " $4; gf[$3] = gf[$3] " " $5; go1[$3, $2] = $4 }
$1 == "go1" { one[$3] = one[$3] " " $4; one1[$3, $2] = $4 }
$1 == "py" { if (!($3 in pyv)) order[++n] = $3; pyv[$3] = pyv[$3] " " $4; py1[$3, $2] = $4 }
$1 == "pyt" { pyt[$3] = pyt[$3] " " $4; pyt1[$3, $2] = $4 }
$1 == "ort" { ortv[$3] = ortv[$3] " " $4 }
END {
	for (i = 1; i <= n; i++) {
		w = order[i]
		if (!(w in gov)) continue
		if ((w in pyt) && median(pyt[w]) < median(pyv[w])) { # PyTorch at its best: its threads won
			pyv[w] = pyt[w]
			for (key in pyt1) { split(key, k, SUBSEP); if (k[1] == w) py1[key] = pyt1[key] }
			best[w] = "*"
		}
		roundRange(py1, w)
		g = median(gov[w]); p = median(pyv[w])
		printf "%-22s %11.3f us %11.3f us %8.1fx %6.1fx-%6.1fx %14.1f %6.0f%%", w, g, p, p / g, lo, hi, median(gf[w]), (peak > 0 ? 100 * median(gf[w]) / (peak * threads) : 0)
		if (w in ortv) printf " %11.3f us %7.2fx", median(ortv[w]), median(ortv[w]) / g
		else printf " %14s %8s", "-", "-"
		if (w in one) { # the median ratio, and its lowest and highest in a single round
			roundRange(one1, w)
			printf " %14.2fx %5.2fx-%5.2fx", median(one[w]) / g, lo, hi
		}
		if (w in best) printf "  *"
		printf "\n"
	}
	if ("ORT/Call" in ortv) printf "\nONNX Runtime: times less its cost per call through the Node.js binding, %.1f us (the run of one Add of one number; median over the rounds)\n", median(ortv["ORT/Call"])
}' "$tmp/results"

#!/usr/bin/env bash
# Compares nngen's benchmarks at two revisions, before and after a change:
# builds a package's test binary at each (in a temporary git worktree, or
# from the working tree for "."), runs the two alternately for ROUNDS rounds,
# so that a slow spell of a shared host falls on both, and prints each
# benchmark's median and fastest time on either side and their ratios.
#
#   bash bench/ab.sh 5ccfdbd                  # 5ccfdbd against the working tree, every workload
#   bash bench/ab.sh 5ccfdbd HEAD '^BenchmarkW[34]$'
#   ROUNDS=5 GOMAXPROCS=2 bash bench/ab.sh HEAD~1 . 'W3/TrainStep'
#   PKG=./runtime/kernels bash bench/ab.sh HEAD~1 . 'Gemm32/avx512/.*/1024$|Peak/zmm'
#
# ROUNDS (default 3), BENCHTIME (1s), GOMAXPROCS (1) and PKG (./bench) set
# the runs. Against PyTorch and ONNX Runtime, bench/compare.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: bash bench/ab.sh REVISION [REVISION|.] [BENCHMARK_REGEXP]"
[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
revs=("$1" "${2:-.}")
pattern=${3:-.}
rounds=${ROUNDS:-3}
benchtime=${BENCHTIME:-1s}
pkg=${PKG:-./bench}
export GOMAXPROCS=${GOMAXPROCS:-1}

tmp=$(mktemp -d)
cleanup() {
	for side in 0 1; do
		[ -d "$tmp/tree$side" ] && git worktree remove --force "$tmp/tree$side" 2>/dev/null
	done
	rm -rf "$tmp"
	git worktree prune
}
trap cleanup EXIT

for side in 0 1; do
	rev=${revs[$side]}
	if [ "$rev" = . ]; then
		go test -c -o "$tmp/bench$side.test" "$pkg"
		label[$side]="working tree"
	else
		git worktree add --detach -q "$tmp/tree$side" "$rev"
		(cd "$tmp/tree$side" && go test -c -o "$tmp/bench$side.test" "$pkg")
		label[$side]=$(git rev-parse --short "$rev")
	fi
done

echo "A: ${label[0]}, B: ${label[1]}; $pkg, GOMAXPROCS=$GOMAXPROCS, $rounds rounds of -test.benchtime $benchtime, alternating"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), date: $(date -u +%Y-%m-%dT%H:%MZ)"
for r in $(seq "$rounds"); do
	for side in 0 1; do
		"$tmp/bench$side.test" -test.run '^$' -test.bench "$pattern" -test.benchtime "$benchtime" |
			awk -v side="$side" '/^Benchmark/ && $4 == "ns/op" { name = $1; sub(/-[0-9]+$/, "", name); print side, name, $3 }' >>"$tmp/results"
	done
done

printf '\n%-44s %14s %14s %8s %14s %14s %8s\n' benchmark "A median ns" "B median ns" "B/A" "A fastest" "B fastest" "B/A"
awk '
function median(list,   n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
{
	if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
	times[$1, $2] = times[$1, $2] " " $3
	if (!(($1, $2) in best) || $3 + 0 < best[$1, $2] + 0) best[$1, $2] = $3
}
END {
	for (i = 1; i <= n; i++) {
		w = order[i]
		if (!((0, w) in best) || !((1, w) in best)) continue # in one revision only
		a = median(times[0, w]); b = median(times[1, w])
		printf "%-44s %14.1f %14.1f %8.3f %14.1f %14.1f %8.3f\n", w, a, b, b / a, best[0, w], best[1, w], best[1, w] / best[0, w]
	}
}' "$tmp/results"

# The PyTorch that compare.sh and memory.sh put next to nngen, sourced by both:
#
#   . bench/lib.sh
#   torch_setup "$python" "$openblas_threads"   # exits when PyTorch's BLAS is not an optimised one
#
# torch_setup installs Debian's PyTorch and OpenBLAS where they are missing,
# exports the OpenBLAS core type for this CPU and runs bench/torch_blas.py,
# which prints the BLAS PyTorch multiplies with, its core type and its sgemm
# GFLOP/s, and fails on the reference BLAS: python3-torch alone pulls in
# libblas3, whose sgemm runs at 6 GFLOP/s, and made nngen look 25-40x faster.

# torch_install installs python3-torch where python cannot import torch, and
# libopenblas0-pthread where it is not installed (it then becomes the
# libblas.so.3 alternative PyTorch loads, unless one was set by hand).
torch_install() {
	local python=$1 packages="" sudo=""
	"$python" -c 'import torch' 2>/dev/null || packages="python3-torch"
	dpkg-query -W -f '${Status}' libopenblas0-pthread 2>/dev/null | grep -q 'ok installed' ||
		packages+=" libopenblas0-pthread"
	[ -n "$packages" ] || return 0
	if ! command -v apt-get >/dev/null; then
		echo "no apt-get to install$packages: torch_blas.py judges the BLAS that $python loads" >&2
		return 0
	fi
	echo "installing$packages" >&2
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $packages >/dev/null
}

# openblas_coretype prints the OPENBLAS_CORETYPE for this CPU, or nothing to
# leave OpenBLAS its own choice. SkylakeX on Intel with AVX-512: Debian's
# OpenBLAS 0.3.21 does not recognise recent Xeons and falls back to slow
# kernels. On AMD its own choice was the fastest: Zen on Zen 4 (104 GFLOP/s,
# SkylakeX 100); Cooperlake on a Zen 5 EPYC (127-162 GFLOP/s per core on
# 1024x1024, SkylakeX 140-172, alternating; Haswell 92).
openblas_coretype() {
	if [ "$(cpu_field vendor_id)" = GenuineIntel ] && grep -qw avx512f /proc/cpuinfo; then
		echo SkylakeX
	fi
}

# cpu_field prints the first CPU's field of /proc/cpuinfo named $1.
cpu_field() {
	awk -F '\t*: ' -v key="$1" '$1 == key {print $2; exit}' /proc/cpuinfo
}

# torch_setup installs, sets OPENBLAS_CORETYPE for this CPU (CORETYPE=name
# picks another, CORETYPE= OpenBLAS's own; an OPENBLAS_CORETYPE inherited from
# the environment is replaced), prints the CPU and checks PyTorch's BLAS with
# threads OpenBLAS threads and one torch thread, as the comparisons run.
torch_setup() {
	local python=$1 threads=$2
	torch_install "$python"
	OPENBLAS_CORETYPE=${CORETYPE-$(openblas_coretype)}
	if [ -n "$OPENBLAS_CORETYPE" ]; then export OPENBLAS_CORETYPE; else unset OPENBLAS_CORETYPE; fi
	echo "cpu: $(cpu_field 'model name'), $(cpu_field vendor_id) family $(cpu_field 'cpu family') model $(cpu_field model)" \
		"$(grep -qw avx512f /proc/cpuinfo && echo with || echo without) AVX-512:" \
		"OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset (OpenBLAS chooses)}"
	OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=1 "$python" bench/torch_blas.py || exit 1
}

# ort_setup installs ONNX Runtime's CPU library for compare.sh: the npm
# package onnxruntime-node (ORT_VERSION, default 1.30.0) with
# --ignore-scripts (its install script fetches CUDA libraries; the CPU
# library is in the package), into $XDG_CACHE_HOME/nngen/ort (~/.cache),
# once. It prints that directory's node_modules, or nothing when node or
# npm is missing or the install fails (compare.sh then leaves ONNX Runtime
# out and says so).
ort_setup() {
	local dir=${XDG_CACHE_HOME:-$HOME/.cache}/nngen/ort version=${ORT_VERSION:-1.30.0}
	command -v node >/dev/null && command -v npm >/dev/null || return 0
	if [ "$(cat "$dir/version" 2>/dev/null)" != "$version" ]; then
		rm -rf "$dir" && mkdir -p "$dir"
		echo "installing onnxruntime-node@$version (npm, --ignore-scripts) into $dir" >&2
		npm install --prefix "$dir" --ignore-scripts --no-audit --no-fund --silent "onnxruntime-node@$version" >&2 || return 0
		echo "$version" >"$dir/version"
	fi
	echo "$dir/node_modules"
}

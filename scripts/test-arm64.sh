#!/usr/bin/env bash
# Tests nngen on other platforms without their machines, for CI
# (scripts/test.sh does not run it). The module must build and vet for
# linux/arm64; the tests of the runtime and the examples, and the PyTorch
# and ONNX parity traces, run as arm64 binaries under Debian's
# qemu-user-static, which this script installs when it is missing. The
# module must also build for WebAssembly (js and wasip1), and the runtime's
# tests run under Node.js when it is installed. See docs/platforms.md.
#
# From a fresh clone it took 5 minutes on 2 cores (warm build cache), about
# 3 of them the parity traces, whose float64 finite-difference checks cover
# 64 elements of each parameter under qemu (all of them on the host): see
# docs/platforms.md.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v qemu-aarch64-static >/dev/null; then
  echo "installing qemu-user-static for the arm64 tests" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq qemu-user-static >/dev/null
fi

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
export CGO_ENABLED=0

step() { echo "== $* (at ${SECONDS}s)"; }

# runtests PKG...: builds each package's tests for GOARCH=arm64 and runs
# them under qemu in the package's folder, as go test would (testdata).
runtests() {
  for pkg in "$@"; do
    step "arm64: $pkg"
    GOARCH=arm64 go test -c -o "$bin/test" "./$pkg"
    (cd "$pkg" && qemu-aarch64-static "$bin/test" -test.count=1)
  done
}

step "arm64: go build ./... and go vet ./..."
GOARCH=arm64 go build ./...
GOARCH=arm64 go vet ./...

# The kernels have no arm64 assembly: their tests run the pure-Go kernels,
# the code every platform but amd64 runs. (-tags noasm changes nothing here.)
runtests runtime/nnrt runtime/kernels runtime/safetensors examples/tutorial examples/digits examples/digits/digitsdata

for target in js/wasm wasip1/wasm; do
  step "$target: go build ./..."
  GOOS=${target%/*} GOARCH=${target#*/} go build ./...
done

# Go ships a wrapper that runs a js/wasm binary under Node.js.
exec_js="$(go env GOROOT)/lib/wasm/go_js_wasm_exec"
if command -v node >/dev/null && [ -x "$exec_js" ]; then
  for pkg in runtime/nnrt runtime/kernels runtime/safetensors; do
    step "js/wasm: $pkg tests under Node.js $(node --version)"
    GOOS=js GOARCH=wasm go test -c -o "$bin/test.wasm" "./$pkg"
    (cd "$pkg" && "$exec_js" "$bin/test.wasm" -test.count=1)
  done
else
  for pkg in runtime/nnrt runtime/kernels runtime/safetensors; do
    step "js/wasm: $pkg tests, built only: no Node.js to run them"
    GOOS=js GOARCH=wasm go test -c -o "$bin/test.wasm" "./$pkg"
  done
fi

# Last, as the longest: the golden package runs on the host and builds the
# packages it generates for arm64, running their tests under qemu
# (NNGEN_TEST_GOARCH, see golden/runner_test.go).
step "arm64: PyTorch and ONNX parity traces"
NNGEN_TEST_GOARCH=arm64 go test -count=1 -timeout 60m ./golden -run 'TestParity$|TestONNXTraces$'

step "arm64 and wasm tests passed"

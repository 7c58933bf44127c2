#!/usr/bin/env bash
# The test command of the README: installs what the tests need that Go does
# not fetch by itself (Debian's clang-16, which compiles the CUDA kernels to
# PTX, and g++, which runs them on the CPU under the emulation header),
# then runs every test. Arguments go to go test.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-16 >/dev/null || ! command -v g++ >/dev/null; then
  echo "installing clang-16 and g++ for the CUDA tests" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clang-16 g++ >/dev/null
fi
# The golden package compiles and runs a few hundred generated packages:
# minutes, past go test's default 10-minute limit on a slow machine.
go test -timeout 40m ./... "$@"

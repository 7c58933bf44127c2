#!/usr/bin/env bash
# The test command of the README: installs what the tests need that Go does
# not fetch by itself (Debian's clang-16, which compiles the CUDA kernels to
# PTX, g++, which runs them on the CPU under the emulation header, and
# Open MPI's openmpi-bin, whose mpirun starts the ranks of the data-parallel
# tests), then runs every test. Arguments go to go test.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-16 >/dev/null || ! command -v g++ >/dev/null || ! command -v mpirun >/dev/null; then
  echo "installing clang-16 and g++ for the CUDA tests, openmpi-bin for the data-parallel ones" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clang-16 g++ openmpi-bin >/dev/null
fi
# The golden package compiles and runs a few hundred generated packages:
# minutes, past go test's default 10-minute limit on a slow machine.
go test -timeout 40m ./... "$@"

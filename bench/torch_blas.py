#!/usr/bin/python3
"""Which BLAS PyTorch multiplies with, and how fast: the check that bench/lib.sh
runs before compare.sh and memory.sh put PyTorch's numbers next to nngen's.

Run it with the comparison's environment (OPENBLAS_CORETYPE,
OPENBLAS_NUM_THREADS; torch gets one thread, as in the comparisons). It prints
the library that libtorch's sgemm_ resolves to, its core type and its speed:

    blas: sgemm_ from /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 (package libopenblas0-pthread); ...
    openblas: core SkylakeX (OPENBLAS_CORETYPE=SkylakeX), 1 thread(s), OpenBLAS 0.3.21 ...
    sgemm: torch.mm of 1024x1024 float32, 1 OpenBLAS thread(s): 168.5 GFLOP/s per core (fastest call, ...

and exits 1, saying what was loaded and how to fix it, when PyTorch's sgemm_
comes from the reference BLAS (Debian's libblas3, about 6 GFLOP/s) or runs far
below what an optimised BLAS gives (MIN_GFLOPS): ratios against such a PyTorch
measure the BLAS, not nngen.
"""
import ctypes
import os
import re
import statistics
import subprocess
import sys
import sysconfig
import time

import torch

# GFLOP/s per core of the fastest call, in CPU time so that neighbours on a
# shared host do not count. On an AMD EPYC (Zen 5, OpenBLAS 0.3.21, a load
# of 13-20 on its 2 cores): SkylakeX and Cooperlake kernels 127-172,
# Haswell's 92, Sandybridge's (AVX) 89, Nehalem's (SSE) 34, Prescott's 24-33;
# the reference BLAS 3-6.
MIN_GFLOPS = 40

N = 1024
ARCH = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
ALTERNATIVE = f"libblas.so.3-{ARCH}"
OPENBLAS_ALTERNATIVE = f"/usr/lib/{ARCH}/openblas-pthread/libblas.so.3"
BLAS_NAME = re.compile(r"/lib(open)?blas[^/]*\.so|/libmkl[^/]*\.so|/libblis[^/]*\.so")


class DlInfo(ctypes.Structure):
    _fields_ = [("fname", ctypes.c_char_p), ("fbase", ctypes.c_void_p),
                ("sname", ctypes.c_char_p), ("saddr", ctypes.c_void_p)]


def mapped():
    """The shared libraries mapped into this process."""
    with open("/proc/self/maps") as f:
        return list(dict.fromkeys(line.split()[-1] for line in f if ".so" in line))


def sgemm_library(libs):
    """The library whose sgemm_ libtorch_cpu calls: dlsym from libtorch's
    handle resolves the symbol as its relocations did, in load order. None
    where libtorch does not call an sgemm_ from a shared library (MKL linked
    in statically)."""
    libtorch = next((p for p in libs if "/libtorch_cpu.so" in p), None)
    if libtorch is None:
        return None
    try:
        symbol = ctypes.CDLL(libtorch).sgemm_
        dladdr = ctypes.CDLL(None).dladdr  # in libc since glibc 2.34
    except AttributeError:
        return None
    dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(DlInfo)]
    info = DlInfo()
    if not dladdr(ctypes.cast(symbol, ctypes.c_void_p), ctypes.byref(info)):
        return None
    return os.path.realpath(info.fname.decode())


def run(*args):
    """The output of a command, or "" where it is missing or fails."""
    try:
        return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    except OSError:
        return ""


def package(path):
    """The Debian package that installed path, or None."""
    m = re.match(r"([^:\s]+)(:\S+)?: ", run("dpkg", "-S", path))
    return m and m.group(1)


def is_reference(path, pkg):
    # Debian installs the reference BLAS as blas/libblas.so.3.* (package libblas3).
    return pkg == "libblas3" or "/blas/libblas.so" in path


def openblas(path):
    """OpenBLAS's core type, threads and build of the library at path, or None."""
    try:
        lib = ctypes.CDLL(path)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        return (lib.openblas_get_corename().decode(), lib.openblas_get_num_threads(),
                lib.openblas_get_config().decode().strip())
    except (AttributeError, OSError):
        return None


def sgemm_gflops():
    """GFLOP/s of torch.mm on N×N float32 matrices, over at least 3 calls
    filling about a second: per core in the fastest call's CPU time (all
    OpenBLAS threads'), and in wall-clock time, the fastest and the median
    call; and the number of calls."""
    a, b = torch.rand(N, N), torch.rand(N, N)
    torch.mm(a, b)
    cpu, wall = [], []
    start = time.perf_counter()
    while len(wall) < 3 or time.perf_counter() - start < 1:
        t0, c0 = time.perf_counter(), time.process_time()
        torch.mm(a, b)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    flops = 2 * N**3 / 1e9
    return flops / max(min(cpu), 1e-9), flops / min(wall), flops / statistics.median(wall), len(wall)


def main():
    torch.set_num_threads(1)
    per_core, best, median, calls = sgemm_gflops()  # after a product every BLAS PyTorch uses is loaded
    libs = mapped()
    blas = sgemm_library(libs)
    candidates = [blas] if blas else [os.path.realpath(p) for p in libs if BLAS_NAME.search(p)]
    config = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    query = run("update-alternatives", "--query", ALTERNATIVE)
    status, value = (re.search(rf"^{k}: (.*)$", query, re.M) for k in ("Status", "Value"))

    described, reference = [], None
    for path in candidates:
        pkg = package(path)
        described.append(path + (f" (package {pkg})" if pkg else ""))
        if is_reference(path, pkg):
            reference = described[-1]
    where = "sgemm_ from" if blas else "mapped BLAS:"
    line = f"blas: {where} {', '.join(described) or 'none (linked into libtorch?)'}"
    if status and value:
        line += f"; {ALTERNATIVE} alternative: {value.group(1)} ({status.group(1)})"
    if config:
        line += f"; torch BLAS_INFO={config.group(1)}"
    print(line)
    core = next(filter(None, map(openblas, candidates)), None)
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    chosen = f"OPENBLAS_CORETYPE={coretype}" if coretype else "OPENBLAS_CORETYPE unset: OpenBLAS's choice"
    if core:
        print(f"openblas: core {core[0]} ({chosen}), {core[1]} thread(s), {core[2]}")
    else:
        print(f"openblas: not the BLAS above ({chosen})")
    threads = f"{core[1]} OpenBLAS thread(s)" if core else f"{torch.get_num_threads()} torch thread(s)"
    print(f"sgemm: torch.mm of {N}x{N} float32, {threads}: {per_core:.1f} GFLOP/s per core (fastest call, "
          f"CPU time); wall clock: fastest {best:.1f}, median {median:.1f} of {calls} calls; "
          f"load average {os.getloadavg()[0]:.1f}")
    sys.stdout.flush()

    if reference is None and per_core >= MIN_GFLOPS:
        return
    if os.path.exists(OPENBLAS_ALTERNATIVE):
        fix = (f"select OpenBLAS (as root): update-alternatives --set {ALTERNATIVE} {OPENBLAS_ALTERNATIVE}"
               f"\n  (or update-alternatives --auto {ALTERNATIVE}: the highest priority, OpenBLAS, wins)")
    else:
        fix = "install OpenBLAS (as root): apt-get install libopenblas0-pthread"
    speed = f"{per_core:.1f} GFLOP/s per core"
    if reference:
        why = f"PyTorch multiplies with the reference BLAS, {reference}, at {speed}"
    else:
        why = f"PyTorch's sgemm runs at {speed}, under the {MIN_GFLOPS} an optimised BLAS gives at least"
        if core:
            fix = (f"OpenBLAS runs its {core[0]} kernels: pick this CPU's core type "
                   "(CORETYPE=... bash bench/compare.sh; the default is bench/lib.sh's openblas_coretype)")
    sys.exit(f"torch_blas.py: {why}. PyTorch's numbers would measure that BLAS, not PyTorch next to nngen: "
             f"stopping before the comparison, no ratio printed.\nFix: {fix}")

if __name__ == "__main__":
    main()

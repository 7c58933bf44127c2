// Package kernels is the arithmetic that generated packages call for the
// heavy work: a blocked, packed GEMM in all four transpose combinations,
// dot and axpy, the GEMM epilogues and optimizer loops as vector kernels,
// softmax rows, and a Pool that splits a GEMM across cores. Each comes in
// pure Go and in Go assembly for AVX2+FMA and AVX-512F, chosen once at
// start-up (Active names the choice; Use switches it for tests and
// benchmarks). The assembly is written by the generator in _gen; see
// README.md for the design and the measurements.
package kernels

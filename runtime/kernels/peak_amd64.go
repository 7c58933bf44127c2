//go:build amd64 && !noasm

package kernels

// The FMA peak loops in peak_amd64.s, for BenchmarkPeak: n iterations of 16
// VFMADD231PS into 14 independent accumulators, on ZMM (AVX-512F) or YMM
// (AVX2+FMA) registers.

//go:noescape
func peakFMAZMM(n int)

//go:noescape
func peakFMAYMM(n int)

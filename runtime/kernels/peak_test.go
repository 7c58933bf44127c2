//go:build amd64 && !noasm

package kernels

import (
	"testing"

	"github.com/klauspost/cpuid/v2"
)

// BenchmarkPeak measures one core's FMA peak, the yardstick for the GEMM
// benchmarks: 16 VFMADD231PS per iteration (14 independent chains) on ZMM
// (16 lanes) or YMM (8 lanes) registers, 2 flops per lane.
func BenchmarkPeak(b *testing.B) {
	const iterations = 1 << 16
	for _, r := range []struct {
		name  string
		lanes int
		ok    bool
		loop  func(int)
	}{
		{"zmm", 16, cpuid.CPU.Supports(cpuid.AVX512F), peakFMAZMM},
		{"ymm", 8, cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3), peakFMAYMM},
	} {
		b.Run(r.name, func(b *testing.B) {
			if !r.ok {
				b.Skip("not supported by this CPU")
			}
			for b.Loop() {
				r.loop(iterations)
			}
			b.ReportMetric(float64(iterations*16*r.lanes*2)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
		})
	}
}

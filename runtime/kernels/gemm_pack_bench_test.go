package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkPack measures packing all of a 1024×1024 float32 matrix as the
// A and the B operand, plain and transposed, per kernel set.
func BenchmarkPack(b *testing.B) {
	const s = 1024
	src := benchMatrix(s * s)
	for _, ks := range kernelSets {
		if !supported(ks.name) {
			continue
		}
		g := &ks.sgemm
		kc := g.kc
		dst := make([]float32, (s+64)*kc)
		for _, trans := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/A/trans=%v", ks.name, trans), func(b *testing.B) {
				for b.Loop() {
					for p0 := 0; p0 < s; p0 += kc {
						g.packA(dst, trans, src, s, 0, s, p0, kc)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(s*s), "ns/elt")
			})
			b.Run(fmt.Sprintf("%s/B/trans=%v", ks.name, trans), func(b *testing.B) {
				for b.Loop() {
					for p0 := 0; p0 < s; p0 += kc {
						g.packB(dst, trans, src, s, p0, kc, 0, s)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(s*s), "ns/elt")
			})
		}
	}
}

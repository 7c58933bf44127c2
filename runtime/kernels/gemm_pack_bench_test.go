package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkPack measures packing all of a 1024×1024 float32 matrix as the
// A and the B operand, plain and transposed, per kernel set and for each
// of its float32 kernels (mr rows). A transposed A (a weight's gradient,
// dYᵀ·X) was once packed a row at a time across all its slivers, writing
// pieces mr·kc elements apart: for the 8-row kernel a power of two that
// put them all in one set of L1; then one sliver at a time, reading each
// source line twice; now packSlivers at a time. AVX-512 (AMD EPYC family
// 26), ns per element, whole block / one sliver / four: mr8 1.339 / 0.377 /
// 0.165, mr14 0.427 / 0.248 / 0.129; a plain B 0.230 / 0.098 / 0.083.
func BenchmarkPack(b *testing.B) {
	const s = 1024
	src := benchMatrix(s * s)
	for _, ks := range kernelSets {
		if !supported(ks.name) {
			continue
		}
		for _, g := range []*gemmKernel[float32]{&ks.sgemm, &ks.sgemm8} {
			if g.micro != nil {
				benchPack(b, fmt.Sprintf("%s/mr%d", ks.name, g.mr), g, src, s)
			}
		}
	}
}

func benchPack(b *testing.B, name string, g *gemmKernel[float32], src []float32, s int) {
	kc := g.kc
	dst := make([]float32, (s+64)*kc)
	for _, trans := range []bool{false, true} {
		b.Run(fmt.Sprintf("%s/A/trans=%v", name, trans), func(b *testing.B) {
			for b.Loop() {
				for p0 := 0; p0 < s; p0 += kc {
					g.packA(dst, trans, src, s, 0, s, p0, kc)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(s*s), "ns/elt")
		})
		b.Run(fmt.Sprintf("%s/B/trans=%v", name, trans), func(b *testing.B) {
			for b.Loop() {
				for p0 := 0; p0 < s; p0 += kc {
					g.packB(dst, trans, src, s, p0, kc, 0, s)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(s*s), "ns/elt")
		})
	}
}

package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkMicroKernel runs each set's float32 micro-kernel alone on packed
// panels that stay in L1: the ceiling that blocking and packing approach.
func BenchmarkMicroKernel(b *testing.B) {
	for _, ks := range kernelSets {
		if !supported(ks.name) {
			continue
		}
		g := &ks.sgemm
		for _, kc := range []int{64, 128, 256, 512} {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", ks.name, g.mr, g.nr, kc), func(b *testing.B) {
				a, bp, c := benchMatrix(g.mr*kc), benchMatrix(kc*g.nr), benchMatrix(g.mr*g.nr)
				for b.Loop() {
					g.micro(kc, &a[0], &bp[0], &c[0], g.nr, true)
				}
				reportGFLOPS(b, g.mr, g.nr, kc)
			})
			if ks.snt.micro == nil {
				continue
			}
			b.Run(fmt.Sprintf("%s/nt%dx%dx%d", ks.name, ntRows, ntCols, kc), func(b *testing.B) {
				a, bp, c := benchMatrix(ntRows*kc), benchMatrix(kc*ntCols), benchMatrix(ntCols*ntRows)
				for b.Loop() {
					ks.snt.micro(kc, &a[0], kc, &bp[0], &c[0], ntRows, true, ntCols, ntRows)
				}
				reportGFLOPS(b, ntRows, ntCols, kc)
			})
		}
	}
}

// BenchmarkGemmKernels runs the active set's main and 8-row float32 kernels
// through the whole GEMM on the products of the bench/ workloads, and for
// X·Wᵀ products the transpose-free kernel (nt): the data behind
// kernelSet.sgemmFor's and kernelSet.nt's choices. The operands stay in
// cache from one run to the next; in a training step the weights have
// just been updated and the general GEMM's transpose reads them from
// further away.
func BenchmarkGemmKernels(b *testing.B) {
	ks := current()
	if ks.sgemm8.micro == nil {
		b.Skip("no 8-row kernel in the active set")
	}
	shapes := []struct {
		tA, tB  bool
		m, n, k int
	}{{false, true, 32, 128, 784}, {true, false, 128, 784, 32}, {false, true, 64, 512, 784}, {true, false, 512, 784, 64}, {false, true, 256, 1024, 1024}, {true, false, 1024, 1024, 256}, {false, false, 1024, 1024, 1024}, {false, false, 256, 1024, 1024}, {false, false, 64, 784, 512}, {false, false, 64, 512, 512}}
	for _, s := range shapes {
		lda, ldb := s.k, s.n
		if s.tA {
			lda = s.m
		}
		if s.tB {
			ldb = s.k
		}
		a, bb, c := make([]float32, s.m*s.k), make([]float32, s.k*s.n), make([]float32, s.m*s.n)
		for _, g := range []*gemmKernel[float32]{&ks.sgemm, &ks.sgemm8} {
			_, _, _, need := g.layout(s.m, s.n, s.k)
			work := make([]float32, need)
			b.Run(fmt.Sprintf("%s%dx%dx%d/mr%d", trans(s.tA, s.tB), s.m, s.n, s.k, g.mr), func(b *testing.B) {
				for b.Loop() {
					gemm(g, s.tA, s.tB, s.m, s.n, s.k, a, lda, bb, ldb, c, s.n, false, work)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
		if ks.snt.micro != nil && !s.tA && s.tB {
			b.Run(fmt.Sprintf("%s%dx%dx%d/nt", trans(s.tA, s.tB), s.m, s.n, s.k), func(b *testing.B) {
				_, need := ks.snt.layout(s.m, s.k)
				work := make([]float32, need)
				for b.Loop() {
					gemmNT(&ks.snt, s.m, s.n, s.k, a, lda, bb, ldb, c, s.n, false, work)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func trans(a, b bool) string {
	return map[bool]string{false: "N", true: "T"}[a] + map[bool]string{false: "N", true: "T"}[b] + "/"
}

package runtime

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
		}
	}
}

// BenchmarkGemmKernels runs the active set's main and 8-row float32 kernels
// through the whole GEMM on the products of the bench/ workloads: the data
// behind kernelSet.sgemmFor's choice.
func BenchmarkGemmKernels(b *testing.B) {
	ks := kernels()
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
		work := make([]float32, GemmWork32(s.m, s.n, s.k))
		for _, g := range []*gemmKernel[float32]{&ks.sgemm, &ks.sgemm8} {
			b.Run(fmt.Sprintf("%s%dx%dx%d/mr%d", trans(s.tA, s.tB), s.m, s.n, s.k, g.mr), func(b *testing.B) {
				for b.Loop() {
					gemm(g, s.tA, s.tB, s.m, s.n, s.k, a, lda, bb, ldb, c, s.n, false, work)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func trans(a, b bool) string {
	return map[bool]string{false: "N", true: "T"}[a] + map[bool]string{false: "N", true: "T"}[b] + "/"
}

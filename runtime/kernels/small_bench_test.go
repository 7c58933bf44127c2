package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkGemmSmall times the products of small layers (forward x·Wᵀ,
// input gradient dz·W, weight gradient dzᵀ·x) on the small-product tiles
// and, with smallMax 0, on the general GEMM, one core, the active set.
func BenchmarkGemmSmall(b *testing.B) {
	shapes := []struct {
		name           string
		transA, transB bool
		m, n, k        int
	}{
		{"NT", false, true, 16, 32, 8}, {"NT", false, true, 16, 16, 32}, {"NT", false, true, 16, 1, 16},
		{"NT", false, true, 32, 10, 128}, {"NT", false, true, 32, 64, 64}, {"NT", false, true, 16, 128, 32},
		{"NT", false, true, 64, 64, 64}, {"NT", false, true, 64, 100, 100},
		{"NN", false, false, 16, 32, 16}, {"NN", false, false, 32, 128, 10}, {"NN", false, false, 64, 64, 64},
		{"TN", true, false, 32, 8, 16}, {"TN", true, false, 16, 32, 16}, {"TN", true, false, 10, 128, 32}, {"TN", true, false, 64, 64, 64},
	}
	for _, s := range shapes {
		a := make([]float32, s.m*s.k)
		bm := make([]float32, s.k*s.n)
		c := make([]float32, s.m*s.n)
		lda, ldb := s.k, s.n
		if s.transA {
			lda = s.m
		}
		if s.transB {
			ldb = s.k
		}
		work := make([]float32, GemmWork32(s.m, s.n, s.k))
		for _, path := range []string{"small", "general"} {
			b.Run(fmt.Sprintf("%s/%dx%dx%d/%s", s.name, s.m, s.n, s.k, path), func(b *testing.B) {
				if path == "general" {
					defer func(old int) { smallMax = old }(smallMax)
					smallMax = 0
				}
				for b.Loop() {
					Gemm32(s.transA, s.transB, s.m, s.n, s.k, a, lda, bm, ldb, c, s.n, false, work)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

package kernels

import (
	"fmt"
	"testing"
)

// reportGFLOPS reports the rate of b.N products of 2·m·n·k flops each.
func reportGFLOPS(b *testing.B, m, n, k int) {
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
}

func benchSquares() []int { return []int{256, 512, 1024} }

// benchMatrix is n float32s with small nonzero values. Never-written
// memory would not do: the kernel maps it to one shared zero page, which
// stays in cache, and packing would look free.
func benchMatrix(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(i%7) - 3
	}
	return s
}

func benchMatrix64(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = float64(i%7) - 3
	}
	return s
}

// BenchmarkGemm32 runs square products per kernel set and size, in the
// transpose combinations that a linear layer's forward (NT: x·Wᵀ) and
// backward (NN: dy·W, TN: dyᵀ·x) use.
func BenchmarkGemm32(b *testing.B) {
	for _, ks := range kernelSets {
		if !supported(ks.name) {
			continue
		}
		for _, tr := range transCombos[:3] {
			for _, s := range benchSquares() {
				b.Run(fmt.Sprintf("%s/%s/%d", ks.name, tr.name, s), func(b *testing.B) {
					restore, err := Use(ks.name)
					if err != nil {
						b.Fatal(err)
					}
					defer restore()
					a, bm, c := benchMatrix(s*s), benchMatrix(s*s), benchMatrix(s*s)
					work := make([]float32, GemmWork32(s, s, s))
					for b.Loop() {
						Gemm32(tr.transA, tr.transB, s, s, s, a, s, bm, s, c, s, false, work)
					}
					reportGFLOPS(b, s, s, s)
				})
			}
		}
	}
}

// BenchmarkGemm64 is BenchmarkGemm32 for float64, NN only.
func BenchmarkGemm64(b *testing.B) {
	for _, ks := range kernelSets {
		if !supported(ks.name) {
			continue
		}
		for _, s := range benchSquares() {
			b.Run(fmt.Sprintf("%s/NN/%d", ks.name, s), func(b *testing.B) {
				restore, err := Use(ks.name)
				if err != nil {
					b.Fatal(err)
				}
				defer restore()
				a, bm, c := benchMatrix64(s*s), benchMatrix64(s*s), benchMatrix64(s*s)
				work := make([]float64, GemmWork64(s, s, s))
				for b.Loop() {
					Gemm64(false, false, s, s, s, a, s, bm, s, c, s, false, work)
				}
				reportGFLOPS(b, s, s, s)
			})
		}
	}
}

// BenchmarkPoolGemm32 runs the 1024 product on a Pool of 1 and 2 workers
// with the best kernel set.
func BenchmarkPoolGemm32(b *testing.B) {
	const s = 1024
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("%d/workers=%d", s, workers), func(b *testing.B) {
			p := NewPool(workers, 0)
			defer p.Close()
			a, bm, c := benchMatrix(s*s), benchMatrix(s*s), benchMatrix(s*s)
			for b.Loop() {
				p.Gemm32(false, false, s, s, s, a, s, bm, s, c, s, false)
			}
			reportGFLOPS(b, s, s, s)
		})
	}
}

// BenchmarkDot32 and BenchmarkAxpy32 run on vectors that fit in L1.
func BenchmarkDot32(b *testing.B) {
	const n = 4096
	x, y := benchMatrix(n), benchMatrix(n)
	var s float32
	for b.Loop() {
		s += Dot32(x, y)
	}
	b.ReportMetric(2*n*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
}

func BenchmarkAxpy32(b *testing.B) {
	const n = 4096
	x, y := benchMatrix(n), benchMatrix(n)
	for b.Loop() {
		Axpy32(1e-3, x, y)
	}
	b.ReportMetric(2*n*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
}

// BenchmarkPoolProducts runs the workloads' pooled products (NT, as the
// forward pass) on one core and on a pool of two: what splitting gains once
// the wake-up costs are paid. Run it with GOMAXPROCS=2.
func BenchmarkPoolProducts(b *testing.B) {
	for _, s := range [][3]int{{32, 128, 784}, {128, 784, 32}, {64, 512, 512}, {256, 1024, 1024}} {
		m, n, k := s[0], s[1], s[2]
		a, bb, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		p := NewPool32(2, PoolWork32(2, m, n, k))
		work := make([]float32, GemmWork32(m, n, k))
		b.Run(fmt.Sprintf("%dx%dx%d/direct", m, n, k), func(b *testing.B) {
			for b.Loop() {
				Gemm32(false, true, m, n, k, a, k, bb, k, c, n, false, work)
			}
		})
		b.Run(fmt.Sprintf("%dx%dx%d/pool", m, n, k), func(b *testing.B) {
			for b.Loop() {
				p.Gemm32(false, true, m, n, k, a, k, bb, k, c, n, false)
			}
		})
		p.Close()
	}
}

// BenchmarkGemmFewRows compares, for products of 1 to 16 rows (a model
// run on a few samples), the row-by-row path (gemmRows) with the tiled
// kernels, to place rowsDotMax and rowsAxpyMax: X·Wᵀ of a forward pass (784-128 and
// 512-512) and dY·W of a backward one (512-512).
func BenchmarkGemmFewRows(b *testing.B) {
	for _, s := range []struct {
		name   string
		transB bool
		n, k   int
	}{{"XWt784x128", true, 128, 784}, {"XWt512x512", true, 512, 512}, {"dYW512x512", false, 512, 512}} {
		for _, m := range []int{1, 2, 3, 4, 6, 8, 12, 16} {
			for _, path := range []string{"rows", "tiled"} {
				b.Run(fmt.Sprintf("%s/m=%d/%s", s.name, m, path), func(b *testing.B) {
					dot, axpy := rowsDotMax, rowsAxpyMax
					defer func() { rowsDotMax, rowsAxpyMax = dot, axpy }()
					rowsDotMax = map[string]int{"rows": m, "tiled": 0}[path]
					rowsAxpyMax = rowsDotMax
					a := make([]float32, m*s.k)
					w := make([]float32, s.n*s.k)
					c := make([]float32, m*s.n)
					work := make([]float32, GemmWork32(m, s.n, s.k))
					ldb := s.k
					if !s.transB {
						ldb = s.n
					}
					for b.Loop() {
						Gemm32(false, s.transB, m, s.n, s.k, a, s.k, w, ldb, c, s.n, false, work)
					}
				})
			}
		}
	}
}

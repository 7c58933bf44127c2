package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGemmSmall runs every tile of gemmSmall (each vector count, row
// count and column mask, all four transposes, with and without
// accumulate, padded strides whose NaNs poison a read past a row) against
// the float64 reference, and requires the same bits as the general GEMM,
// which it replaces for small products.
func TestGemmSmall(t *testing.T) {
	ks := current()
	if ks.small32 == nil {
		t.Skipf("kernel set %s has no small-product tiles", ks.name)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	ms := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 16, 17}
	ns := []int{1, 5, 15, 16, 17, 31, 32, 33, 48, 49, 63, 64, 65, 100}
	ks2 := []int{1, 7, 16, 33}
	cases := 0
	for _, m := range ms {
		for _, n := range ns {
			for _, k := range ks2 {
				for tr := range 8 {
					// tr&4: no padding, C a column of stride 1 for n = 1
					// (gemmSmallColumn).
					transA, transB, pad := tr&1 != 0, tr&2 != 0, 3
					if tr&4 != 0 {
						if n != 1 {
							continue
						}
						pad = 0
					}
					acc := (m+n+k+tr)%2 == 0
					g := newGemmCase[float32](rng, transA, transB, m, n, k, pad, acc)
					if bound, need := smallWorkBound(m, n, k), ks.work32(transA, transB, m, n, k); bound < need {
						t.Fatalf("%d×%d×%d: smallWorkBound %d, but the general GEMM needs %d", m, n, k, bound, need)
					}
					work := make([]float32, GemmWork32(m, n, k))
					if !ks.small(transA, transB, m, n, k, work) {
						continue
					}
					cases++
					c := slices.Clone(g.c)
					gemmSmall(ks.small32, transA, transB, m, n, k, g.a, g.lda, g.b, g.ldb, c, g.ldc, acc, nil, false, work)
					g.check(t, c)
					general := slices.Clone(g.c)
					gemm(ks.sgemmFor(m), transA, transB, m, n, k, g.a, g.lda, g.b, g.ldb, general, g.ldc, acc, work)
					for i := range c {
						if math.Float32bits(c[i]) != math.Float32bits(general[i]) {
							t.Fatalf("%v %v %d×%d×%d: C[%d] = %v, the general GEMM's %v", transA, transB, m, n, k, i, c[i], general[i])
						}
					}
				}
			}
		}
	}
	// The bound over every shape the small path may take.
	for m := 1; m <= 4096; m += 1 + m/5 {
		for n := 1; n <= 4096; n += 1 + n/5 {
			for k := 1; k <= ks.sgemm.kc && m*n*k <= smallMax; k += 1 + k/5 {
				for tr := range 4 {
					if bound, need := smallWorkBound(m, n, k), ks.work32(tr&1 != 0, tr&2 != 0, m, n, k); bound < need {
						t.Fatalf("%d×%d×%d: smallWorkBound %d, but the general GEMM needs %d", m, n, k, bound, need)
					}
				}
			}
		}
	}
	if cases < 2000 {
		t.Fatalf("only %d products took the small path", cases)
	}
}

// TestGemmBias checks, with every kernel set, that GemmBias32 and
// GemmBias64 give the bits of the product followed by AddBias or
// AddBiasReLU, for products small (the tiles' epilogue in registers) and
// large, with a padded C whose padding stays untouched.
func TestGemmBias(t *testing.T) {
	forEachKernelSet(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, s := range [][3]int{{16, 32, 8}, {16, 16, 32}, {16, 1, 16}, {70, 1, 40}, {5, 17, 3}, {9, 64, 20}, {13, 70, 33}, {3, 10, 5}, {64, 128, 300}} {
			m, n, k := s[0], s[1], s[2]
			for _, relu := range []bool{false, true} {
				for tr := range 8 {
					transA, transB, pad := tr&1 != 0, tr&2 != 0, 2
					if tr&4 != 0 {
						if n != 1 {
							continue
						}
						pad = 0 // C a column of stride 1: gemmSmallColumn
					}
					g := newGemmCase[float32](rng, transA, transB, m, n, k, pad, false)
					bias := make([]float32, n)
					fill(bias, rng)
					work := make([]float32, GemmWork32(m, n, k))
					got := slices.Clone(g.c)
					GemmBias32(transA, transB, m, n, k, g.a, g.lda, g.b, g.ldb, got, g.ldc, bias, relu, work)
					want := slices.Clone(g.c)
					Gemm32(transA, transB, m, n, k, g.a, g.lda, g.b, g.ldb, want, g.ldc, false, work)
					for i := range m {
						if relu {
							AddBiasReLU32(want[i*g.ldc:i*g.ldc+n], bias)
						} else {
							AddBias32(want[i*g.ldc:i*g.ldc+n], bias)
						}
					}
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%v %v %d×%d×%d relu %v: C[%d] = %v, want %v", transA, transB, m, n, k, relu, i, got[i], want[i])
						}
					}
					g64 := newGemmCase[float64](rng, transA, transB, m, n, k, 2, false)
					bias64 := make([]float64, n)
					for i := range bias64 {
						bias64[i] = float64(bias[i])
					}
					work64 := make([]float64, GemmWork64(m, n, k))
					got64 := slices.Clone(g64.c)
					GemmBias64(transA, transB, m, n, k, g64.a, g64.lda, g64.b, g64.ldb, got64, g64.ldc, bias64, relu, work64)
					want64 := slices.Clone(g64.c)
					Gemm64(transA, transB, m, n, k, g64.a, g64.lda, g64.b, g64.ldb, want64, g64.ldc, false, work64)
					for i := range m {
						if relu {
							AddBiasReLU64(want64[i*g64.ldc:i*g64.ldc+n], bias64)
						} else {
							AddBias64(want64[i*g64.ldc:i*g64.ldc+n], bias64)
						}
					}
					for i := range got64 {
						if math.Float64bits(got64[i]) != math.Float64bits(want64[i]) {
							t.Fatalf("float64 %v %v %d×%d×%d relu %v: C[%d] = %v, want %v", transA, transB, m, n, k, relu, i, got64[i], want64[i])
						}
					}
				}
			}
		}
	})
}

// fill sets x to values in [-1, 1), so that relu clips some of the sums
// they are added to.
func fill(x []float32, rng *rand.Rand) {
	for i := range x {
		x[i] = float32(2*rng.Float64() - 1)
	}
}

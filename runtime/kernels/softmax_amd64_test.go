//go:build amd64 && !noasm

package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSoftmaxRowsBits checks the AVX-512 rows kernel against the AVX2
// softmax it stands in for, bit for bit, on rows whose exponentials
// underflow to subnormals and to zero, with -Inf, +Inf and NaN among them.
func TestSoftmaxRowsBits(t *testing.T) {
	if !supported("avx512") {
		t.Skip("no AVX-512")
	}
	var ks *kernelSet
	for _, s := range kernelSets {
		if s.name == "avx512" {
			ks = s
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	specials := []float32{float32(math.Inf(-1)), float32(math.Inf(1)), float32(math.NaN()), -88, -103.9, -104, 0}
	for _, n := range []int{16, 32, 64, 80} {
		rows := 40
		x := make([]float32, n*rows)
		for r := range rows {
			spread := []float64{1, 20, 90, 110, 200}[r%5]
			for i := range n {
				x[r*n+i] = float32(spread * (2*rng.Float64() - 1))
			}
			if r%4 == 3 {
				x[r*n+rng.IntN(n)] = specials[r/4%len(specials)]
			}
		}
		got := make([]float32, len(x))
		ks.softmaxRows32(&got[0], &x[0], n, rows)
		for r := range rows {
			want := slices.Clone(x[r*n : (r+1)*n])
			softmax32AVX2(want)
			for i, w := range want {
				if g := got[r*n+i]; math.Float32bits(g) != math.Float32bits(w) {
					t.Fatalf("n %d row %d (%v): y[%d] = %v (%#x), AVX2 %v (%#x)", n, r, x[r*n:(r+1)*n], i, g, math.Float32bits(g), w, math.Float32bits(w))
				}
			}
		}
	}
}

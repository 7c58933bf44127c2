package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nngen/nngen/runtime/nnrt"
)

// TestSoftmaxRows checks SoftmaxRows32 against Softmax32 row by row, and
// SoftmaxGrad32 with every kernel set against a float64 reference and the
// Go rows' bits, for rows of 16 to 48 (assembly) and of 5 and 10 (Go), dx
// apart from dy and in its place.
func TestSoftmaxRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{16, 32, 48, 5, 10} {
		rows := 7
		x := make([]float32, n*rows)
		dy := make([]float32, n*rows)
		for i := range x {
			x[i] = float32(4 * (2*rng.Float64() - 1))
			dy[i] = float32(2*rng.Float64() - 1)
		}
		y := make([]float32, len(x))
		SoftmaxRows32(y, x, n)
		for r := range rows {
			want := slices.Clone(x[r*n : (r+1)*n])
			Softmax32(want)
			if !slices.Equal(want, y[r*n:(r+1)*n]) {
				t.Fatalf("n %d row %d: SoftmaxRows32 %v, Softmax32 %v", n, r, y[r*n:(r+1)*n], want)
			}
		}
		inPlace := slices.Clone(x)
		SoftmaxRows32(inPlace, inPlace, n)
		if !slices.Equal(inPlace, y) {
			t.Fatalf("n %d: in place %v, apart %v", n, inPlace, y)
		}
		var first []float32
		forEachKernelSet(t, func(t *testing.T) {
			dx := make([]float32, len(y))
			SoftmaxGrad32(dx, dy, y, n)
			same := slices.Clone(dy)
			SoftmaxGrad32(same, same, y, n)
			if !slices.Equal(same, dx) {
				t.Fatalf("n %d: dx in dy's place %v, apart %v", n, same, dx)
			}
			ref := make([]float64, n)
			for r := range rows {
				yr, dyr := y[r*n:(r+1)*n], dy[r*n:(r+1)*n]
				var dot float64
				for i := range yr {
					dot += float64(dyr[i]) * float64(yr[i])
				}
				for i := range yr {
					ref[i] = float64(yr[i]) * (float64(dyr[i]) - dot)
					if d := math.Abs(float64(dx[r*n+i]) - ref[i]); d > 1e-6 {
						t.Fatalf("n %d row %d: dx[%d] = %v, want %v", n, r, i, dx[r*n+i], ref[i])
					}
				}
				// nnrt's SoftmaxGrad, a float32 sum in order, within rounding.
				got := make([]float32, n)
				nnrt.SoftmaxGrad(got, dyr, yr)
				for i := range got {
					if d := math.Abs(float64(got[i] - dx[r*n+i])); d > 1e-6 {
						t.Fatalf("n %d row %d: dx[%d] = %v, nnrt's %v", n, r, i, dx[r*n+i], got[i])
					}
				}
			}
			if first == nil {
				first = dx
			} else if !slices.Equal(first, dx) {
				t.Fatalf("n %d: kernel sets differ: %v and %v", n, first, dx)
			}
		})
	}
}

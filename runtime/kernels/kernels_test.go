package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nngen/nngen/runtime/nnrt"
)

// vectorLengths cover every tail of the 4-vector loops and some long ones.
func vectorLengths() []int {
	var ns []int
	for n := 0; n <= 70; n++ {
		ns = append(ns, n)
	}
	return append(ns, 127, 1000, 1001, 4099)
}

func randomVector[T nnrt.Float](rng *rand.Rand, n int) []T {
	v := make([]T, n)
	for i := range v {
		v[i] = T(2*rng.Float64() - 1)
	}
	return v
}

func testDot[T float32 | float64](t *testing.T, dot func(x, y []T) T, tol float64) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range vectorLengths() {
		// Slices starting at an odd element: the kernels must not need alignment.
		x, y := randomVector[T](rng, n+1)[1:], randomVector[T](rng, n+1)[1:]
		var want, scale float64
		for i := range x {
			want += float64(x[i]) * float64(y[i])
			scale += math.Abs(float64(x[i]) * float64(y[i]))
		}
		got := float64(dot(x, y))
		if d := math.Abs(got - want); !(d <= tol*math.Sqrt(float64(max(n, 1)))*scale+1e-30) {
			t.Fatalf("n=%d: dot = %v, want %v (error %.3g)", n, got, want, d)
		}
	}
}

func testAxpy[T float32 | float64](t *testing.T, axpy func(alpha T, x, y []T), tol float64) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range vectorLengths() {
		x, y := randomVector[T](rng, n+1)[1:], randomVector[T](rng, n+2)[1:]
		last := y[n]
		alpha := T(2*rng.Float64() - 1)
		want := make([]float64, n)
		for i := range want {
			want[i] = float64(y[i]) + float64(alpha)*float64(x[i])
		}
		axpy(alpha, x, y[:n])
		for i := range want {
			if d := math.Abs(float64(y[i]) - want[i]); !(d <= tol*(math.Abs(want[i])+math.Abs(float64(alpha*x[i])))+1e-30) {
				t.Fatalf("n=%d: y[%d] = %v, want %v", n, i, y[i], want[i])
			}
		}
		if y[n] != last {
			t.Fatalf("n=%d: axpy wrote past y", n)
		}
	}
}

func TestDotAxpy(t *testing.T) {
	forEachKernelSet(t, func(t *testing.T) {
		t.Run("Dot32", func(t *testing.T) { testDot(t, Dot32, 1e-6) })
		t.Run("Dot64", func(t *testing.T) { testDot(t, Dot64, 1e-15) })
		t.Run("Axpy32", func(t *testing.T) { testAxpy(t, Axpy32, 1e-6) })
		t.Run("Axpy64", func(t *testing.T) { testAxpy(t, Axpy64, 1e-15) })
	})
}

func TestDotAxpyLengths(t *testing.T) {
	mustPanic(t, "Dot32", func() { Dot32(make([]float32, 3), make([]float32, 4)) })
	mustPanic(t, "Axpy64", func() { Axpy64(1, make([]float64, 3), make([]float64, 2)) })
}

func TestDotAxpyAllocs(t *testing.T) {
	forEachKernelSet(t, func(t *testing.T) {
		x, y := make([]float32, 100), make([]float32, 100)
		x64, y64 := make([]float64, 100), make([]float64, 100)
		allocs := testing.AllocsPerRun(10, func() {
			Axpy32(Dot32(x, y), x, y)
			Axpy64(Dot64(x64, y64), x64, y64)
		})
		if allocs != 0 {
			t.Fatalf("%v allocations per call", allocs)
		}
	})
}

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nngen/nngen/runtime/nnrt"
)

// testAdam runs every kernel set's Adam and AdamW steps and adamRef on the
// same operands (the second moments non-negative, as they are, or with
// NaN, ±Inf and ±0 sprinkled in) and wants the same p, m and v.
func testAdam[T nnrt.Float](t *testing.T, v func() *vecSet[T]) {
	steps := map[string]AdamStep[T]{
		"Adam":         {Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, StepSize: 0.001 / (1 - 0.9*0.9), Root2: T(nnrt.Sqrt(1 - 0.999*0.999))},
		"AdamNoDecay":  {Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, StepSize: 0.01, Root2: 0.1},
		"AdamW":        {Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, StepSize: 0.003, Root2: 0.05, Decoupled: true, Decay: 1 - 0.003*0.01},
		"AdamWNoDecay": {Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, StepSize: 0.003, Root2: 0.05, Decoupled: true, Decay: 1},
	}
	for name, s := range steps {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(31, 32))
			for _, n := range vectorLengths() {
				for _, special := range []bool{false, true} {
					var got, want [4][]T
					for i := range got {
						x := randomVector[T](rng, n+2)[1:] // from an odd element: no alignment
						if special {
							x = specialVector[T](rng, n+2)[1:]
						}
						if i == 3 && !special {
							for j := range x {
								x[j] *= x[j]
							}
						}
						got[i], want[i] = x[:n], append([]T(nil), x[:n]...)
					}
					sentinel := got[0][:n+1][n]
					v().adam(s, got[0], got[1], got[2], got[3])
					adamRef(s, want[0], want[1], want[2], want[3])
					for i, what := range []string{"p", "g", "m", "v"} {
						if j := same(got[i], want[i]); j >= 0 {
							t.Fatalf("n=%d special=%v: %s[%d] = %v, adamRef gives %v", n, special, what, j, got[i][j], want[i][j])
						}
					}
					if after := got[0][:n+1][n]; after != sentinel && after == after {
						t.Fatalf("n=%d: written past the end", n)
					}
				}
			}
		})
	}
}

func TestAdam(t *testing.T) {
	forEachKernelSet(t, func(t *testing.T) {
		t.Run("float32", func(t *testing.T) { testAdam(t, vec32) })
		t.Run("float64", func(t *testing.T) { testAdam(t, vec64) })
	})
	// The exported calls check their lengths and allocate nothing.
	p, g, m, v := make([]float32, 100), make([]float32, 100), make([]float32, 100), make([]float32, 100)
	s := AdamStep[float32]{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, StepSize: 0.001, Root2: 0.03}
	mustPanic(t, "short moment", func() { Adam32(p, g, m[:99], v, s) })
	if allocs := testing.AllocsPerRun(20, func() { Adam32(p, g, m, v, s) }); allocs != 0 {
		t.Errorf("Adam32: %v allocations per call", allocs)
	}
	p64 := make([]float64, 10)
	mustPanic(t, "short gradient", func() { Adam64(p64, p64[:9], p64, p64, AdamStep[float64]{}) })
}

// testMomentum runs every kernel set's momentum step and momentumRef on the
// same operands, for the first step and a later one, with and without
// Nesterov's correction, and wants the same p and buf.
func testMomentum[T nnrt.Float](t *testing.T, v func() *vecSet[T]) {
	for _, first := range []bool{false, true} {
		for _, nesterov := range []bool{false, true} {
			s := MomentumStep[T]{LR: 0.05, Momentum: 0.9, Dampening: 0.1, WeightDecay: 0.01, First: first, Nesterov: nesterov}
			if nesterov {
				s.Dampening = 0 // as PyTorch requires
			}
			t.Run(fmt.Sprintf("first=%v,nesterov=%v", first, nesterov), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(41, 42))
				for _, n := range vectorLengths() {
					var got, want [3][]T
					for i := range got {
						x := specialVector[T](rng, n+2)[1:]
						got[i], want[i] = x[:n], append([]T(nil), x[:n]...)
					}
					sentinel := got[0][:n+1][n]
					v().momentum(s, got[0], got[1], got[2])
					momentumRef(s, want[0], want[1], want[2])
					for i, what := range []string{"p", "g", "buf"} {
						if j := same(got[i], want[i]); j >= 0 {
							t.Fatalf("n=%d: %s[%d] = %v, momentumRef gives %v", n, what, j, got[i][j], want[i][j])
						}
					}
					if after := got[0][:n+1][n]; after != sentinel && after == after {
						t.Fatalf("n=%d: written past the end", n)
					}
				}
			})
		}
	}
}

func TestMomentum(t *testing.T) {
	forEachKernelSet(t, func(t *testing.T) {
		t.Run("float32", func(t *testing.T) { testMomentum(t, vec32) })
		t.Run("float64", func(t *testing.T) { testMomentum(t, vec64) })
	})
	p, g, buf := make([]float32, 100), make([]float32, 100), make([]float32, 100)
	s := MomentumStep[float32]{LR: 0.1, Momentum: 0.9}
	mustPanic(t, "short buffer", func() { Momentum32(p, g, buf[:99], s) })
	if allocs := testing.AllocsPerRun(20, func() { Momentum32(p, g, buf, s) }); allocs != 0 {
		t.Errorf("Momentum32: %v allocations per call", allocs)
	}
	p64 := make([]float64, 10)
	mustPanic(t, "short gradient", func() { Momentum64(p64, p64[:9], p64, MomentumStep[float64]{}) })
}

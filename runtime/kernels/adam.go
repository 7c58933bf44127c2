package kernels

import "github.com/nngen/nngen/runtime/nnrt"

// AdamStep is one step of Adam or AdamW for every element of a parameter:
// the settings and the step's bias corrections, as a generated Step
// computes them once per parameter (in float64, then rounded to T).
type AdamStep[T nnrt.Float] struct {
	Beta1, Beta2, Eps, WeightDecay T
	StepSize                       T    // lr / (1 - β1ᵗ)
	Root2                          T    // √(1 - β2ᵗ)
	Decoupled                      bool // AdamW: p is scaled by Decay first, and WeightDecay is not added to the gradient
	Decay                          T    // AdamW's 1 - lr·weight_decay
}

// Adam32 updates a parameter p from its gradient g with Adam (AdamW when
// s.Decoupled), advancing its moments m and v, as torch.optim.Adam and
// AdamW write it (PyTorch 1.13, without amsgrad), element by element:
//
//	d = g + WeightDecay·p        (AdamW: d = g, and p = Decay·p first)
//	m = β1·m + (1-β1)·d
//	v = β2·v + (1-β2)·d·d
//	p = p - StepSize·m / (√v/Root2 + Eps)
//
// Every operation is rounded on its own (no fused multiply-add), as in the
// generated loops that it replaces, so every kernel set gives their bits.
// All four slices must have the same length.
func Adam32(p, g, m, v []float32, s AdamStep[float32]) {
	checkLengths(len(p), len(g))
	checkLengths(len(p), len(m))
	checkLengths(len(p), len(v))
	vec32().adam(s, p, g, m, v)
}

// Adam64 is Adam32 for float64.
func Adam64(p, g, m, v []float64, s AdamStep[float64]) {
	checkLengths(len(p), len(g))
	checkLengths(len(p), len(m))
	checkLengths(len(p), len(v))
	vec64().adam(s, p, g, m, v)
}

func adamRef[T nnrt.Float](s AdamStep[T], p, g, m, v []T) {
	b1, b2 := s.Beta1, s.Beta2
	for i := range p {
		var d T
		if s.Decoupled {
			d = g[i]
			p[i] *= s.Decay
		} else {
			d = g[i] + s.WeightDecay*p[i]
		}
		m[i] = b1*m[i] + (1-b1)*d
		v[i] = b2*v[i] + (1-b2)*d*d
		p[i] -= s.StepSize * m[i] / (nnrt.Sqrt(v[i])/s.Root2 + s.Eps)
	}
}

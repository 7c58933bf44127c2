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

// MomentumStep is one step of SGD with momentum for every element of a
// parameter, as a generated Step computes it.
type MomentumStep[T nnrt.Float] struct {
	LR, Momentum, Dampening, WeightDecay T
	Nesterov                             bool
	First                                bool // the first step since the buffer was cleared: it takes the gradient as it is
}

// Momentum32 updates a parameter p from its gradient g with SGD with
// momentum, advancing its buffer, as torch.optim.SGD writes it (PyTorch
// 1.13), element by element:
//
//	d = g + WeightDecay·p
//	buf = d in the first step, else Momentum·buf + (1-Dampening)·d
//	d = d + Momentum·buf with Nesterov, else buf
//	p = p - LR·d
//
// Every operation is rounded on its own, as in the generated loops that it
// replaces. All three slices must have the same length.
func Momentum32(p, g, buf []float32, s MomentumStep[float32]) {
	checkLengths(len(p), len(g))
	checkLengths(len(p), len(buf))
	vec32().momentum(s, p, g, buf)
}

// Momentum64 is Momentum32 for float64.
func Momentum64(p, g, buf []float64, s MomentumStep[float64]) {
	checkLengths(len(p), len(g))
	checkLengths(len(p), len(buf))
	vec64().momentum(s, p, g, buf)
}

func momentumRef[T nnrt.Float](s MomentumStep[T], p, g, buf []T) {
	for i := range p {
		d := g[i] + s.WeightDecay*p[i]
		if s.First {
			buf[i] = d
		} else {
			buf[i] = s.Momentum*buf[i] + (1-s.Dampening)*d
		}
		if s.Nesterov {
			d += s.Momentum * buf[i]
		} else {
			d = buf[i]
		}
		p[i] -= s.LR * d
	}
}

package onnx

import (
	"math"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/onnx/onnxpb"
)

// ONNX had no Gelu op before opset 20, so torch.onnx.export writes
// nn.GELU as its formula. These are the two it writes, for the exact
// form and the tanh approximation; nngen finds them and lowers each as
// one gelu, which is PyTorch's, gradient included:
//
//	x·(1 + erf(x/√2))·0.5
//	Div(x, √2) → Erf → Add(·, 1) → Mul(x, ·) → Mul(·, 0.5)
//
//	0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
//	Mul(x, x) → Mul(x, ·) → Mul(0.044715, ·) → Add(x, ·) → Mul(√(2/π), ·)
//	→ Tanh → Add(1, ·) → Mul(x, ·) → Mul(0.5, ·)
//
// x³ may also be Pow(x, 3). Every value inside the formula must have no
// other user, so that nothing else needs it computed.

// gelu is a GELU found in a model: its input and its form.
type gelu struct {
	x      string // the value GELU is applied to
	approx ir.Approx
}

// lower lowers the formula's last node as gelu of x.
func (g gelu) lower(l *lowerer, n *node) ([]*tensor, error) {
	outs, err := l.elementwise(n, ir.OpGELU, ir.Attrs{Approx: g.approx})
	if err == nil {
		outs[0].v.Name = scopeLabel(n.NodeProto) // "/net/net.5" rather than its last Mul
	}
	return outs, err
}

// findGELUs marks every GELU formula: its last node lowers it, and the
// others are absorbed.
func (l *lowerer) findGELUs() {
	m := &matcher{l: l, producer: map[string]*onnxpb.NodeProto{}}
	for _, p := range l.graph.GetNode() {
		for _, o := range p.GetOutput() {
			m.producer[o] = p
		}
	}
	for _, p := range l.graph.GetNode() {
		if !standard(p) || p.GetOpType() != "Mul" || len(p.GetInput()) != 2 || l.absorbed[p] {
			continue
		}
		m.claimed = m.claimed[:0]
		if g, ok := m.gelu(p); ok {
			l.gelus[p] = g
			for _, q := range m.claimed {
				l.absorbed[q] = true
			}
		}
	}
}

// matcher matches formulas against the nodes that compute values, claiming
// the nodes of a match.
type matcher struct {
	l        *lowerer
	producer map[string]*onnxpb.NodeProto
	claimed  []*onnxpb.NodeProto
}

// gelu matches y = Mul(Mul(x, Add(Erf|Tanh ..., 1)), 0.5) at node y.
func (m *matcher) gelu(y *onnxpb.NodeProto) (gelu, bool) {
	var g gelu
	ok := m.either(y, func(h, half string) bool {
		return m.scalar(half, 0.5) && m.binary(h, "Mul", func(x, s string) bool {
			return m.binary(s, "Add", func(t, one string) bool {
				if !m.scalar(one, 1) {
					return false
				}
				if m.erf(t, x) {
					g = gelu{x: x}
					return true
				}
				if m.tanh(t, x) {
					g = gelu{x: x, approx: ir.ApproxTanh}
					return true
				}
				return false
			})
		})
	})
	return g, ok
}

// erf matches Erf(Div(x, √2)).
func (m *matcher) erf(name, x string) bool {
	mark := len(m.claimed)
	e := m.op(name, "Erf", 1)
	if e != nil && m.binaryOrdered(e.GetInput()[0], "Div", func(a, b string) bool {
		return a == x && m.scalar(b, math.Sqrt2)
	}) {
		return true
	}
	m.claimed = m.claimed[:mark]
	return false
}

// tanh matches Tanh(Mul(√(2/π), Add(x, Mul(0.044715, x³)))).
func (m *matcher) tanh(name, x string) bool {
	mark := len(m.claimed)
	t := m.op(name, "Tanh", 1)
	if t != nil && m.binary(t.GetInput()[0], "Mul", func(s, k string) bool {
		return m.scalar(k, math.Sqrt(2/math.Pi)) && m.binary(s, "Add", func(a, b string) bool {
			return a == x && m.binary(b, "Mul", func(cube, c string) bool {
				return m.scalar(c, 0.044715) && m.cube(cube, x)
			})
		})
	}) {
		return true
	}
	m.claimed = m.claimed[:mark]
	return false
}

// cube matches Mul(x, Mul(x, x)), in either order, or Pow(x, 3).
func (m *matcher) cube(name, x string) bool {
	mark := len(m.claimed)
	if m.binary(name, "Mul", func(a, sq string) bool {
		return a == x && m.binary(sq, "Mul", func(b, c string) bool { return b == x && c == x })
	}) {
		return true
	}
	m.claimed = m.claimed[:mark]
	return m.binaryOrdered(name, "Pow", func(a, b string) bool { return a == x && m.scalar(b, 3) })
}

// op returns the node computing name if it is the standard op typ with the
// given number of inputs, one output, and no other user of that output.
func (m *matcher) op(name, typ string, inputs int) *onnxpb.NodeProto {
	p := m.producer[name]
	if p == nil || !standard(p) || p.GetOpType() != typ || len(p.GetInput()) != inputs || len(p.GetOutput()) != 1 ||
		len(m.l.consumers[name]) != 1 || m.l.outputs[name] || m.l.absorbed[p] {
		return nil
	}
	m.claimed = append(m.claimed, p)
	return p
}

// binary matches name = typ(a, b) with f(a, b) or f(b, a): the op commutes.
func (m *matcher) binary(name, typ string, f func(a, b string) bool) bool {
	mark := len(m.claimed)
	p := m.op(name, typ, 2)
	if p != nil && m.either(p, f) {
		return true
	}
	m.claimed = m.claimed[:mark]
	return false
}

// binaryOrdered matches name = typ(a, b) with f(a, b).
func (m *matcher) binaryOrdered(name, typ string, f func(a, b string) bool) bool {
	mark := len(m.claimed)
	p := m.op(name, typ, 2)
	if p != nil && f(p.GetInput()[0], p.GetInput()[1]) {
		return true
	}
	m.claimed = m.claimed[:mark]
	return false
}

// either calls f with a binary node's inputs in both orders, keeping the
// claims of the order that matched.
func (m *matcher) either(p *onnxpb.NodeProto, f func(a, b string) bool) bool {
	in := p.GetInput()
	mark := len(m.claimed)
	if f(in[0], in[1]) {
		return true
	}
	m.claimed = m.claimed[:mark]
	if f(in[1], in[0]) {
		return true
	}
	m.claimed = m.claimed[:mark]
	return false
}

// scalar reports whether name is a constant of one element within float32
// rounding of want, claiming a Constant node that only the formula reads.
func (m *matcher) scalar(name string, want float64) bool {
	var data []float64
	if t := m.l.initializers[name]; t != nil {
		data = t.c.data
	} else if p := m.producer[name]; p != nil && standard(p) && p.GetOpType() == "Constant" {
		_, d, err := constantValue(p)
		if err != nil {
			return false
		}
		data = d
		if len(m.l.consumers[name]) == 1 && !m.l.outputs[name] {
			m.claimed = append(m.claimed, p)
		}
	}
	return len(data) == 1 && math.Abs(data[0]-want) <= 1e-6*math.Abs(want)
}

package passes

import (
	"slices"

	"github.com/nngen/nngen/ir"
)

// recognize finds functions that arrive written as several ops and makes
// each one op of the table, with its own gradient and one loop: what
// torch.onnx.export writes for SiLU (x·σ(x)), Mish (x·tanh(softplus x)),
// Hardswish before opset 14 (x·hardsigmoid x), Softsign (x/(1+|x|)) and
// LayerNorm before opset 17 ((x-μ)/√(mean((x-μ)²)+ε), then its weight and
// bias as a mul and an add, which join it as its arguments), and the same
// written in a .nn file. The parts must have no other use.
func recognize(g *ir.Graph, _ Options) error {
	uses := g.Uses()
	dead := map[*ir.Value]bool{}
	only := func(v *ir.Value, op ir.Op) bool { return v.Op == op && uses[v] == 1 && !dead[v] }
	for _, v := range g.Values {
		if len(v.Args) != 2 || v.Phase != ir.Forward {
			continue
		}
		a, b := v.Args[0], v.Args[1]
		var op ir.Op
		var parts []*ir.Value
		switch v.Op {
		case ir.OpMul, ir.OpAdd:
			// A layer norm's weight (a mul of a layer_norm of x alone), then
			// its bias (an add to one with its weight), join the layer_norm.
			args := 1
			if v.Op == ir.OpAdd {
				args = 2
			}
			for _, pair := range [][2]*ir.Value{{a, b}, {b, a}} {
				n, p := pair[0], pair[1]
				if only(n, ir.OpLayerNorm) && len(n.Args) == args && slices.Equal(p.Shape, n.Shape[n.Axes[0]:]) && p.Phase == ir.Forward {
					v.Op, v.Args, v.Attrs = ir.OpLayerNorm, append(slices.Clone(n.Args), p), n.Attrs
					parts = []*ir.Value{n}
					break
				}
			}
			if v.Op != ir.OpMul {
				break
			}
			for _, pair := range [][2]*ir.Value{{a, b}, {b, a}} {
				x, f := pair[0], pair[1]
				switch {
				case only(f, ir.OpSigmoid) && f.Args[0] == x:
					op, parts = ir.OpSiLU, []*ir.Value{f}
				case only(f, ir.OpHardsigmoid) && f.Args[0] == x:
					op, parts = ir.OpHardswish, []*ir.Value{f}
				case only(f, ir.OpTanh) && only(f.Args[0], ir.OpSoftplus) && f.Args[0].Args[0] == x:
					op, parts = ir.OpMish, []*ir.Value{f, f.Args[0]}
				}
				if op != "" {
					v.Op, v.Args, v.Attrs = op, []*ir.Value{x}, ir.Attrs{}
					break
				}
			}
		case ir.OpDiv:
			if ln := layerNorm(v, only, uses); ln != nil {
				v.Op, v.Args, v.Attrs = ir.OpLayerNorm, []*ir.Value{ln.x}, ir.Attrs{Axes: ln.axes, Eps: ln.eps}
				parts = ln.parts
				break
			}
			x := a
			if d := b; only(d, ir.OpAdd) {
				for _, pair := range [][2]*ir.Value{{d.Args[0], d.Args[1]}, {d.Args[1], d.Args[0]}} {
					abs, one := pair[0], pair[1]
					if only(abs, ir.OpAbs) && abs.Args[0] == x && one.Op == ir.OpConst && one.Value == 1 {
						op, parts = ir.OpSoftsign, []*ir.Value{d, abs}
						v.Op, v.Args, v.Attrs = op, []*ir.Value{x}, ir.Attrs{}
						break
					}
				}
			}
		}
		for _, p := range parts {
			dead[p] = true
		}
	}
	g.Remove(dead)
	return nil
}

// layerNormParts is a layer norm found in its decomposition.
type layerNormParts struct {
	x     *ir.Value
	axes  []int
	eps   float64
	parts []*ir.Value
}

// layerNorm matches v = d / sqrt(mean(d·d or d², axes) + eps) with
// d = x - mean(x, axes), both means keeping the trailing axes they reduce.
func layerNorm(v *ir.Value, only func(*ir.Value, ir.Op) bool, uses map[*ir.Value]int) *layerNormParts {
	d, s := v.Args[0], v.Args[1]
	if d.Op != ir.OpSub || !only(s, ir.OpSqrt) || !only(s.Args[0], ir.OpAdd) {
		return nil
	}
	sum := s.Args[0]
	variance, eps := sum.Args[0], sum.Args[1]
	if eps.Op != ir.OpConst {
		variance, eps = eps, variance
	}
	if eps.Op != ir.OpConst || !(eps.Value > 0) || !only(variance, ir.OpMean) || !variance.KeepDims {
		return nil
	}
	sq := variance.Args[0]
	squares := sq.Op == ir.OpMul && sq.Args[0] == d && sq.Args[1] == d && uses[d] == 3 ||
		sq.Op == ir.OpPow && sq.Exponent == 2 && sq.Args[0] == d && uses[d] == 2
	x, mu := d.Args[0], d.Args[1]
	if !squares || uses[sq] != 1 || !only(mu, ir.OpMean) || !mu.KeepDims || mu.Args[0] != x ||
		!slices.Equal(mu.Axes, variance.Axes) || !trailing(mu.Axes, len(x.Shape)) {
		return nil
	}
	return &layerNormParts{x: x, axes: mu.Axes, eps: eps.Value, parts: []*ir.Value{mu, d, sq, variance, sum, s}}
}

// trailing reports whether axes are the last ones of a tensor of the rank.
func trailing(axes []int, rank int) bool {
	for i, a := range axes {
		if a != rank-len(axes)+i {
			return false
		}
	}
	return len(axes) > 0
}

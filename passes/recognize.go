package passes

import "github.com/nngen/nngen/ir"

// recognize finds functions that arrive written as several ops and makes
// each one op of the table, with its own gradient and one loop: what
// torch.onnx.export writes for SiLU (x·σ(x)), Mish (x·tanh(softplus x)),
// Hardswish before opset 14 (x·hardsigmoid x) and Softsign (x/(1+|x|)),
// and the same written in a .nn file. The parts must have no other use.
func recognize(g *ir.Graph, _ Options) error {
	uses := g.Uses()
	dead := map[*ir.Value]bool{}
	only := func(v *ir.Value, op ir.Op) bool { return v.Op == op && uses[v] == 1 && !dead[v] }
	for _, v := range g.Values {
		if len(v.Args) != 2 || v.Phase != ir.Forward {
			continue
		}
		a, b := v.Args[0], v.Args[1]
		var x *ir.Value
		var op ir.Op
		var parts []*ir.Value
		switch v.Op {
		case ir.OpMul:
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
			x = a
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

package passes

import (
	"testing"

	"github.com/nngen/nngen/ir"
)

// Each composite, as torch.onnx.export writes it, becomes its one op; a
// part with another use keeps the composite as it is.
func TestRecognize(t *testing.T) {
	type build func(g *ir.Graph, x *ir.Value, add func(ir.Op, ...*ir.Value) *ir.Value) *ir.Value
	one := func(g *ir.Graph) *ir.Value { return g.Leaf(ir.OpConst, "", ir.Shape{}, ir.Attrs{Value: 1}) }
	tests := []struct {
		want  ir.Op
		build build
	}{
		{ir.OpSiLU, func(g *ir.Graph, x *ir.Value, add func(ir.Op, ...*ir.Value) *ir.Value) *ir.Value {
			return add(ir.OpMul, x, add(ir.OpSigmoid, x))
		}},
		{ir.OpSiLU, func(g *ir.Graph, x *ir.Value, add func(ir.Op, ...*ir.Value) *ir.Value) *ir.Value {
			return add(ir.OpMul, add(ir.OpSigmoid, x), x)
		}},
		{ir.OpMish, func(g *ir.Graph, x *ir.Value, add func(ir.Op, ...*ir.Value) *ir.Value) *ir.Value {
			return add(ir.OpMul, x, add(ir.OpTanh, add(ir.OpSoftplus, x)))
		}},
		{ir.OpHardswish, func(g *ir.Graph, x *ir.Value, add func(ir.Op, ...*ir.Value) *ir.Value) *ir.Value {
			return add(ir.OpMul, x, add(ir.OpHardsigmoid, x))
		}},
		{ir.OpSoftsign, func(g *ir.Graph, x *ir.Value, add func(ir.Op, ...*ir.Value) *ir.Value) *ir.Value {
			return add(ir.OpDiv, x, add(ir.OpAdd, add(ir.OpAbs, x), one(g)))
		}},
		{ir.OpSoftsign, func(g *ir.Graph, x *ir.Value, add func(ir.Op, ...*ir.Value) *ir.Value) *ir.Value {
			return add(ir.OpDiv, x, add(ir.OpAdd, one(g), add(ir.OpAbs, x)))
		}},
	}
	for _, tt := range tests {
		for _, shared := range []bool{false, true} {
			g := ir.New("R", ir.F64, 2, false)
			x := g.Leaf(ir.OpInput, "x", ir.Shape{2, 3}, ir.Attrs{})
			add := func(op ir.Op, args ...*ir.Value) *ir.Value {
				v, err := g.Add(op, ir.Attrs{}, args...)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			y := tt.build(g, x, add)
			g.Outputs = []*ir.Value{y}
			part := y.Args[1]
			if y.Op == ir.OpMul && part == x {
				part = y.Args[0]
			}
			if shared {
				g.Outputs = append(g.Outputs, part)
			}
			before := len(g.Values)
			if err := recognize(g, Options{}); err != nil {
				t.Fatal(err)
			}
			if err := g.Verify(); err != nil {
				t.Fatalf("%s: %v", tt.want, err)
			}
			switch {
			case shared && (y.Op == tt.want || len(g.Values) != before):
				t.Errorf("%s recognized though a part is an output:\n%s", tt.want, g)
			case !shared && (y.Op != tt.want || len(y.Args) != 1 || y.Args[0] != x):
				t.Errorf("not recognized as %s:\n%s", tt.want, g)
			}
		}
	}
}

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

// A layer norm's weight and bias (a mul and an add of values shaped like
// the normalized axes) join the layer_norm before them, found as one op
// or as its decomposition; a weight of another shape, or a product with
// another use, stays a mul.
func TestRecognizeLayerNormAffine(t *testing.T) {
	for _, tt := range []struct {
		name        string
		decomposed  bool
		weightShape ir.Shape
		shared      bool
		wantArgs    int // of the layer_norm that the output is
	}{
		{"layer_norm", false, ir.Shape{4}, false, 3},
		{"decomposition", true, ir.Shape{4}, false, 3},
		{"weight of another shape", false, ir.Shape{3, 4}, false, 0},
		{"product used again", false, ir.Shape{4}, true, 0},
	} {
		g := ir.New("R", ir.F64, 2, false)
		add := func(op ir.Op, attrs ir.Attrs, args ...*ir.Value) *ir.Value {
			v, err := g.Add(op, attrs, args...)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		x := g.Leaf(ir.OpInput, "x", ir.Shape{2, 3, 4}, ir.Attrs{})
		w := g.Leaf(ir.OpParam, "ln.weight", tt.weightShape, ir.Attrs{})
		b := g.Leaf(ir.OpParam, "ln.bias", ir.Shape{4}, ir.Attrs{})
		axes := ir.Attrs{Axes: []int{2}, KeepDims: true}
		var n *ir.Value
		if tt.decomposed {
			d := add(ir.OpSub, ir.Attrs{}, x, add(ir.OpMean, axes, x))
			variance := add(ir.OpMean, axes, add(ir.OpMul, ir.Attrs{}, d, d))
			eps := g.Leaf(ir.OpConst, "", ir.Shape{}, ir.Attrs{Value: 1e-5})
			n = add(ir.OpDiv, ir.Attrs{}, d, add(ir.OpSqrt, ir.Attrs{}, add(ir.OpAdd, ir.Attrs{}, variance, eps)))
		} else {
			n = add(ir.OpLayerNorm, ir.Attrs{Axes: []int{2}, Eps: 1e-5}, x)
		}
		scaled := add(ir.OpMul, ir.Attrs{}, w, n)
		y := add(ir.OpAdd, ir.Attrs{}, scaled, b)
		g.Outputs = []*ir.Value{y}
		if tt.shared {
			g.Outputs = append(g.Outputs, scaled)
		}
		if err := recognize(g, Options{}); err != nil {
			t.Fatal(err)
		}
		if err := g.Verify(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		switch {
		case tt.wantArgs == 0 && y.Op != ir.OpAdd:
			t.Errorf("%s: the bias joined the layer norm:\n%s", tt.name, g)
		case tt.wantArgs != 0 && (y.Op != ir.OpLayerNorm || len(y.Args) != tt.wantArgs || y.Args[0] != x || y.Args[1] != w || y.Args[2] != b || y.Eps != 1e-5 || count(g, ir.OpMul)+count(g, ir.OpAdd)+count(g, ir.OpDiv) != 0):
			t.Errorf("%s: not one layer_norm of x, its weight and its bias:\n%s", tt.name, g)
		}
	}
}

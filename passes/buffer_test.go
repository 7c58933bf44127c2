package passes

import (
	"testing"

	"github.com/nngen/nngen/ir"
)

// A buffer read in the forward pass gets no gradient and no update, keeps
// a place of its own through the pipeline, and may be an int64 counter.
func TestBufferLeaf(t *testing.T) {
	g := ir.New("Buf", ir.F64, 2, false)
	x := g.Leaf(ir.OpInput, "x", ir.Shape{2, 3}, ir.Attrs{})
	scale := g.Leaf(ir.OpBuffer, "scale", ir.Shape{3}, ir.Attrs{Init: ir.InitOnes})
	count := g.Leaf(ir.OpBuffer, "count", ir.Shape{}, ir.Attrs{})
	count.DType = ir.I64
	w := g.Leaf(ir.OpParam, "fc.weight", ir.Shape{2, 3}, ir.Attrs{})
	add := func(op ir.Op, args ...*ir.Value) *ir.Value {
		v, err := g.Add(op, ir.Attrs{Reduction: ir.ReduceMean}, args...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	y := add(ir.OpLinear, add(ir.OpMul, x, scale), w)
	target := g.Leaf(ir.OpInput, "target", ir.Shape{2, 2}, ir.Attrs{})
	target.Phase = ir.Loss
	g.Outputs = []*ir.Value{y}
	g.Loss = add(ir.OpMSE, y, target)
	g.Loss.Phase = ir.Loss
	g.Optimizer = &ir.Optimizer{Kind: "sgd", Params: map[string]float64{"lr": 0.1, "momentum": 0.9}}
	if err := Run(g, Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	if got := g.Buffers(); len(got) != 2 || got[0] != scale || got[1] != count {
		t.Fatalf("buffers after the pipeline: %v", got)
	}
	for _, b := range g.Buffers() {
		if b.Grad != nil || b.Storage.Kind != ir.InBuffer || b.Storage.Param != b {
			t.Errorf("%s: gradient %v, storage %v", b.Name, b.Grad, b.Storage)
		}
	}
	for _, v := range g.Values {
		if v.Phase == ir.Update && len(v.Args) > 0 && v.Args[0].Op == ir.OpBuffer {
			t.Errorf("the optimizer updates the buffer %s: %s", v.Args[0].Name, v.LongString())
		}
		if v.Phase == ir.Backward && v.Name == "dscale" {
			t.Errorf("a gradient of the buffer: %s", v.LongString())
		}
	}
	if n := len(g.States()); n != 2 { // the step count and fc.weight's momentum
		t.Errorf("%d optimizer states, want 2", n)
	}
}

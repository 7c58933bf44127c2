package passes

import (
	"testing"

	"github.com/nngen/nngen/ir"
)

func TestScheduleGroupsPhases(t *testing.T) {
	// The loss is declared on layer1 before layer2 exists, as a .nn file
	// may do; layer2 is a forward value scheduled after the loss.
	g := ir.New("Early", ir.F32, 1, true)
	x := g.Leaf(ir.OpInput, "x", ir.Shape{1, 2}, ir.Attrs{})
	w1 := g.Leaf(ir.OpParam, "l1.weight", ir.Shape{3, 2}, ir.Attrs{})
	l1, _ := g.Add(ir.OpLinear, ir.Attrs{}, x, w1)
	target := g.Leaf(ir.OpInput, "target", ir.Shape{1, 3}, ir.Attrs{})
	target.Phase = ir.Loss
	loss, _ := g.Add(ir.OpMSE, ir.Attrs{Reduction: ir.ReduceMean}, l1, target)
	w2 := g.Leaf(ir.OpParam, "l2.weight", ir.Shape{1, 3}, ir.Attrs{})
	l2, _ := g.Add(ir.OpLinear, ir.Attrs{}, l1, w2)
	g.Loss, g.Outputs = loss, []*ir.Value{l2}

	if err := schedule(g, Options{}); err != nil {
		t.Fatal(err)
	}
	want := []*ir.Value{x, w1, l1, w2, l2, target, loss}
	for i, v := range g.Values {
		if v != want[i] {
			t.Fatalf("schedule[%d] = %s, want %s\n%s", i, v.LongString(), want[i].LongString(), g)
		}
	}
	if err := g.Verify(); err != nil {
		t.Error(err)
	}
}

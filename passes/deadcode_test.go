package passes

import (
	"testing"

	"github.com/nngen/nngen/ir"
)

func TestDeadcodeDropsInputGradient(t *testing.T) {
	g := mlp(t, 1, 4, 5, 3)
	runUpTo(t, g, "optimizer", Options{})
	var dx *ir.Value
	for _, v := range g.Values {
		if v.Name == "dx" {
			dx = v
		}
	}
	if dx == nil {
		t.Fatal("autodiff derived no dx to remove")
	}
	n := len(g.Values)
	if err := deadcode(g, Options{}); err != nil {
		t.Fatal(err)
	}
	if len(g.Values) != n-1 {
		t.Errorf("removed %d values, want only dx", n-len(g.Values))
	}
	for _, v := range g.Values {
		if v == dx {
			t.Error("dx survived")
		}
	}
	if err := g.Verify(); err != nil {
		t.Error(err)
	}
}

func TestDeadcodeKeepsTheAPI(t *testing.T) {
	// An inference graph whose input is not even used keeps its input and
	// parameters: they are the generated API.
	g := ir.New("Const", ir.F32, 1, true)
	g.Leaf(ir.OpInput, "x", ir.Shape{1, 2}, ir.Attrs{})
	w := g.Leaf(ir.OpParam, "w", ir.Shape{2, 2}, ir.Attrs{})
	unused, _ := g.Add(ir.OpSumRows, ir.Attrs{}, w)
	_ = unused
	if err := deadcode(g, Options{}); err != nil {
		t.Fatal(err)
	}
	if len(g.Values) != 2 {
		t.Errorf("after deadcode:\n%s", g)
	}
}

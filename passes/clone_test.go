package passes

import (
	"testing"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/ir/irtest"
)

// A clone runs through the pipeline as the graph itself would, and leaves
// the graph as it was: the two share nothing.
func TestClone(t *testing.T) {
	g := irtest.MLP(t, ir.F32, 8, false, 4, 5, 3)
	before := g.String()
	infer := g.Clone()
	if infer.String() != before {
		t.Fatalf("the clone differs:\n%s\nwant\n%s", infer, before)
	}
	if err := Run(infer, Options{Infer: true, Verify: true}); err != nil {
		t.Fatal(err)
	}
	if g.String() != before {
		t.Fatalf("the passes on the clone changed the graph:\n%s\nwant\n%s", g, before)
	}
	fresh := irtest.MLP(t, ir.F32, 8, false, 4, 5, 3)
	if err := Run(fresh, Options{Infer: true, Verify: true}); err != nil {
		t.Fatal(err)
	}
	if infer.String() != fresh.String() {
		t.Errorf("the clone's plan:\n%s\nwant\n%s", infer, fresh)
	}
	// A planned graph clones whole: gradients, storage and slots.
	if err := Run(g, Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	c := g.Clone()
	if c.String() != g.String() || c.Verify() != nil || c.CheckPlanned() != nil {
		t.Errorf("the planned clone:\n%s\nwant\n%s", c, g)
	}
	for i, v := range c.Values {
		if v == g.Values[i] || v.Storage.Param != nil && v.Storage.Param == g.Values[i].Storage.Param {
			t.Fatalf("the clone shares %s with the graph", v)
		}
	}
}

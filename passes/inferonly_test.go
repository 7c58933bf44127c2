package passes

import (
	"testing"

	"github.com/nngen/nngen/ir"
)

func TestInferOnlyDropsTraining(t *testing.T) {
	g := mlp(t, 4, 4, 5, 3)
	if err := Run(g, Options{Infer: true, Verify: true}); err != nil {
		t.Fatal(err)
	}
	if g.Loss != nil || g.Optimizer != nil {
		t.Error("loss or optimizer left in an inference graph")
	}
	for _, v := range g.Values {
		if v.Phase != ir.Forward || v.Grad != nil {
			t.Errorf("training value left: %s", v.LongString())
		}
	}
	if n := len(g.Inputs()); n != 1 {
		t.Errorf("%d inputs, want only x (the target goes)", n)
	}
}

func TestInferOnlyIsOffByDefault(t *testing.T) {
	g := mlp(t, 1, 4, 3)
	if err := inferOnly(g, Options{}); err != nil {
		t.Fatal(err)
	}
	if g.Loss == nil || count(g, ir.OpMSE) != 1 {
		t.Error("training dropped without Infer")
	}
}

package passes

import (
	"testing"

	"github.com/nngen/nngen/ir"
)

// mlp builds, with IR constructors, a network of linear layers of the given
// sizes with sigmoid between them, an MSE loss and SGD: sizes 4,5,7,3 and
// batch 1 unbatched is the tutorial network.
func mlp(t testing.TB, batch int, sizes ...int) *ir.Graph {
	t.Helper()
	g := ir.New("MLP", ir.F64, batch, batch == 1)
	must := func(v *ir.Value, err error) *ir.Value {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	h := g.Leaf(ir.OpInput, "x", ir.Shape{batch, sizes[0]}, ir.Attrs{})
	for i := 1; i < len(sizes); i++ {
		name := "layer" + string(rune('0'+i))
		w := g.Leaf(ir.OpParam, name+".weight", ir.Shape{sizes[i], sizes[i-1]}, ir.Attrs{})
		b := g.Leaf(ir.OpParam, name+".bias", ir.Shape{sizes[i]}, ir.Attrs{})
		h = must(g.Add(ir.OpLinear, ir.Attrs{}, h, w, b))
		h.Name = name
		if i < len(sizes)-1 {
			h = must(g.Add(ir.OpSigmoid, ir.Attrs{}, h))
			h.Name = "h" + string(rune('0'+i))
		}
	}
	g.Outputs = []*ir.Value{h}
	target := g.Leaf(ir.OpInput, "target", ir.Shape{batch, sizes[len(sizes)-1]}, ir.Attrs{})
	target.Phase = ir.Loss
	g.Loss = must(g.Add(ir.OpMSE, ir.Attrs{Reduction: "mean"}, h, target))
	g.Loss.Name = "loss"
	var errs []error
	g.Optimizer, errs = ir.NewOptimizer("sgd", map[string][]float64{"lr": {0.3}}, ir.Pos{})
	if errs != nil {
		t.Fatal(errs)
	}
	if err := g.Verify(); err != nil {
		t.Fatal(err)
	}
	return g
}

// Package irtest builds IR graphs for tests, failing the test on any error
// so that test code reads as the graph it builds.
package irtest

import (
	"strconv"
	"testing"

	"github.com/nngen/nngen/ir"
)

// Must returns a function that unwraps ir.Graph.Add's result, failing t on
// an error: must(g.Add(ir.OpReLU, ir.Attrs{}, x)).
func Must(t testing.TB) func(*ir.Value, error) *ir.Value {
	return func(v *ir.Value, err error) *ir.Value {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// MLP builds linear layers "layer1", "layer2", ... of the given sizes with
// sigmoid ("h1", "h2", ...) between them, an MSE loss against "target" and
// SGD with lr 0.3, not yet through the passes. MLP(t, ir.F32, 1, true, 4,
// 5, 7, 3) is the tutorial network.
func MLP(t testing.TB, dtype ir.DType, batch int, unbatched bool, sizes ...int) *ir.Graph {
	t.Helper()
	must := Must(t)
	g := ir.New("MLP", dtype, batch, unbatched)
	h := g.Leaf(ir.OpInput, "x", ir.Shape{batch, sizes[0]}, ir.Attrs{})
	for i := 1; i < len(sizes); i++ {
		name := "layer" + strconv.Itoa(i)
		w := g.Leaf(ir.OpParam, name+".weight", ir.Shape{sizes[i], sizes[i-1]}, ir.Attrs{})
		b := g.Leaf(ir.OpParam, name+".bias", ir.Shape{sizes[i]}, ir.Attrs{})
		h = must(g.Add(ir.OpLinear, ir.Attrs{}, h, w, b))
		h.Name = name
		if i < len(sizes)-1 {
			h = must(g.Add(ir.OpSigmoid, ir.Attrs{}, h))
			h.Name = "h" + strconv.Itoa(i)
		}
	}
	g.Outputs = []*ir.Value{h}
	target := g.Leaf(ir.OpInput, "target", ir.Shape{batch, sizes[len(sizes)-1]}, ir.Attrs{})
	target.Phase = ir.Loss
	g.Loss = must(g.Add(ir.OpMSE, ir.Attrs{Reduction: ir.ReduceMean}, h, target))
	g.Loss.Name = "loss"
	var errs []error
	if g.Optimizer, errs = ir.NewOptimizer("sgd", map[string][]float64{"lr": {0.3}}, ir.Pos{}); errs != nil {
		t.Fatal(errs)
	}
	if err := g.Verify(); err != nil {
		t.Fatal(err)
	}
	return g
}

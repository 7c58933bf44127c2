package passes

import (
	"strings"
	"testing"

	"github.com/nngen/nngen/ir"
)

// The backward graph of one fused layer with MSE, written out: each line is
// one gradient rule's output.
func TestAutodiffOneLayer(t *testing.T) {
	g := mlp(t, 2, 3, 4, 2)
	runUpTo(t, g, "autodiff", Options{})
	want := `v10 = const[value=1] <f64[]>
v11 = mse_grad[reduction=mean] <f64[2,2]> v7 v8 v10 "dlayer2"
v12 = matmul <f64[2,4]> v11 v5 "dh1"
v13 = matmul[ta] <f64[2,4]> v11 v3 "dlayer2.weight"
v14 = sum_rows <f64[2]> v11 "dlayer2.bias"
v15 = sigmoid_grad <f64[2,4]> v12 v3 "dh1.pre"
v16 = matmul <f64[2,3]> v15 v1 "dx"
v17 = matmul[ta] <f64[4,3]> v15 v0 "dlayer1.weight"
v18 = sum_rows <f64[4]> v15 "dlayer1.bias"`
	if got := section(g, ir.Backward); got != want {
		t.Errorf("backward:\n%s\nwant:\n%s", got, want)
	}
	for _, p := range g.Params() {
		if p.Grad == nil || p.Grad.Name != "d"+p.Name {
			t.Errorf("%s: gradient %v", p.Name, p.Grad)
		}
	}
}

// A value read twice gets the sum of both gradients.
func TestAutodiffAccumulates(t *testing.T) {
	g := ir.New("Twice", ir.F64, 1, true)
	x := g.Leaf(ir.OpInput, "x", ir.Shape{1, 2}, ir.Attrs{})
	w := g.Leaf(ir.OpParam, "l.weight", ir.Shape{2, 2}, ir.Attrs{})
	h, _ := g.Add(ir.OpLinear, ir.Attrs{}, x, w)
	s, _ := g.Add(ir.OpSigmoid, ir.Attrs{}, h)
	y, _ := g.Add(ir.OpAdd, ir.Attrs{}, h, s) // h reaches y directly and through s
	target := g.Leaf(ir.OpInput, "t", ir.Shape{1, 2}, ir.Attrs{})
	target.Phase = ir.Loss
	g.Loss, _ = g.Add(ir.OpMSE, ir.Attrs{Reduction: "sum"}, y, target)
	g.Outputs = []*ir.Value{y}
	if err := autodiff(g, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := g.Verify(); err != nil {
		t.Fatal(err)
	}
	// dy flows to h twice: once as is (from add), once through sigmoid.
	matmuls := 0
	for _, v := range g.Values {
		if v.Op == ir.OpMatMul && v.TransA {
			matmuls++
			dz := v.Args[0]
			if dz.Op != ir.OpAdd || dz.Args[1].Op != ir.OpSigmoidGrad {
				t.Errorf("dl.weight is not built from the summed gradient: %s", g)
			}
		}
	}
	if matmuls != 1 {
		t.Errorf("%d weight gradients, want 1", matmuls)
	}
}

func TestAutodiffRejectsUnusedParameter(t *testing.T) {
	g := mlp(t, 1, 4, 3)
	g.Leaf(ir.OpParam, "spare.weight", ir.Shape{2, 2}, ir.Attrs{})
	err := autodiff(g, Options{})
	if err == nil || !strings.Contains(err.Error(), "parameter spare.weight does not affect the loss") {
		t.Errorf("err = %v", err)
	}
}

func TestAutodiffWithoutLossDoesNothing(t *testing.T) {
	g := mlp(t, 1, 4, 3)
	g.Loss = nil
	n := len(g.Values)
	if err := autodiff(g, Options{}); err != nil || len(g.Values) != n {
		t.Errorf("err %v, %d values, want %d", err, len(g.Values), n)
	}
}

// Every op with a forward rule that autodiff can meet has a gradient rule.
func TestEveryForwardOpHasAGradientRule(t *testing.T) {
	for _, op := range []ir.Op{ir.OpLinear, ir.OpSigmoid, ir.OpMSE, ir.OpAdd} {
		if gradRules[op] == nil {
			t.Errorf("no gradient rule for %s", op)
		}
	}
	for act := range ir.Activations {
		if gradRules[act] == nil || ir.ActivationGrad[act] == "" {
			t.Errorf("activation %s lacks a gradient", act)
		}
	}
}

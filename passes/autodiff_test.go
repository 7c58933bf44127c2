package passes

import (
	"slices"
	"strings"
	"testing"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/ir/irtest"
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
	g.Loss, _ = g.Add(ir.OpMSE, ir.Attrs{Reduction: ir.ReduceSum}, y, target)
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
	if err == nil || !strings.Contains(err.Error(), "spare.weight does not affect the loss, so it would get no gradient") {
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

// Every op that autodiff can meet in a forward graph has a gradient rule.
func TestEveryForwardOpHasAGradientRule(t *testing.T) {
	ops := []ir.Op{ir.OpLinear, ir.OpAdd, ir.OpSub, ir.OpMul, ir.OpDiv, ir.OpSoftmax, ir.OpLogSoftmax,
		ir.OpSum, ir.OpMean, ir.OpMax, ir.OpReshape, ir.OpPermute, ir.OpExpand, ir.OpSumTo,
		ir.OpConcat, ir.OpSlice, ir.OpMatMul, ir.OpLayerNorm, ir.OpDropoutMask}
	for _, u := range ir.UnaryOps() {
		ops = append(ops, u.Op)
	}
	for loss := range ir.Losses {
		ops = append(ops, loss)
	}
	for _, op := range ops {
		if _, ok := ruleFor(op); !ok {
			t.Errorf("no gradient rule for %s", op)
		}
	}
}

// Each activation's gradient op, fused into layer1 or not: it reads the
// upstream gradient dh1 and the activation's output (the fused linear, or
// the activation value), except gelu's, which reads its input: layer1 kept
// beside the gelu it also computes. Attributes carry over.
func TestAutodiffActivations(t *testing.T) {
	attrs := map[ir.Op]ir.Attrs{ir.OpLeakyReLU: {Alpha: 0.2}, ir.OpGELU: {Approx: ir.ApproxTanh}}
	for act, info := range ir.Activations() {
		for _, noFuse := range []bool{false, true} {
			g := actNet(t, act, attrs[act], ir.OpMSE)
			runUpTo(t, g, "autodiff", Options{NoFuse: noFuse})
			grad := only(t, g, info.Grad)
			from := valueNamed(t, g, "h1") // the activation's output
			if info.FromInput {
				from = valueNamed(t, g, "layer1")
			}
			if grad.Phase != ir.Backward || grad.Args[0] != valueNamed(t, g, "dh1") || grad.Args[1] != from {
				t.Errorf("%s (nofuse %v): %s, want its gradient from dh1 and %s", act, noFuse, grad.LongString(), from.LongString())
			}
			if grad.Alpha != attrs[act].Alpha || grad.Approx != attrs[act].Approx {
				t.Errorf("%s (nofuse %v): %s lost the activation's attributes %+v", act, noFuse, grad.LongString(), attrs[act])
			}
			// The weight gradient of layer1 starts from it.
			if dw := valueNamed(t, g, "dlayer1.weight"); dw.Args[0] != grad {
				t.Errorf("%s (nofuse %v): %s does not read %s", act, noFuse, dw.LongString(), grad)
			}
			if fused := !noFuse && !info.FromInput; fused != (count(g, act) == 0) {
				t.Errorf("%s (nofuse %v): %d %s values left", act, noFuse, count(g, act), act)
			}
		}
	}
}

// The backward graph of a fused leaky_relu and of gelu computed beside its
// linear, written out.
func TestAutodiffFusedText(t *testing.T) {
	for _, tt := range []struct {
		act   ir.Op
		attrs ir.Attrs
		want  string
	}{
		{ir.OpLeakyReLU, ir.Attrs{Alpha: 0.2}, `v10 = const[value=1] <f64[]>
v11 = mse_grad[reduction=sum] <f64[2,2]> v7 v8 v10 "dlayer2"
v12 = matmul <f64[2,4]> v11 v5 "dh1"
v13 = matmul[ta] <f64[2,4]> v11 v3 "dlayer2.weight"
v14 = sum_rows <f64[2]> v11 "dlayer2.bias"
v15 = leaky_relu_grad[alpha=0.2] <f64[2,4]> v12 v3 "dh1.pre"
v16 = matmul <f64[2,3]> v15 v1 "dx"
v17 = matmul[ta] <f64[4,3]> v15 v0 "dlayer1.weight"
v18 = sum_rows <f64[4]> v15 "dlayer1.bias"`},
		{ir.OpGELU, ir.Attrs{}, `v10 = const[value=1] <f64[]>
v11 = mse_grad[reduction=sum] <f64[2,2]> v7 v8 v10 "dlayer2"
v12 = matmul <f64[2,4]> v11 v5 "dh1"
v13 = matmul[ta] <f64[2,4]> v11 v4 "dlayer2.weight"
v14 = sum_rows <f64[2]> v11 "dlayer2.bias"
v15 = gelu_grad <f64[2,4]> v12 v3 "dlayer1"
v16 = matmul <f64[2,3]> v15 v1 "dx"
v17 = matmul[ta] <f64[4,3]> v15 v0 "dlayer1.weight"
v18 = sum_rows <f64[4]> v15 "dlayer1.bias"`},
	} {
		g := actNet(t, tt.act, tt.attrs, ir.OpMSE)
		runUpTo(t, g, "autodiff", Options{})
		if got := section(g, ir.Backward); got != tt.want {
			t.Errorf("%s backward:\n%s\nwant:\n%s", tt.act, got, tt.want)
		}
	}
}

// Each loss's gradient op reads the output, the target and dL = 1, with
// the loss's reduction; the target is data and gets no gradient.
func TestAutodiffLosses(t *testing.T) {
	for loss, gradOp := range ir.Losses {
		g := actNet(t, ir.OpReLU, ir.Attrs{}, loss)
		runUpTo(t, g, "autodiff", Options{})
		grad := only(t, g, gradOp)
		target := valueNamed(t, g, "target")
		layer2 := valueNamed(t, g, "layer2")
		one := grad.Args[2]
		if grad.Args[0] != layer2 || grad.Args[1] != target || one.Op != ir.OpConst || one.Value != 1 {
			t.Errorf("%s: %s, want the gradient of %s against %s from the constant 1", loss, grad.LongString(), layer2, target)
		}
		if want := (&ir.Value{Op: gradOp, Attrs: lossOptions(loss)}).LongString(); (&ir.Value{Op: gradOp, Attrs: grad.Attrs}).LongString() != want {
			t.Errorf("%s: %s, want the loss's options: %s", loss, grad.LongString(), want)
		}
		if grad.Reduction != ir.ReduceSum || grad.Name != "dlayer2" || !slices.Equal(grad.Shape, layer2.Shape) || grad.DType != ir.F64 {
			t.Errorf("%s: %s", loss, grad.LongString())
		}
		// The output's gradient flows into layer2's parameters.
		if dw := valueNamed(t, g, "dlayer2.weight"); dw.Args[0] != grad {
			t.Errorf("%s: %s does not read %s", loss, dw.LongString(), grad)
		}
		for _, v := range g.Values {
			if v.Name == "dtarget" || v.Phase == ir.Backward && v != grad && slices.Contains(v.Args, target) {
				t.Errorf("%s: the target takes a gradient: %s", loss, v.LongString())
			}
		}
	}
}

// cross_entropy's integer target goes through the whole pipeline as an
// argument of the generated method, and only its loss and gradient read it.
func TestCrossEntropyPipeline(t *testing.T) {
	g := actNet(t, ir.OpTanh, ir.Attrs{}, ir.OpCrossEntropy)
	if err := Run(g, Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	target := valueNamed(t, g, "target")
	if target.DType != ir.Int || target.Storage.Kind != ir.InArg || !slices.Equal(target.Shape, ir.Shape{2}) {
		t.Errorf("target %s", target.LongString())
	}
	var readers []ir.Op
	for _, v := range g.Values {
		if slices.Contains(v.Args, target) {
			readers = append(readers, v.Op)
		}
	}
	if !slices.Equal(readers, []ir.Op{ir.OpCrossEntropy, ir.OpCrossEntropyGrad}) {
		t.Errorf("the target is read by %v", readers)
	}
}

// A linear fused with gelu has lost the pre-activation that gelu's
// gradient needs; fuse never builds one in training, and autodiff says so
// rather than differentiating it wrongly.
func TestAutodiffRejectsFusedGELU(t *testing.T) {
	g := actNet(t, ir.OpGELU, ir.Attrs{}, ir.OpMSE)
	runUpTo(t, g, "schedule", Options{})
	layer1, gelu := g.Values[3], g.Values[4]
	layer1.Act, layer1.Name = "gelu", gelu.Name
	g.Replace(gelu, layer1)
	g.Remove(map[*ir.Value]bool{gelu: true})
	if err := g.Verify(); err != nil {
		t.Fatal(err)
	}
	err := autodiff(g, Options{})
	if err == nil || !strings.Contains(err.Error(), "v3: fused gelu needs its input for the gradient") {
		t.Errorf("err = %v", err)
	}
}

// lossOptions are the attributes actNet gives its loss: reduction sum,
// and each loss's options set away from their defaults.
func lossOptions(loss ir.Op) ir.Attrs {
	a := ir.Attrs{Reduction: ir.ReduceSum}
	switch loss {
	case ir.OpNLL:
		a.Weight, a.Ignores, a.IgnoreIndex = []float64{1, 2}, true, 1
	case ir.OpSmoothL1:
		a.Delta = 0.5
	case ir.OpHuber:
		a.Delta = 2
	}
	return a
}

// actNet builds, with IR constructors, x[2,3] -> linear "layer1" [2,4] ->
// act "h1" -> linear "layer2" [2,2], the output, with the given loss
// (reduction sum) against "target" and SGD:
//
//	v0 x, v1 layer1.weight, v2 layer1.bias, v3 layer1, v4 h1,
//	v5 layer2.weight, v6 layer2.bias, v7 layer2, v8 target, v9 loss
//
// attrs are the activation's (alpha, approx). cross_entropy's target holds
// one class index per sample, so it is Int [2].
func actNet(t testing.TB, act ir.Op, attrs ir.Attrs, loss ir.Op) *ir.Graph {
	t.Helper()
	g := ir.New("Act", ir.F64, 2, false)
	must := irtest.Must(t)
	x := g.Leaf(ir.OpInput, "x", ir.Shape{2, 3}, ir.Attrs{})
	w1 := g.Leaf(ir.OpParam, "layer1.weight", ir.Shape{4, 3}, ir.Attrs{})
	b1 := g.Leaf(ir.OpParam, "layer1.bias", ir.Shape{4}, ir.Attrs{})
	l1 := must(g.Add(ir.OpLinear, ir.Attrs{}, x, w1, b1))
	l1.Name = "layer1"
	h := must(g.Add(act, attrs, l1))
	h.Name = "h1"
	w2 := g.Leaf(ir.OpParam, "layer2.weight", ir.Shape{2, 4}, ir.Attrs{})
	b2 := g.Leaf(ir.OpParam, "layer2.bias", ir.Shape{2}, ir.Attrs{})
	l2 := must(g.Add(ir.OpLinear, ir.Attrs{}, h, w2, b2))
	l2.Name = "layer2"
	g.Outputs = []*ir.Value{l2}
	target := g.Leaf(ir.OpInput, "target", ir.Shape{2, 2}, ir.Attrs{})
	if ir.ClassLoss(loss) {
		target.Shape, target.DType = ir.Shape{2}, ir.Int
	}
	target.Phase = ir.Loss
	g.Loss = must(g.Add(loss, lossOptions(loss), l2, target))
	g.Loss.Name = "loss"
	var errs []error
	if g.Optimizer, errs = ir.NewOptimizer("sgd", map[string][]float64{"lr": {0.1}}, ir.Pos{}); errs != nil {
		t.Fatal(errs)
	}
	if err := g.Verify(); err != nil {
		t.Fatal(err)
	}
	return g
}

// valueNamed returns g's value with the given name, or fails.
func valueNamed(t testing.TB, g *ir.Graph, name string) *ir.Value {
	t.Helper()
	for _, v := range g.Values {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no value %q in\n%s", name, g)
	return nil
}

// only returns g's one value computing op, or fails.
func only(t testing.TB, g *ir.Graph, op ir.Op) *ir.Value {
	t.Helper()
	var found []*ir.Value
	for _, v := range g.Values {
		if v.Op == op {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d values compute %s, want 1:\n%s", len(found), op, g)
	}
	return found[0]
}

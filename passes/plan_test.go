package passes

import (
	"slices"
	"testing"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/ir/irtest"
)

func TestPlanTutorialSlots(t *testing.T) {
	g := mlp(t, 1, 4, 5, 7, 3)
	if err := Run(g, Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	// h1 and h2 live until backward reads them; the output until the loss;
	// backward temporaries reuse what is dead by then.
	var sizes []int
	for _, s := range g.Slots {
		sizes = append(sizes, s.Size)
	}
	if want := []int{5, 7, 7, 1, 7}; !slices.Equal(sizes, want) {
		t.Errorf("slot sizes %v, want %v\n%s", sizes, want, g)
	}
	checkLifetimes(t, g)
}

func TestPlanStorageKinds(t *testing.T) {
	g := mlp(t, 8, 4, 5, 3)
	if err := Run(g, Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	for _, v := range g.Values {
		want := ir.InSlot
		switch {
		case v.Op == ir.OpInput:
			want = ir.InArg
		case v.Op == ir.OpParam, v.Op == ir.OpSGD:
			want = ir.InParam
		case v.Op == ir.OpHyper:
			want = ir.InHyper
		case v.Op == ir.OpConst:
			want = ir.InConst
		}
		for _, p := range g.Params() {
			if p.Grad == v {
				want = ir.InGrad
			}
		}
		if v.Storage.Kind != want {
			t.Errorf("%s: storage %v, want kind %d", v.LongString(), v.Storage, want)
		}
	}
	checkLifetimes(t, g)
}

// checkLifetimes fails if two values share a slot while both are live, in
// the order Backward runs them, or if a value shares a slot with one of its
// arguments.
func checkLifetimes(t *testing.T, g *ir.Graph) {
	t.Helper()
	last := lastUses(g)
	index := map[*ir.Value]int{}
	for i, v := range g.Values {
		index[v] = i
	}
	for _, s := range g.Slots {
		for i, a := range s.Values {
			for _, b := range s.Values[i+1:] {
				if index[b] <= last[a] {
					t.Errorf("%s is written while %s, in the same slot, is still read", b, a)
				}
			}
		}
	}
	for _, v := range g.Values {
		for _, a := range v.Args {
			if v.Storage.Kind == ir.InSlot && a.Storage == v.Storage {
				t.Errorf("%s shares a slot with its argument %s", v, a)
			}
		}
	}
}

// A linear's Also value is written in the linear's loop, while the linear
// still reads its arguments: it must not take the slot of an argument that
// dies at the linear. Built by hand, as the pipeline keeps a training
// linear's input alive for the weight gradient anyway: here h (relu of
// layer1, unfused) is last read by layer2, which also computes gelu.
func TestPlanAlsoAvoidsTheLinearsArguments(t *testing.T) {
	g := ir.New("Also", ir.F64, 2, false)
	must := irtest.Must(t)
	x := g.Leaf(ir.OpInput, "x", ir.Shape{2, 3}, ir.Attrs{})
	w1 := g.Leaf(ir.OpParam, "layer1.weight", ir.Shape{4, 3}, ir.Attrs{})
	w2 := g.Leaf(ir.OpParam, "layer2.weight", ir.Shape{4, 4}, ir.Attrs{})
	l1 := must(g.Add(ir.OpLinear, ir.Attrs{}, x, w1))
	h := must(g.Add(ir.OpReLU, ir.Attrs{}, l1))
	l2 := must(g.Add(ir.OpLinear, ir.Attrs{}, h, w2))
	gelu := must(g.Add(ir.OpGELU, ir.Attrs{}, l2))
	l2.Also = gelu
	g.Outputs = []*ir.Value{gelu}
	if err := g.Verify(); err != nil {
		t.Fatal(err)
	}
	if err := plan(g, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := g.Verify(); err != nil {
		t.Fatal(err)
	}
	checkLifetimes(t, g)
	checkAlsoSlots(t, g)
	// l1's slot is free again once relu has read it: l2 takes it; the
	// gelu needs a third slot, not h's.
	if l2.Storage.Kind != ir.InSlot || gelu.Storage.Kind != ir.InSlot || gelu.Storage == h.Storage || gelu.Storage == l2.Storage {
		t.Errorf("planned:\n%s", g)
	}
	if len(g.Slots) != 3 {
		t.Errorf("%d slots, want 3:\n%s", len(g.Slots), g)
	}
}

// checkAlsoSlots fails if a linear's Also value shares a slot with the
// linear or any of its arguments.
func checkAlsoSlots(t *testing.T, g *ir.Graph) {
	t.Helper()
	for _, v := range g.Values {
		if v.Also == nil {
			continue
		}
		if v.Also.Storage.Kind != ir.InSlot {
			t.Errorf("%s computes %s, which is not in a slot", v, v.Also.LongString())
		}
		for _, a := range append([]*ir.Value{v}, v.Args...) {
			if a.Storage == v.Also.Storage {
				t.Errorf("%s, computed by %s, shares a slot with %s", v.Also, v, a)
			}
		}
	}
}

// A training network with gelu between every layer: each linear keeps its
// pre-activation for gelu's gradient and computes its gelu in the same
// loop; all of them live in slots that respect every lifetime.
func TestPlanGELUNetwork(t *testing.T) {
	g := ir.New("GELU", ir.F64, 4, false)
	must := irtest.Must(t)
	h := g.Leaf(ir.OpInput, "x", ir.Shape{4, 3}, ir.Attrs{})
	sizes := []int{3, 6, 5, 4, 2}
	for i := 1; i < len(sizes); i++ {
		name := "layer" + string(rune('0'+i))
		w := g.Leaf(ir.OpParam, name+".weight", ir.Shape{sizes[i], sizes[i-1]}, ir.Attrs{})
		b := g.Leaf(ir.OpParam, name+".bias", ir.Shape{sizes[i]}, ir.Attrs{})
		h = must(g.Add(ir.OpLinear, ir.Attrs{}, h, w, b))
		h.Name = name
		if i < len(sizes)-1 {
			h = must(g.Add(ir.OpGELU, ir.Attrs{Approx: ir.ApproxTanh}, h))
			h.Name = "h" + string(rune('0'+i))
		}
	}
	g.Outputs = []*ir.Value{h}
	target := g.Leaf(ir.OpInput, "target", ir.Shape{4, 2}, ir.Attrs{})
	target.Phase = ir.Loss
	g.Loss = must(g.Add(ir.OpBCEWithLogits, ir.Attrs{Reduction: ir.ReduceMean}, h, target))
	var errs []error
	if g.Optimizer, errs = ir.NewOptimizer("adamw", nil, ir.Pos{}); errs != nil {
		t.Fatal(errs)
	}
	if err := Run(g, Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	also := 0
	for _, v := range g.Values {
		if v.Also != nil {
			also++
		}
	}
	if also != 3 || count(g, ir.OpGELUGrad) != 3 {
		t.Errorf("%d linears compute their gelu, %d gelu gradients; want 3 and 3:\n%s", also, count(g, ir.OpGELUGrad), g)
	}
	checkLifetimes(t, g)
	checkAlsoSlots(t, g)
}

// Optimizer state lives in its own fields; the step count's increment and
// the updates are stored in place, into the state and the parameters.
func TestPlanOptimizerState(t *testing.T) {
	for _, settings := range []struct {
		kind  string
		given map[string][]float64
	}{
		{"adam", nil},
		{"sgd", map[string][]float64{"lr": {0.1}, "momentum": {0.9}}},
	} {
		g := mlp(t, 2, 4, 5, 3)
		var errs []error
		if g.Optimizer, errs = ir.NewOptimizer(settings.kind, settings.given, ir.Pos{}); errs != nil {
			t.Fatal(errs)
		}
		if err := Run(g, Options{Verify: true}); err != nil {
			t.Fatal(err)
		}
		for _, v := range g.Values {
			switch v.Op {
			case ir.OpState:
				if v.Storage.Kind != ir.InState || v.Storage.Param != v || v.Storage.String() != "state" {
					t.Errorf("%s: %s", settings.kind, v.LongString())
				}
			case ir.OpStepCount:
				if v.Storage != v.Args[0].Storage || v.Storage.Kind != ir.InState {
					t.Errorf("%s: %s is not stored in its state %s", settings.kind, v.LongString(), v.Args[0].LongString())
				}
			case ir.OpAdam, ir.OpSGDMomentum:
				if v.Storage.Kind != ir.InParam || v.Storage.Param != v.Args[0] {
					t.Errorf("%s: %s is not stored in its parameter", settings.kind, v.LongString())
				}
			}
			// Nothing of the optimizer takes a scratch slot.
			if v.Phase == ir.Update && v.Storage.Kind == ir.InSlot {
				t.Errorf("%s: %s in a slot", settings.kind, v.LongString())
			}
		}
		if len(g.States()) == 0 {
			t.Errorf("%s: no state", settings.kind)
		}
		checkLifetimes(t, g)
	}
}

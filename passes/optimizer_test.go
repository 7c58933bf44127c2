package passes

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/nngen/nngen/ir"
)

func TestLowerSGD(t *testing.T) {
	g := mlp(t, 1, 4, 3)
	runUpTo(t, g, "optimizer", Options{})
	want := `v11 = hyper[value=0.3] <f64[]> "lr"
v12 = hyper[value=0] <f64[]> "weight_decay"
v13 = sgd <f64[3,4]> v1 v9 v11 v12 "layer1.weight"
v14 = sgd <f64[3]> v2 v10 v11 v12 "layer1.bias"`
	if got := section(g, ir.Update); got != want {
		t.Errorf("update:\n%s\nwant:\n%s", got, want)
	}
	if n := len(g.States()); n != 0 {
		t.Errorf("plain SGD has %d state values", n)
	}
}

// withOptimizer is mlp(1, 4, 3), one linear layer with MSE, trained by the
// given optimizer.
func withOptimizer(t *testing.T, kind string, settings map[string][]float64) *ir.Graph {
	t.Helper()
	g := mlp(t, 1, 4, 3)
	var errs []error
	if g.Optimizer, errs = ir.NewOptimizer(kind, settings, ir.Pos{}); errs != nil {
		t.Fatal(errs)
	}
	return g
}

// Momentum SGD keeps a buffer per parameter, named as in PyTorch's
// optimizer state_dict, and one step count (the first step initialises
// the buffers); Nesterov momentum is an attribute of the update.
func TestLowerSGDMomentum(t *testing.T) {
	g := withOptimizer(t, "sgd", map[string][]float64{"lr": {0.1}, "momentum": {0.9}, "nesterov": {1}, "weight_decay": {1e-4}})
	runUpTo(t, g, "optimizer", Options{})
	want := `v11 = state <int[]> "steps"
v12 = step_count <int[]> v11 "steps"
v13 = state <f64[3,4]> "layer1.weight.momentum_buffer"
v14 = hyper[value=0.1] <f64[]> "lr"
v15 = hyper[value=0.9] <f64[]> "momentum"
v16 = hyper[value=0] <f64[]> "dampening"
v17 = hyper[value=0.0001] <f64[]> "weight_decay"
v18 = sgd_momentum[nesterov] <f64[3,4]> v1 v9 v13 v12 v14 v15 v16 v17 "layer1.weight"
v19 = state <f64[3]> "layer1.bias.momentum_buffer"
v20 = sgd_momentum[nesterov] <f64[3]> v2 v10 v19 v12 v14 v15 v16 v17 "layer1.bias"`
	if got := section(g, ir.Update); got != want {
		t.Errorf("update:\n%s\nwant:\n%s", got, want)
	}

	g = withOptimizer(t, "sgd", map[string][]float64{"lr": {0.1}, "momentum": {0.9}, "dampening": {0.5}})
	runUpTo(t, g, "optimizer", Options{})
	for _, v := range g.Values {
		if v.Op == ir.OpSGDMomentum && (v.Nesterov || !strings.HasPrefix(v.LongString(), v.String()+" = sgd_momentum <")) {
			t.Errorf("without nesterov: %s", v.LongString())
		}
	}
	if n := count(g, ir.OpSGDMomentum); n != 2 {
		t.Errorf("%d sgd_momentum updates, want 2", n)
	}
}

func TestLowerAdam(t *testing.T) {
	g := withOptimizer(t, "adam", nil)
	runUpTo(t, g, "optimizer", Options{})
	want := `v11 = state <int[]> "steps"
v12 = step_count <int[]> v11 "steps"
v13 = state <f64[3,4]> "layer1.weight.exp_avg"
v14 = state <f64[3,4]> "layer1.weight.exp_avg_sq"
v15 = hyper[value=0.001] <f64[]> "lr"
v16 = hyper[value=0.9] <f64[]> "beta1"
v17 = hyper[value=0.999] <f64[]> "beta2"
v18 = hyper[value=1e-08] <f64[]> "eps"
v19 = hyper[value=0] <f64[]> "weight_decay"
v20 = adam <f64[3,4]> v1 v9 v13 v14 v12 v15 v16 v17 v18 v19 "layer1.weight"
v21 = state <f64[3]> "layer1.bias.exp_avg"
v22 = state <f64[3]> "layer1.bias.exp_avg_sq"
v23 = adam <f64[3]> v2 v10 v21 v22 v12 v15 v16 v17 v18 v19 "layer1.bias"`
	if got := section(g, ir.Update); got != want {
		t.Errorf("update:\n%s\nwant:\n%s", got, want)
	}
}

// AdamW is Adam with decoupled weight decay, whose default is 1e-2.
func TestLowerAdamW(t *testing.T) {
	g := withOptimizer(t, "adamw", map[string][]float64{"betas": {0.8, 0.99}})
	runUpTo(t, g, "optimizer", Options{})
	want := `v11 = state <int[]> "steps"
v12 = step_count <int[]> v11 "steps"
v13 = state <f64[3,4]> "layer1.weight.exp_avg"
v14 = state <f64[3,4]> "layer1.weight.exp_avg_sq"
v15 = hyper[value=0.001] <f64[]> "lr"
v16 = hyper[value=0.8] <f64[]> "beta1"
v17 = hyper[value=0.99] <f64[]> "beta2"
v18 = hyper[value=1e-08] <f64[]> "eps"
v19 = hyper[value=0.01] <f64[]> "weight_decay"
v20 = adam[decoupled] <f64[3,4]> v1 v9 v13 v14 v12 v15 v16 v17 v18 v19 "layer1.weight"
v21 = state <f64[3]> "layer1.bias.exp_avg"
v22 = state <f64[3]> "layer1.bias.exp_avg_sq"
v23 = adam[decoupled] <f64[3]> v2 v10 v21 v22 v12 v15 v16 v17 v18 v19 "layer1.bias"`
	if got := section(g, ir.Update); got != want {
		t.Errorf("update:\n%s\nwant:\n%s", got, want)
	}
}

// Only the settings that the chosen update reads become hyperparameters
// (fields of the generated model), each once, with its setting's value.
func TestLowerMakesOnlyTheHypersItReads(t *testing.T) {
	for _, tt := range []struct {
		name     string
		kind     string
		settings map[string][]float64
		want     []string
	}{
		{"sgd", "sgd", map[string][]float64{"lr": {0.1}}, []string{"lr", "weight_decay"}},
		{"sgd dampening without momentum", "sgd", map[string][]float64{"lr": {0.1}, "dampening": {0.3}}, []string{"lr", "weight_decay"}},
		{"sgd momentum", "sgd", map[string][]float64{"lr": {0.1}, "momentum": {0.5}}, []string{"lr", "momentum", "dampening", "weight_decay"}},
		{"adam", "adam", nil, []string{"lr", "beta1", "beta2", "eps", "weight_decay"}},
		{"adamw", "adamw", nil, []string{"lr", "beta1", "beta2", "eps", "weight_decay"}},
	} {
		g := withOptimizer(t, tt.kind, tt.settings)
		runUpTo(t, g, "optimizer", Options{})
		var got []string
		for _, h := range g.Hypers() {
			got = append(got, h.Name)
			if want := g.Optimizer.Params[h.Name]; h.Value != want || h.Phase != ir.Update || len(h.Shape) != 0 {
				t.Errorf("%s: %s, want value %v", tt.name, h.LongString(), want)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: hypers %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Every update reads its parameter's gradient; the optimizers that count
// steps share one count, incremented before any update reads it; each
// state buffer is shaped like its parameter and read by its update only.
func TestLowerOptimizerState(t *testing.T) {
	for _, tt := range []struct {
		kind     string
		settings map[string][]float64
		op       ir.Op
		buffers  []string
	}{
		{"sgd", map[string][]float64{"lr": {0.1}}, ir.OpSGD, nil},
		{"sgd", map[string][]float64{"lr": {0.1}, "momentum": {0.9}}, ir.OpSGDMomentum, []string{"momentum_buffer"}},
		{"adam", nil, ir.OpAdam, []string{"exp_avg", "exp_avg_sq"}},
		{"adamw", nil, ir.OpAdam, []string{"exp_avg", "exp_avg_sq"}},
	} {
		g := mlp(t, 8, 4, 5, 3) // two layers: four parameters
		var errs []error
		if g.Optimizer, errs = ir.NewOptimizer(tt.kind, tt.settings, ir.Pos{}); errs != nil {
			t.Fatal(errs)
		}
		runUpTo(t, g, "optimizer", Options{})
		var step *ir.Value
		if tt.buffers != nil {
			step = only(t, g, ir.OpStepCount)
			count := step.Args[0]
			if count.Op != ir.OpState || count.Name != "steps" || count.DType != ir.Int || step.DType != ir.Int || step.Name != "steps" {
				t.Errorf("%s: step count %s from %s", tt.kind, step.LongString(), count.LongString())
			}
		} else if n := count(g, ir.OpStepCount); n != 0 {
			t.Errorf("%s: %d step counts", tt.kind, n)
		}
		var names []string
		for _, s := range g.States() {
			names = append(names, s.Name)
		}
		var wantNames []string
		if tt.buffers != nil {
			wantNames = []string{"steps"}
		}
		index := map[*ir.Value]int{}
		for i, v := range g.Values {
			index[v] = i
		}
		for _, p := range g.Params() {
			var update *ir.Value
			for _, v := range g.Values {
				if v.Op == tt.op && v.Args[0] == p {
					if update != nil {
						t.Errorf("%s: %s updated twice", tt.kind, p.Name)
					}
					update = v
				}
			}
			if update == nil {
				t.Fatalf("%s: %s is not updated:\n%s", tt.kind, p.Name, g)
			}
			if update.Args[1] != p.Grad || update.Name != p.Name || update.Phase != ir.Update {
				t.Errorf("%s: %s does not update %s from its gradient %s", tt.kind, update.LongString(), p.Name, p.Grad)
			}
			for i, suffix := range tt.buffers {
				wantNames = append(wantNames, p.Name+"."+suffix)
				buf := update.Args[2+i]
				if buf.Op != ir.OpState || buf.Name != p.Name+"."+suffix || !slices.Equal(buf.Shape, p.Shape) || buf.DType != ir.F64 {
					t.Errorf("%s: %s's buffer %d is %s", tt.kind, p.Name, i, buf.LongString())
				}
			}
			if step != nil {
				if got := update.Args[2+len(tt.buffers)]; got != step || index[step] > index[update] {
					t.Errorf("%s: %s reads step %s, want %s before it", tt.kind, update.LongString(), got, step)
				}
			}
		}
		// PyTorch's state_dict order: per parameter, its buffers.
		if !slices.Equal(names, wantNames) {
			t.Errorf("%s: states %v, want %v", tt.kind, names, wantNames)
		}
		// The update is an effect: deadcode keeps it and its state.
		if err := deadcode(g, Options{}); err != nil {
			t.Fatal(err)
		}
		if n := len(g.States()); n != len(wantNames) || count(g, tt.op) != 4 {
			t.Errorf("%s: after deadcode, %d states and %d updates:\n%s", tt.kind, n, count(g, tt.op), g)
		}
		if err := g.Verify(); err != nil {
			t.Errorf("%s: %v", tt.kind, err)
		}
	}
}

// Every optimizer that ir accepts has a lowering.
func TestEveryOptimizerIsLowered(t *testing.T) {
	for _, kind := range slices.Sorted(maps.Keys(ir.OptimizerSettings)) {
		if optimizers[kind] == nil {
			t.Errorf("optimizer %s has no lowering", kind)
		}
	}
}

func TestLowerUnknownOptimizer(t *testing.T) {
	g := mlp(t, 1, 4, 3)
	g.Optimizer.Kind = "lbfgs"
	runUpTo(t, g, "autodiff", Options{})
	err := lowerOptimizer(g, Options{})
	if err == nil || !strings.Contains(err.Error(), "optimizer lbfgs has no lowering") {
		t.Errorf("err = %v", err)
	}
}

// Inference builds no update, state or hyperparameter.
func TestLowerNothingForInference(t *testing.T) {
	g := withOptimizer(t, "adam", nil)
	runUpTo(t, g, "optimizer", Options{Infer: true})
	if n := len(g.States()) + len(g.Hypers()) + count(g, ir.OpAdam) + count(g, ir.OpStepCount); n != 0 {
		t.Errorf("inference graph has an optimizer:\n%s", g)
	}
}

package golden

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/nngen/nngen"
)

// TestTorchCheckpoints proves the checkpoint names PyTorch's: for every
// checkpoint in testdata/checkpoints (make_checkpoints.py: a module with
// buffers trained three steps by torch.optim's SGD with momentum, with
// Nesterov, Adam and AdamW, its state_dict and optimizer.state_dict()
// written under nngen's names), a package compiled in float32 and in
// float64 loads it with LoadCheckpoint into New(7) and trains two more
// steps: its parameters and optimizer state must be PyTorch's after each.
// The packages' own tests run too, TestCheckpointResume among them
// (training resumed from a Go checkpoint, bit for bit).
func TestTorchCheckpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles generated packages; skipped with -short")
	}
	t.Parallel()
	paths, err := filepath.Glob("testdata/checkpoints/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no checkpoints: %v", err)
	}
	mod := scratchModule(t)
	var pkgs []string
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var tr struct{ Name, Source string }
		if err := json.Unmarshal(data, &tr); err != nil {
			t.Fatal(err)
		}
		weights, err := os.ReadFile(strings.TrimSuffix(path, ".json") + ".safetensors")
		if err != nil {
			t.Fatal(err)
		}
		for _, dtype := range []string{"float32", "float64"} {
			if dtype == "float32" && (tr.Name == "resume_sgd_nesterov" || tr.Name == "resume_adam") {
				continue // float32's state is that of resume_sgd_momentum and resume_adamw: a package less each
			}
			pkg := strings.ReplaceAll(tr.Name, "_", "") + dtype
			network, rest, _ := strings.Cut(tr.Source, "\n")
			files, err := nngen.Build(tr.Name+".nn", []byte(network+"\ndtype "+dtype+"\n"+rest), nngen.Options{Package: pkg, Tests: true})
			if err != nil {
				t.Errorf("%s: %v", pkg, err)
				continue
			}
			dir := filepath.Join(mod, pkg)
			for _, f := range files {
				write(t, filepath.Join(dir, f.Name), f.Data)
			}
			write(t, filepath.Join(dir, "testdata", "trace.json"), data)
			write(t, filepath.Join(dir, "testdata", "checkpoint.safetensors"), weights)
			var harness bytes.Buffer
			if err := checkpointHarness.Execute(&harness, map[string]any{
				"Package": pkg, "Float": dtype, "Tolerance": map[string]string{"float32": "1e-5", "float64": "1e-10"}[dtype],
			}); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(dir, "checkpoint_test.go"), harness.Bytes())
			pkgs = append(pkgs, pkg)
		}
	}
	r := newRunner(t, mod, "nngenrunner", pkgs, nil)
	r.need(t, "TestTorchCheckpoint", "TestCheckpointResume")
	concurrently(t, vetter(mod, nil), r.build)
	r.report(t, r.run(t, pkgs, map[string]int{}, nil), "max error")
}

var checkpointHarness = template.Must(template.New("checkpoint").Parse(`package {{.Package}}

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"testing"
)

type float = {{.Float}}

const tolerance = {{.Tolerance}}

func TestTorchCheckpoint(t *testing.T) {
	data, err := os.ReadFile("testdata/trace.json")
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		StateDict []string ` + "`json:\"state_dict\"`" + `
		Steps     []struct {
			Inputs         struct{ X [Batch][Inputs]float64 }
			Targets        struct{ Target [Batch][Outputs]float64 }
			Loss           float64
			ParamsAfter    map[string]any ` + "`json:\"params_after\"`" + `
			OptimizerAfter map[string]any ` + "`json:\"optimizer_after\"`" + `
		}
	}
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	m := New(7)
	if err := m.LoadCheckpoint("testdata/checkpoint.safetensors"); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range m.checkpoint() {
		names = append(names, s.Name)
	}
	if state := m.StateDict(); !slices.Equal(names[:len(state)], tr.StateDict[:len(state)]) {
		t.Errorf("state_dict order %v, PyTorch's %v", names[:len(state)], tr.StateDict)
	}
	slices.Sort(names)
	if want := slices.Sorted(slices.Values(tr.StateDict)); !slices.Equal(names, want) {
		t.Errorf("checkpoint names %v, PyTorch's %v", names, want)
	}
	worst := map[string]float64{}
	check := func(s int, kind, name string, got []float64, want []float64) {
		top, diff := 0.0, 0.0
		for i := range want {
			top, diff = max(top, math.Abs(want[i])), max(diff, math.Abs(got[i]-want[i]))
		}
		if top > 0 {
			diff /= top
		}
		worst[kind] = max(worst[kind], diff)
		if len(got) != len(want) || !(diff <= tolerance) {
			t.Errorf("step %d: %s: relative error %.3g\ngot  %v\nwant %v", s, name, diff, got, want)
		}
	}
	for s, st := range tr.Steps {
		var x [Batch][Inputs]float
		var target [Batch][Outputs]float
		for i := range x {
			for j := range x[i] {
				x[i][j] = float(st.Inputs.X[i][j])
			}
			for j := range target[i] {
				target[i][j] = float(st.Targets.Target[i][j])
			}
		}
		loss := m.TrainStep(&x, &target)
		check(s, "loss", "loss", []float64{float64(loss)}, []float64{st.Loss})
		for _, p := range m.Params() {
			check(s, "param", p.Name, widen(p.Value), flat(st.ParamsAfter[p.Name]))
		}
		for _, o := range m.OptimizerState() {
			want := flat(st.OptimizerAfter[o.Name])
			if o.Int != nil {
				if len(want) != 1 || float64(o.Int[0]) != want[0] {
					t.Errorf("step %d: %s = %v, PyTorch's %v", s, o.Name, o.Int, want)
				}
				continue
			}
			check(s, "optimizer", o.Name, widen(o.Float), want)
		}
	}
	t.Logf("{{.Package}}: %d steps after PyTorch's checkpoint, max error: loss %.2g, param %.2g, optimizer state %.2g",
		len(tr.Steps), worst["loss"], worst["param"], worst["optimizer"])
}

func widen(xs []float) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

func flat(v any) []float64 {
	switch v := v.(type) {
	case float64:
		return []float64{v}
	case []any:
		var out []float64
		for _, e := range v {
			out = append(out, flat(e)...)
		}
		return out
	}
	return nil
}
`))

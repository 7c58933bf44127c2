package main

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/nngen/nngen/examples/tutorial/mymodel"
)

// TestSeedTrace replays PyTorch's trace of this very network (seed.json)
// through the committed package: outputs, loss, gradients and parameters
// after each SGD step, within float32's 1e-5 relative error.
func TestSeedTrace(t *testing.T) {
	data, err := os.ReadFile("../../golden/testdata/reference/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		Params map[string][]any
		Steps  []struct {
			X, Y, Output []float64
			Loss         float64
			Grads        map[string][]any
			ParamsAfter  map[string][]any `json:"params_after"`
		}
	}
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	m := mymodel.New(0)
	for _, p := range m.Params() {
		copy32(p.Value, flatten(tr.Params[p.Name]))
	}
	for s, st := range tr.Steps {
		var x [mymodel.Inputs]float32
		var y, target [mymodel.Outputs]float32
		copy32(x[:], st.X)
		copy32(target[:], st.Y)
		m.Forward(&x, &y)
		expect(t, s, "output", y[:], st.Output)
		loss := m.TrainStep(&x, &target)
		expect(t, s, "loss", []float32{loss}, []float64{st.Loss})
		for _, p := range m.Params() {
			expect(t, s, "grad "+p.Name, p.Grad, flatten(st.Grads[p.Name]))
			expect(t, s, p.Name, p.Value, flatten(st.ParamsAfter[p.Name]))
		}
	}
}

func TestNoAllocations(t *testing.T) {
	m := mymodel.New(1)
	x := [4]float32{1, 1, 1, 1}
	var y, target [3]float32
	for name, f := range map[string]func(){
		"Forward":   func() { m.Forward(&x, &y) },
		"Backward":  func() { m.Backward(&x, &target) },
		"Step":      func() { m.Step() },
		"TrainStep": func() { m.TrainStep(&x, &target) },
	} {
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s: %v allocations per call", name, n)
		}
	}
}

func BenchmarkForward(b *testing.B) {
	m := mymodel.New(1)
	x := [4]float32{1, 1, 1, 1}
	var y [3]float32
	b.ReportAllocs()
	for b.Loop() {
		m.Forward(&x, &y)
	}
}

func BenchmarkTrainStep(b *testing.B) {
	m := mymodel.New(1)
	m.LR = 1e-3
	x := [4]float32{1, 1, 1, 1}
	target := [3]float32{1, 1, 1}
	b.ReportAllocs()
	for b.Loop() {
		m.TrainStep(&x, &target)
	}
}

func flatten(rows []any) []float64 {
	var out []float64
	for _, r := range rows {
		switch r := r.(type) {
		case float64:
			out = append(out, r)
		case []any:
			out = append(out, flatten(r)...)
		}
	}
	return out
}

func copy32(dst []float32, src []float64) {
	for i := range dst {
		dst[i] = float32(src[i])
	}
}

func expect(t *testing.T, step int, what string, got []float32, want []float64) {
	t.Helper()
	var diff, scale float64
	for i := range want {
		diff = max(diff, math.Abs(float64(got[i])-want[i]))
		scale = max(scale, math.Abs(want[i]))
	}
	if len(got) != len(want) || diff > 1e-5*scale {
		t.Errorf("step %d: %s: got %v, want %v (relative error %.2g)", step, what, got, want, diff/scale)
	}
}

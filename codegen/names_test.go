package codegen_test

import (
	"strings"
	"testing"

	"github.com/nngen/nngen/codegen"
	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/ir/irtest"
	"github.com/nngen/nngen/passes"
)

// renamed is an MLP 4-5-3 whose parameters an ONNX export named, trained
// with the optimizer kind, after the passes.
func renamed(t *testing.T, kind string, settings map[string][]float64, names ...string) *ir.Graph {
	t.Helper()
	g := irtest.MLP(t, ir.F32, 8, false, 4, 5, 3)
	for i, p := range g.Params() {
		p.Name, p.Pos = names[i], ir.Pos{File: "model.onnx"}
	}
	var errs []error
	if g.Optimizer, errs = ir.NewOptimizer(kind, settings, ir.Pos{File: "model.onnx"}); errs != nil {
		t.Fatal(errs)
	}
	if err := passes.Run(g, passes.Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestGenerateRefusesCollidingNames: every exported identifier of the
// Model (fields for parameters, gradients, optimizer state and settings,
// and the methods) must be its own, or the package would not compile.
func TestGenerateRefusesCollidingNames(t *testing.T) {
	lr := map[string][]float64{"lr": {0.1}}
	for _, tt := range []struct {
		name     string
		kind     string
		settings map[string][]float64
		params   []string
		want     []string
	}{
		{"methods", "sgd", lr, []string{"Forward", "params", "fc2.weight", "fc2.bias"}, []string{
			"model.onnx: the parameter Forward would be the Go field Forward, which is the method Forward of the generated Model; rename it",
			"model.onnx: the parameter params would be the Go field Params, which is the method Params of the generated Model; rename it",
		}},
		{"settings", "sgd", map[string][]float64{"lr": {0.1}, "momentum": {0.9}}, []string{"lr", "steps", "fc2.weight", "momentum"}, []string{
			"model.onnx: the sgd setting lr and the parameter lr would both be the Go field LR; rename lr",
			"model.onnx: the optimizer state steps and the parameter steps would both be the Go field Steps; rename steps",
			"model.onnx: the sgd setting momentum and the parameter momentum would both be the Go field Momentum; rename momentum",
		}},
		{"gradient", "sgd", lr, []string{"fc.weight", "fc.weight_grad", "fc2.weight", "fc2.bias"}, []string{
			"model.onnx: the gradient of fc.weight and the parameter fc.weight_grad would both be the Go field FcWeightGrad; rename fc.weight_grad",
		}},
		{"adam state", "adam", nil, []string{"fc.weight", "fc.weight.exp_avg", "fc2.weight", "fc2.bias"}, []string{
			"model.onnx: the optimizer state fc.weight.exp_avg and the parameter fc.weight.exp_avg would both be the Go field FcWeightExpAvg; rename fc.weight.exp_avg",
		}},
		{"momentum state", "sgd", map[string][]float64{"lr": {0.1}, "momentum": {0.9}}, []string{"fc.weight", "fc.weight.momentum_buffer", "fc2.weight", "fc2.bias"}, []string{
			"model.onnx: the optimizer state fc.weight.momentum_buffer and the parameter fc.weight.momentum_buffer would both be the Go field FcWeightMomentumBuffer; rename fc.weight.momentum_buffer",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := renamed(t, tt.kind, tt.settings, tt.params...)
			files, err := codegen.Generate(g, config)
			if err == nil || files != nil {
				t.Fatalf("Generate = %d files, %v; want an error", len(files), err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error lacks %q:\n%v", want, err)
				}
			}
		})
	}
}

// TestGenerateRefusesConstantsOutOfRange is the last line of defence
// behind the front ends' positioned errors: a constant that the model's
// float type cannot hold would not compile.
func TestGenerateRefusesConstantsOutOfRange(t *testing.T) {
	g := renamed(t, "sgd", map[string][]float64{"lr": {1e39}}, "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")
	_, err := codegen.Generate(g, config)
	want := "model.onnx: sgd's lr 1e+39 does not fit the model's float32 (largest 3.4028235e+38); use a smaller value or dtype float64"
	if err == nil || err.Error() != want {
		t.Errorf("Generate(lr=1e39) = %v, want %q", err, want)
	}
	g = renamed(t, "sgd", map[string][]float64{"lr": {1e39}}, "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")
	g.DType = ir.F64
	for _, v := range g.Values {
		v.DType = ir.F64
	}
	if _, err := codegen.Generate(g, config); err != nil && strings.Contains(err.Error(), "fit") {
		t.Errorf("Generate(float64, lr=1e39): %v", err)
	}
}

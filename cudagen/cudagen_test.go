package cudagen

import (
	"bytes"
	"go/format"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/ir/irtest"
	"github.com/nngen/nngen/passes"
	"github.com/nngen/nngen/runtime/cuda"
)

var config = Config{Source: "model.nn", CPUImport: "example.com/model"}

func planned(t *testing.T, g *ir.Graph, opts passes.Options) *ir.Graph {
	t.Helper()
	opts.Verify = true
	if err := passes.Run(g, opts); err != nil {
		t.Fatal(err)
	}
	return g
}

// oneLayer is x[batch,4] -> linear 3 -> act, mse against a target, with
// the given optimizer, not yet through the passes.
func oneLayer(t *testing.T, dtype ir.DType, batch int, act ir.Op, attrs ir.Attrs, optimizer string, settings map[string][]float64) *ir.Graph {
	t.Helper()
	must := irtest.Must(t)
	g := ir.New("One", dtype, batch, false)
	x := g.Leaf(ir.OpInput, "x", ir.Shape{batch, 4}, ir.Attrs{})
	w := g.Leaf(ir.OpParam, "fc.weight", ir.Shape{3, 4}, ir.Attrs{})
	b := g.Leaf(ir.OpParam, "fc.bias", ir.Shape{3}, ir.Attrs{})
	y := must(g.Add(ir.OpLinear, ir.Attrs{}, x, w, b))
	y.Name = "fc"
	if act != "" {
		y = must(g.Add(act, attrs, y))
		y.Name = "h"
	}
	g.Outputs = []*ir.Value{y}
	target := g.Leaf(ir.OpInput, "target", ir.Shape{batch, 3}, ir.Attrs{})
	target.Phase = ir.Loss
	g.Loss = must(g.Add(ir.OpMSE, ir.Attrs{Reduction: ir.ReduceMean}, y, target))
	var errs []error
	if g.Optimizer, errs = ir.NewOptimizer(optimizer, settings, ir.Pos{}); errs != nil {
		t.Fatal(errs)
	}
	return g
}

func generate(t *testing.T, g *ir.Graph) (cu, host string) {
	t.Helper()
	files, err := Generate(g, config)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Name != CUFile || files[1].Name != GoFile {
		t.Fatalf("files %v", files)
	}
	if formatted, err := format.Source(files[1].Data); err != nil || !bytes.Equal(formatted, files[1].Data) {
		t.Errorf("%s is not gofmt'd: %v", GoFile, err)
	}
	return string(files[0].Data), string(files[1].Data)
}

var kernelRE = regexp.MustCompile(`(?m)^NN_KERNEL (\w+)\(`)

// kernelNames lists the kernels model.cu defines, checking that its
// NNGEN_KERNELS list names the same ones in the same order.
func kernelNames(t *testing.T, cu string) []string {
	t.Helper()
	var names []string
	for _, m := range kernelRE.FindAllStringSubmatch(cu, -1) {
		names = append(names, m[1])
	}
	_, list, ok := strings.Cut(cu, "#define NNGEN_KERNELS(X)")
	if !ok {
		t.Fatal("no NNGEN_KERNELS list")
	}
	var listed []string
	for _, m := range regexp.MustCompile(`X\((\w+)\)`).FindAllStringSubmatch(list, -1) {
		listed = append(listed, m[1])
	}
	if !slices.Equal(names, listed) {
		t.Errorf("kernels %v, NNGEN_KERNELS %v", names, listed)
	}
	return names
}

func TestGenerateRefusesUnplanned(t *testing.T) {
	g := irtest.MLP(t, ir.F32, 1, true, 4, 5, 3)
	if _, err := Generate(g, config); err == nil || !strings.Contains(err.Error(), "run the plan pass first") {
		t.Errorf("unplanned graph: %v", err)
	}
	g = planned(t, irtest.MLP(t, ir.F32, 1, true, 4, 5, 3), passes.Options{})
	if _, err := Generate(g, Config{Source: "model.nn"}); err == nil || !strings.Contains(err.Error(), "import path") {
		t.Errorf("no import path: %v", err)
	}
}

// TestTutorialKernels: one kernel per computed value (two for the loss;
// a linear's epilogue after cuBLAS's product), launched in schedule order,
// each phase by its method; the products carry their GEMMs.
func TestTutorialKernels(t *testing.T) {
	g := planned(t, irtest.MLP(t, ir.F32, 1, true, 4, 5, 7, 3), passes.Options{})
	cu, host := generate(t, g)
	names := kernelNames(t, cu)
	var want []string
	for _, v := range g.Values {
		if ir.IsLeaf(v.Op) {
			continue
		}
		want = append(want, string(v.Op)+"_"+v.String())
		if v.Op == ir.OpLinear {
			want = append(want, string(v.Op)+"_"+v.String()+"_epilogue")
		}
		if v == g.Loss {
			want[len(want)-1] += "_rows"
			want = append(want, string(v.Op)+"_"+v.String())
		}
	}
	if !slices.Equal(names, want) {
		t.Errorf("kernels\n%v\nwant\n%v", names, want)
	}
	for _, name := range names {
		if !strings.Contains(host, `{Name: "`+name+`", `) {
			t.Errorf("%s is never launched", name)
		}
	}
	for _, s := range []string{
		"typedef float real;",
		"slot0[t] = nn_sigmoid(s);", // fused: the activation in the linear's loop
		"const real scale = (real)1.0f * 2 / 3;",
		"func (m *Model) Forward(x *[4]float32, y *[3]float32) {",
		"func (m *Model) Backward(x *[4]float32, target *[3]float32) float32 {",
		"func (m *Model) CopyFrom(c *cpu.Model) {",
		"func Auto(seed uint64) (d Device, reason string) {",
		"scalarLR: unsafe.Pointer(&m.LR)",
		// y = x·wᵀ through cuBLAS, then the bias and the activation.
		"GEMM: &cuda.GEMM{TransB: true, M: 1, N: 5, K: 4, A: bufX, B: bufLayer1Weight, C: bufSlot0, Alpha: 1,",
		"const real s = slot0[t] + layer1_bias[t % 5];",
		// dw = dyᵀ·x, dx = dy·w.
		"GEMM: &cuda.GEMM{TransA: true, M: 3, N: 7, K: 1, A: bufSlot4, B: bufSlot1, C: bufLayer3WeightGrad, Alpha: 1}",
		"GEMM: &cuda.GEMM{M: 1, N: 7, K: 3, A: bufSlot4, B: bufLayer3Weight, C: bufSlot2, Alpha: 1}",
	} {
		if !strings.Contains(cu+host, s) {
			t.Errorf("no %q in the output", s)
		}
	}
	if strings.Contains(cu, "sigmoid_v") {
		t.Error("a fused sigmoid has a kernel of its own")
	}
}

// TestFusion: gelu in a training graph stays computed by the linear's
// kernel (Also); softmax, a row-wise activation, gets a kernel per row
// after the linear's.
func TestFusion(t *testing.T) {
	g := planned(t, oneLayer(t, ir.F32, 2, ir.OpGELU, ir.Attrs{}, "sgd", map[string][]float64{"lr": {0.1}}), passes.Options{})
	cu, _ := generate(t, g)
	names := kernelNames(t, cu)
	if slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "gelu_v") }) {
		t.Errorf("gelu has its own kernel: %v", names)
	}
	if !strings.Contains(cu, "= nn_gelu(s);") {
		t.Error("the linear kernel does not compute gelu")
	}

	g = planned(t, oneLayer(t, ir.F64, 2, ir.OpSoftmax, ir.Attrs{}, "sgd", map[string][]float64{"lr": {0.1}}), passes.Options{})
	cu, _ = generate(t, g)
	names = kernelNames(t, cu)
	if !slices.ContainsFunc(names, func(n string) bool { return strings.HasSuffix(n, "_softmax") }) {
		t.Errorf("no row kernel for the fused softmax: %v", names)
	}
	if !strings.Contains(cu, "typedef double real;") {
		t.Error("float64 graph without double")
	}

	g = planned(t, oneLayer(t, ir.F32, 2, ir.OpLeakyReLU, ir.Attrs{Alpha: 0.2}, "sgd", map[string][]float64{"lr": {0.1}}), passes.Options{NoFuse: true})
	cu, _ = generate(t, g)
	for _, s := range []string{", (real)0.2f);", "nn_leaky_relu(", "nn_leaky_relu_grad("} {
		if !strings.Contains(cu, s) {
			t.Errorf("no %q in the kernels of a standalone leaky_relu", s)
		}
	}
}

// TestOptimizers: each update's scalars are passed by value, in the
// order the launch lists them.
func TestOptimizers(t *testing.T) {
	for _, tt := range []struct {
		optimizer string
		settings  map[string][]float64
		kernel    string
	}{
		{"sgd", map[string][]float64{"lr": {0.1}, "momentum": {0.9}, "nesterov": {1}}, "d += momentum * "},
		{"adam", nil, "nn_pow_int((double)beta1, steps[0])"},
		{"adamw", nil, "*= 1 - lr * weight_decay;"},
	} {
		g := planned(t, oneLayer(t, ir.F32, 2, ir.OpTanh, ir.Attrs{}, tt.optimizer, tt.settings), passes.Options{})
		cu, host := generate(t, g)
		if !strings.Contains(cu, tt.kernel) {
			t.Errorf("%s: no %q", tt.optimizer, tt.kernel)
		}
		if !strings.Contains(cu, "steps[0]++;") || !strings.Contains(host, "m.prog.Zero(bufSteps)") {
			t.Errorf("%s: no step count on the device", tt.optimizer)
		}
		if !strings.Contains(host, "Scalars: []int{scalarLR, ") {
			t.Errorf("%s: lr is not a scalar of the update", tt.optimizer)
		}
	}
}

func TestInferOnly(t *testing.T) {
	g := planned(t, irtest.MLP(t, ir.F32, 8, false, 4, 5, 3), passes.Options{Infer: true})
	cu, host := generate(t, g)
	if strings.Contains(host, ") Backward(") || strings.Contains(host, ") Step(") || strings.Contains(host, "target") || strings.Contains(cu, "mse") {
		t.Error("an inference build has training code")
	}
	if !strings.Contains(host, "Forward(x *[8][4]float32, y *[8][3]float32)") {
		t.Error("no batched Forward")
	}
}

func TestLit(t *testing.T) {
	f32 := &generator{g: ir.New("n", ir.F32, 1, false)}
	f64 := &generator{g: ir.New("n", ir.F64, 1, false)}
	for _, tt := range []struct {
		gen  *generator
		x    float64
		want string
	}{
		{f32, 1, "(real)1.0f"},
		{f32, 0.1, "(real)0.1f"},
		{f32, 1e-8, "(real)1e-08f"},
		{f64, 0.1, "(real)0.1"},
		{f64, 2, "(real)2.0"},
		{f64, 0.01, "(real)0.01"},
	} {
		if got := tt.gen.lit(tt.x); got != tt.want {
			t.Errorf("lit(%v) = %s, want %s", tt.x, got, tt.want)
		}
	}
}

func TestCName(t *testing.T) {
	for name, want := range map[string]string{
		"layer1.weight":                 "layer1_weight",
		"fc.weight.exp_avg":             "fc_weight_exp_avg",
		"1st.bias":                      "p_1st_bias",
		"enc.layer-2.weight":            "enc_layer_2_weight",
		"steps":                         "steps",
		"fc_out.weight.momentum_buffer": "fc_out_weight_momentum_buffer",
	} {
		if got := cName(name); got != want {
			t.Errorf("cName(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestCompilePTX compiles the tutorial's kernels with clang-16: the PTX is
// the same twice, and has every kernel with the parameters its launch
// passes.
func TestCompilePTX(t *testing.T) {
	if _, err := exec.LookPath("clang-16"); err != nil {
		t.Fatal("compiling CUDA to PTX needs clang-16: apt-get install clang-16 (.ci/run installs it)")
	}
	g := planned(t, irtest.MLP(t, ir.F32, 4, false, 4, 5, 7, 3), passes.Options{})
	files, err := Build(g, config)
	if err != nil {
		t.Fatal(err)
	}
	strict := exec.Command("clang-16", append([]string{"-Wall", "-Wextra", "-Werror"}, ClangArgs...)...)
	strict.Stdin = bytes.NewReader(files[0].Data)
	if out, err := strict.CombinedOutput(); err != nil {
		t.Fatalf("clang-16 -Wall -Wextra -Werror: %v\n%.2000s", err, out)
	}
	again, err := CompilePTX(files[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	ptx := files[2]
	if ptx.Name != PTXFile || !bytes.Equal(ptx.Data, again) {
		t.Fatal("compiling model.cu twice gave different PTX")
	}
	if !bytes.HasPrefix(ptx.Data, []byte("// Code generated by nngen")) || !bytes.Contains(ptx.Data, []byte(".target sm_80")) {
		t.Errorf("PTX header:\n%s", ptx.Data[:200])
	}
	if bytes.Contains(ptx.Data, []byte(".extern")) || bytes.Contains(ptx.Data, []byte("call.uni")) {
		t.Error("the PTX calls functions that nothing links")
	}
	entries, err := cuda.Entries(ptx.Data)
	if err != nil {
		t.Fatal(err)
	}
	gen := &generator{g: g, cfg: config, layout: newLayout(g), computedBy: map[*ir.Value]*ir.Value{}}
	for _, v := range g.Values {
		if emit, ok := emitterFor(v.Op); ok && !ir.IsLeaf(v.Op) {
			emit(gen, v)
		}
	}
	for _, k := range gen.kernels {
		if got := len(entries[k.name]); got != len(k.buffers)+len(k.scalars) {
			t.Errorf("%s: %d parameters in the PTX, %d launched", k.name, got, len(k.buffers)+len(k.scalars))
		}
	}
}

package codegen_test

import (
	"bytes"
	"go/ast"
	"go/format"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nngen/nngen/codegen"
	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/ir/irtest"
	"github.com/nngen/nngen/passes"
)

func TestGoName(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"layer1.weight", "Layer1Weight"},
		{"lr", "LR"},
		{"fc_out.bias", "FcOutBias"},
		{"1st.weight", "X1stWeight"},
		{"x", "X"},
		{"", "X"},
		{"id", "ID"},
		{"lr_decay", "LRDecay"},
		{"encoder.layer_2.Weight", "EncoderLayer2Weight"},
		{"a__b..c", "ABC"},
		{"_", "X"},
		{"9", "X9"},
	} {
		if got := codegen.GoName(tt.name); got != tt.want {
			t.Errorf("GoName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// planned is mlp through the pass pipeline.
func planned(t testing.TB, opts passes.Options, dtype ir.DType, batch int, unbatched bool, sizes ...int) *ir.Graph {
	t.Helper()
	g := irtest.MLP(t, dtype, batch, unbatched, sizes...)
	opts.Verify = true
	if err := passes.Run(g, opts); err != nil {
		t.Fatal(err)
	}
	return g
}

var config = codegen.Config{Package: "model", Source: "model.nn", Output: "model.nn"}

func TestGenerateRefusesUnplanned(t *testing.T) {
	g := irtest.MLP(t, ir.F64, 8, false, 4, 5, 3)
	files, err := codegen.Generate(g, config)
	if err == nil || files != nil {
		t.Fatalf("Generate(unplanned) = %d files, %v; want an error", len(files), err)
	}
	if want := "codegen: v0 has no storage; run the plan pass first"; err.Error() != want {
		t.Errorf("Generate(unplanned): %v, want %q", err, want)
	}

	// One value left without storage is enough to refuse.
	g = planned(t, passes.Options{}, ir.F64, 8, false, 4, 5, 3)
	last := g.Values[len(g.Values)-1]
	last.Storage = ir.Storage{}
	want := "codegen: " + last.String() + " has no storage; run the plan pass first"
	if _, err := codegen.Generate(g, config); err == nil || err.Error() != want {
		t.Errorf("Generate(partly planned): %v, want %q", err, want)
	}
}

func TestGenerateRefusesInvalid(t *testing.T) {
	g := planned(t, passes.Options{}, ir.F64, 8, false, 4, 5, 3)
	g.Unbatched = true // with batch 8
	g.Outputs = append(g.Outputs, &ir.Value{ID: 99})
	files, err := codegen.Generate(g, config)
	if err == nil || files != nil {
		t.Fatalf("Generate(invalid) = %d files, %v; want an error", len(files), err)
	}
	want := "codegen: invalid IR:\noutput v99 is not in the graph\nunbatched graph with batch 8"
	if err.Error() != want {
		t.Errorf("Generate(invalid): %q, want %q", err, want)
	}
}

func TestGenerateRefusesWhatTheAPICannotExpress(t *testing.T) {
	g := planned(t, passes.Options{}, ir.F64, 8, false, 4, 5, 3)
	g.Outputs = nil
	_, err := codegen.Generate(g, config)
	if want := "codegen: the network needs exactly one output, it has 0"; err == nil || err.Error() != want {
		t.Errorf("Generate(no outputs) = %v, want %q", err, want)
	}
}

// generate runs Generate on g, checks the file's header, formatting and
// determinism, and type-checks it with the runtime it imports.
func generate(t *testing.T, g *ir.Graph) (src string, pkg *types.Package) {
	t.Helper()
	before := g.String()
	files, err := codegen.Generate(g, config)
	if err != nil {
		t.Fatal(err)
	}
	if g.String() != before {
		t.Error("Generate changed the graph")
	}
	if len(files) != 1 || files[0].Name != "model.nn.go" {
		var names []string
		for _, f := range files {
			names = append(names, f.Name)
		}
		t.Fatalf("Generate gave the files %q; want one, model.nn.go", names)
	}
	data := files[0].Data
	again, err := codegen.Generate(g, config)
	if err != nil || len(again) != 1 || !bytes.Equal(again[0].Data, data) {
		t.Error("a second Generate gave different output")
	}

	// The convention that tools use to recognise generated files.
	first, _, _ := strings.Cut(string(data), "\n")
	if !regexp.MustCompile(`^// Code generated .* DO NOT EDIT\.$`).MatchString(first) {
		t.Errorf("first line %q is not a generated-code header", first)
	}
	if !strings.HasPrefix(first, codegen.HeaderPrefix+" "+codegen.Version+" from model.nn.") {
		t.Errorf("first line %q does not name nngen, its version and the source", first)
	}
	formatted, err := format.Source(data)
	if err != nil {
		t.Fatalf("go/format: %v\n%s", err, data)
	}
	if !bytes.Equal(formatted, data) {
		t.Errorf("the output is not gofmt'd; gofmt gives:\n%s", formatted)
	}
	return string(data), typecheck(t, data)
}

// typecheck type-checks one generated file, importing the runtime from
// source inside this module.
func typecheck(t *testing.T, data []byte) *types.Package {
	t.Helper()
	// The file need not exist: its directory tells the importer which
	// module to resolve imports in.
	name, err := filepath.Abs("model.nn.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, data, parser.ParseComments)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	pkg, err := conf.Check("example.com/model", fset, []*ast.File{f}, nil)
	if err != nil {
		t.Fatalf("type check: %v\n%s", err, data)
	}
	return pkg
}

// api lists the package's exported functions and *Model's methods with their
// signatures, runtime types written as runtime.Name.
func api(pkg *types.Package) map[string]string {
	qualify := func(p *types.Package) string {
		if p == pkg {
			return ""
		}
		return p.Name()
	}
	out := map[string]string{}
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		if fn, ok := scope.Lookup(name).(*types.Func); ok && fn.Exported() {
			out[name] = types.TypeString(fn.Type(), qualify)
		}
	}
	model := scope.Lookup("Model").Type()
	methods := types.NewMethodSet(types.NewPointer(model))
	for m := range methods.Methods() {
		if m.Obj().Exported() {
			out["(*Model)."+m.Obj().Name()] = types.TypeString(m.Type(), qualify)
		}
	}
	return out
}

// fields lists Model's fields with their types.
func fields(pkg *types.Package) map[string]string {
	st := pkg.Scope().Lookup("Model").Type().Underlying().(*types.Struct)
	out := map[string]string{}
	for f := range st.Fields() {
		out[f.Name()] = f.Type().String()
	}
	return out
}

// constants lists the package's exported constants with their values.
func constants(pkg *types.Package) map[string]string {
	out := map[string]string{}
	for _, name := range pkg.Scope().Names() {
		if c, ok := pkg.Scope().Lookup(name).(*types.Const); ok && c.Exported() {
			out[name] = c.Val().String()
		}
	}
	return out
}

// diff reports every name whose entry in got differs from want.
func diff(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	names := append(slices.Collect(maps.Keys(got)), slices.Collect(maps.Keys(want))...)
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		g, inGot := got[name]
		w, inWant := want[name]
		switch {
		case !inWant:
			t.Errorf("unexpected %s %s: %s", what, name, g)
		case !inGot:
			t.Errorf("missing %s %s: %s", what, name, w)
		case g != w:
			t.Errorf("%s %s: %s, want %s", what, name, g, w)
		}
	}
}

func TestGenerateTrainingBatched(t *testing.T) {
	g := planned(t, passes.Options{}, ir.F64, 8, false, 4, 5, 3)
	src, pkg := generate(t, g)

	wantAPI := map[string]string{
		"New":                     "func(seed uint64) *Model",
		"(*Model).Forward":        "func(x *[8][4]float64, y *[8][3]float64)",
		"(*Model).Backward":       "func(x *[8][4]float64, target *[8][3]float64) float64",
		"(*Model).Step":           "func()",
		"(*Model).TrainStep":      "func(x *[8][4]float64, target *[8][3]float64) float64",
		"(*Model).ResetOptimizer": "func()",
		"(*Model).Params":         "func() []runtime.Param[float64]",
		"(*Model).Param":          "func(name string) (runtime.Param[float64], bool)",
	}
	diff(t, "API", api(pkg), wantAPI)
	diff(t, "constant", constants(pkg), map[string]string{"Inputs": "4", "Outputs": "3", "Batch": "8"})
	wantFields := map[string]string{
		"Layer1Weight":     "[5][4]float64",
		"Layer1Bias":       "[5]float64",
		"Layer2Weight":     "[3][5]float64",
		"Layer2Bias":       "[3]float64",
		"Layer1WeightGrad": "[5][4]float64",
		"Layer1BiasGrad":   "[5]float64",
		"Layer2WeightGrad": "[3][5]float64",
		"Layer2BiasGrad":   "[3]float64",
		"LR":               "float64",
		"WeightDecay":      "float64",
	}
	// Every slot the plan made is a field of the planned size.
	for i, s := range g.Slots {
		wantFields["slot"+strconv.Itoa(i)] = "[" + strconv.Itoa(s.Size) + "]float64"
	}
	diff(t, "field", fields(pkg), wantFields)
	for _, line := range []string{
		"func (m *Model) Forward(x *[8][4]float64, y *[8][3]float64) {",
		"\tm := &Model{LR: 0.3, WeightDecay: 0.0}\n",
		"runtime.FillUniform(r, unsafe.Slice(&m.Layer1Weight[0][0], 20), runtime.LinearBound(4))",
		"runtime.FillUniform(r, m.Layer2Bias[:], runtime.LinearBound(5))",
		"const _ = runtime.SupportPackageIsVersion1",
	} {
		if !strings.Contains(src, line) {
			t.Errorf("the generated code lacks %q", line)
		}
	}
}

func TestGenerateTrainingUnbatched(t *testing.T) {
	_, pkg := generate(t, planned(t, passes.Options{}, ir.F32, 1, true, 4, 5, 7, 3))
	wantAPI := map[string]string{
		"New":                     "func(seed uint64) *Model",
		"(*Model).Forward":        "func(x *[4]float32, y *[3]float32)",
		"(*Model).Backward":       "func(x *[4]float32, target *[3]float32) float32",
		"(*Model).Step":           "func()",
		"(*Model).TrainStep":      "func(x *[4]float32, target *[3]float32) float32",
		"(*Model).ResetOptimizer": "func()",
		"(*Model).Params":         "func() []runtime.Param[float32]",
		"(*Model).Param":          "func(name string) (runtime.Param[float32], bool)",
	}
	diff(t, "API", api(pkg), wantAPI)
	// One sample at a time: no Batch constant.
	diff(t, "constant", constants(pkg), map[string]string{"Inputs": "4", "Outputs": "3"})
}

func TestGenerateInferenceOnly(t *testing.T) {
	g := planned(t, passes.Options{Infer: true}, ir.F64, 8, false, 4, 5, 3)
	src, pkg := generate(t, g)
	wantAPI := map[string]string{
		"New":              "func(seed uint64) *Model",
		"(*Model).Forward": "func(x *[8][4]float64, y *[8][3]float64)",
		"(*Model).Params":  "func() []runtime.Param[float64]",
		"(*Model).Param":   "func(name string) (runtime.Param[float64], bool)",
	}
	diff(t, "API", api(pkg), wantAPI)
	// Parameters and scratch slots only: no gradients, no optimizer settings.
	wantFields := map[string]string{
		"Layer1Weight": "[5][4]float64",
		"Layer1Bias":   "[5]float64",
		"Layer2Weight": "[3][5]float64",
		"Layer2Bias":   "[3]float64",
	}
	for i, s := range g.Slots {
		wantFields["slot"+strconv.Itoa(i)] = "[" + strconv.Itoa(s.Size) + "]float64"
	}
	diff(t, "field", fields(pkg), wantFields)
	for _, absent := range []string{"Backward", "TrainStep", "Step", "Grad:", "LR"} {
		if strings.Contains(src, absent) {
			t.Errorf("inference-only code mentions %q", absent)
		}
	}
}

// TestGenerateChoices checks the shape of the code codegen picks by size:
// a tiny network written out without loops, a plain SGD Step as one pass over
// every parameter (guarded by the layout constants), a momentum Step per
// parameter, and a layer of 64 elements or more through the vector kernels
// (relu's are covered by the parity traces gemm_pool and vector_mse_decay).
func TestGenerateChoices(t *testing.T) {
	loop := regexp.MustCompile(`for [a-z]+ := range`)
	tiny, _ := generate(t, planned(t, passes.Options{}, ir.F32, 1, true, 4, 5, 7, 3))
	if l := loop.FindString(tiny); l != "" {
		t.Errorf("tiny network: a loop left in the unrolled code: %s", l)
	}
	for _, want := range []string{
		"runtime.SigmoidInPlace32(",
		"runtime.SGD32(unsafe.Slice(&m.Layer1Weight[0][0], 91), unsafe.Slice(&m.Layer1WeightGrad[0][0], 91), m.LR, m.WeightDecay)",
		"var _ = [1]struct{}{}[unsafe.Offsetof(Model{}.Layer3Bias)+unsafe.Sizeof(Model{}.Layer3Bias)-unsafe.Offsetof(Model{}.Layer1Weight)-364]",
	} {
		if !strings.Contains(tiny, want) {
			t.Errorf("tiny network: no %s", want)
		}
	}

	g := irtest.MLP(t, ir.F32, 1, true, 4, 5, 3)
	var errs []error
	if g.Optimizer, errs = ir.NewOptimizer("sgd", map[string][]float64{"lr": {0.3}, "momentum": {0.9}}, ir.Pos{}); errs != nil {
		t.Fatal(errs)
	}
	if err := passes.Run(g, passes.Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	momentum, _ := generate(t, g)
	if strings.Contains(momentum, "runtime.SGD32(") || strings.Contains(momentum, "unsafe.Offsetof") {
		t.Errorf("momentum: one SGD pass over every parameter")
	}

	wide, _ := generate(t, planned(t, passes.Options{}, ir.F32, 16, false, 64, 96, 80))
	for _, want := range []string{"runtime.Gemm32(", "runtime.AddBias32(", "runtime.SigmoidInPlace32(",
		"runtime.SumRows32(", "runtime.ScaledDiff32(", "runtime.SumSquaredDiff32(", "runtime.SGD32("} {
		if !strings.Contains(wide, want) {
			t.Errorf("64-96-80 batch 16: no %s", want)
		}
	}
	if !loop.MatchString(wide) {
		t.Errorf("64-96-80 batch 16: written out without loops")
	}
}

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
	if want := "codegen: the network needs at least one output, it has none"; err == nil || err.Error() != want {
		t.Errorf("Generate(no outputs) = %v, want %q", err, want)
	}
}

// generate runs Generate on g, checks the file's header, formatting and
// determinism, and type-checks it with the runtime it imports.
func generate(t *testing.T, g *ir.Graph) (src string, pkg *types.Package) {
	t.Helper()
	files := generateFiles(t, g, config, "model.nn.go")
	return string(files[0].Data), typecheck(t, files[0].Data)
}

// generateFiles runs Generate on g with cfg, checks that it gives the files
// named, each with the generated-code header and gofmt'd, and the same
// twice.
func generateFiles(t *testing.T, g *ir.Graph, cfg codegen.Config, names ...string) []codegen.File {
	t.Helper()
	before := g.String()
	files, err := codegen.Generate(g, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if g.String() != before {
		t.Error("Generate changed the graph")
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Name)
	}
	if !slices.Equal(got, names) {
		t.Fatalf("Generate gave the files %q; want %q", got, names)
	}
	again, err := codegen.Generate(g, cfg)
	if err != nil || len(again) != len(files) {
		t.Fatalf("a second Generate: %d files, %v", len(again), err)
	}
	for i, f := range files {
		if !bytes.Equal(again[i].Data, f.Data) {
			t.Errorf("%s: a second Generate gave different output", f.Name)
		}
		// The convention that tools use to recognise generated files.
		first, _, _ := strings.Cut(string(f.Data), "\n")
		if !regexp.MustCompile(`^// Code generated .* DO NOT EDIT\.$`).MatchString(first) {
			t.Errorf("%s: first line %q is not a generated-code header", f.Name, first)
		}
		if !strings.HasPrefix(first, codegen.HeaderPrefix+" "+codegen.Version+" from "+cfg.Source+".") {
			t.Errorf("%s: first line %q does not name nngen, its version and the source", f.Name, first)
		}
		formatted, err := format.Source(f.Data)
		if err != nil {
			t.Fatalf("%s: go/format: %v\n%s", f.Name, err, f.Data)
		}
		if !bytes.Equal(formatted, f.Data) {
			t.Errorf("%s is not gofmt'd; gofmt gives:\n%s", f.Name, formatted)
		}
	}
	return files
}

// typecheck type-checks the generated files of one package, importing the
// runtime from source inside this module, and checks that no method
// declares a local that hides one of its parameters.
func typecheck(t *testing.T, data ...[]byte) *types.Package {
	t.Helper()
	var files []*ast.File
	for i, d := range data {
		// The file need not exist: its directory tells the importer which
		// module to resolve imports in.
		name, err := filepath.Abs("model.nn" + strconv.Itoa(i) + ".go")
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, d, parser.ParseComments)
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		files = append(files, f)
	}
	conf := types.Config{Importer: sourceImporter}
	pkg, err := conf.Check("example.com/model", fset, files, nil)
	if err != nil {
		t.Fatalf("type check: %v\n%s", err, data[0])
	}
	checkShadowing(t, files[0])
	return pkg
}

// fset and sourceImporter serve every typecheck, so that the runtime is
// type-checked from source once (the tests do not run in parallel).
var (
	fset           = token.NewFileSet()
	sourceImporter = importer.ForCompiler(fset, "source", nil)
)

// checkShadowing fails the test where a method of the generated Model
// declares a variable of the same name as one of its parameters: code
// after it that means the argument would read the local (reservedArg in
// names.go keeps the arguments' names off the locals that the generated
// bodies declare).
func checkShadowing(t *testing.T, f *ast.File) {
	t.Helper()
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv == nil || fn.Body == nil {
			continue
		}
		params := map[string]bool{}
		for _, p := range fn.Type.Params.List {
			for _, n := range p.Names {
				params[n.Name] = true
			}
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			var declared []ast.Expr
			switch n := n.(type) {
			case *ast.AssignStmt:
				if n.Tok == token.DEFINE {
					declared = n.Lhs
				}
			case *ast.RangeStmt:
				if n.Tok == token.DEFINE {
					declared = []ast.Expr{n.Key, n.Value}
				}
			case *ast.ValueSpec:
				for _, id := range n.Names {
					declared = append(declared, id)
				}
			}
			for _, e := range declared {
				if id, ok := e.(*ast.Ident); ok && params[id.Name] {
					t.Errorf("%s declares %s, which hides its parameter %s", fn.Name.Name, id.Name, id.Name)
				}
			}
			return true
		})
	}
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
	for _, typ := range []string{"Model", "Predictor"} {
		obj := scope.Lookup(typ)
		if obj == nil {
			continue
		}
		for m := range types.NewMethodSet(types.NewPointer(obj.Type())).Methods() {
			if m.Obj().Exported() {
				out["(*"+typ+")."+m.Obj().Name()] = types.TypeString(m.Type(), qualify)
			}
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
		"(*Model).ForwardBatch":   "func(x [][4]float64, y [][3]float64)",
		"(*Model).BackwardBatch":  "func(x [][4]float64, target [][3]float64) float64",
		"(*Model).TrainStepBatch": "func(x [][4]float64, target [][3]float64) float64",
		"(*Model).ResetOptimizer": "func()",
		"(*Model).ParamBlock":     "func() []float64",
		"(*Model).GradBlock":      "func() []float64",
		"(*Model).Params":         "func() []nnrt.Param[float64]",
		"(*Model).Param":          "func(name string) (nnrt.Param[float64], bool)",
		"(*Model).LoadParams":     "func(src *Model)",
		"(*Model).StateDict":      "func() []nnrt.Tensor[float64]",
		"(*Model).SaveCheckpoint": "func(path string, metadata map[string]string) error",
		"(*Model).LoadCheckpoint": "func(path string) error",
		"(*Model).OptimizerState": "func() []nnrt.Tensor[float64]",
		"(*Model).Train":          "func()",
		"(*Model).Eval":           "func()",
		"(*Model).Training":       "func() bool",
		"(*Model).Close":          "func()",
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
		"eval":             "bool",
	}
	// Every slot the plan made is a field of the planned size.
	for i, s := range g.Slots {
		wantFields["slot"+strconv.Itoa(i)] = "[" + strconv.Itoa(s.Size) + "]float64"
	}
	diff(t, "field", fields(pkg), wantFields)
	for _, line := range []string{
		"func (m *Model) Forward(x *[8][4]float64, y *[8][3]float64) {",
		"\tm := &Model{LR: 0.3, WeightDecay: 0.0}\n",
		"nnrt.FillUniform(r, unsafe.Slice(&m.Layer1Weight[0][0], 20), nnrt.LinearBound(4))",
		"nnrt.FillUniform(r, m.Layer2Bias[:], nnrt.LinearBound(5))",
		"const _ = nnrt.SupportPackageIsVersion1",
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
		"(*Model).ParamBlock":     "func() []float32",
		"(*Model).GradBlock":      "func() []float32",
		"(*Model).Params":         "func() []nnrt.Param[float32]",
		"(*Model).Param":          "func(name string) (nnrt.Param[float32], bool)",
		"(*Model).LoadParams":     "func(src *Model)",
		"(*Model).StateDict":      "func() []nnrt.Tensor[float32]",
		"(*Model).SaveCheckpoint": "func(path string, metadata map[string]string) error",
		"(*Model).LoadCheckpoint": "func(path string) error",
		"(*Model).OptimizerState": "func() []nnrt.Tensor[float32]",
		"(*Model).Train":          "func()",
		"(*Model).Eval":           "func()",
		"(*Model).Training":       "func() bool",
		"(*Model).Close":          "func()",
	}
	diff(t, "API", api(pkg), wantAPI)
	// One sample at a time: no Batch constant.
	diff(t, "constant", constants(pkg), map[string]string{"Inputs": "4", "Outputs": "3"})
}

func TestGenerateInferenceOnly(t *testing.T) {
	g := planned(t, passes.Options{Infer: true}, ir.F64, 8, false, 4, 5, 3)
	src, pkg := generate(t, g)
	wantAPI := map[string]string{
		"New":                     "func(seed uint64) *Model",
		"(*Model).Forward":        "func(x *[8][4]float64, y *[8][3]float64)",
		"(*Model).ForwardBatch":   "func(x [][4]float64, y [][3]float64)",
		"(*Model).Params":         "func() []nnrt.Param[float64]",
		"(*Model).Param":          "func(name string) (nnrt.Param[float64], bool)",
		"(*Model).LoadParams":     "func(src *Model)",
		"(*Model).StateDict":      "func() []nnrt.Tensor[float64]",
		"(*Model).SaveCheckpoint": "func(path string, metadata map[string]string) error",
		"(*Model).LoadCheckpoint": "func(path string) error",
		"(*Model).Eval":           "func()",
		"(*Model).Training":       "func() bool",
		"(*Model).Close":          "func()",
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
		"kernels.SigmoidInPlace32(",
		"kernels.SGD32(m.ParamBlock(), m.GradBlock(), m.LR, m.WeightDecay)",
		"return unsafe.Slice(&m.Layer1WeightGrad[0][0], 91)",
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
	if strings.Contains(momentum, "kernels.SGD32(") || !strings.Contains(momentum, "func (m *Model) GradBlock() []float32") {
		t.Errorf("momentum: one SGD pass over every parameter, or no GradBlock")
	}

	wide, _ := generate(t, planned(t, passes.Options{}, ir.F32, 16, false, 64, 96, 80))
	for _, want := range []string{"kernels.Gemm32(", "kernels.GemmBias32(", "kernels.SigmoidInPlace32(",
		"kernels.SumRows32(", "kernels.ScaledDiff32(", "kernels.SumSquaredDiff32(", "kernels.SGD32("} {
		if !strings.Contains(wide, want) {
			t.Errorf("64-96-80 batch 16: no %s", want)
		}
	}
	if !loop.MatchString(wide) {
		t.Errorf("64-96-80 batch 16: written out without loops")
	}

	// A layer of 4M multiply-adds and its weight gradient on the pool, and
	// the update split across it by rows.
	pooled, _ := generate(t, planned(t, passes.Options{}, ir.F32, 64, false, 512, 128, 10))
	for _, want := range []string{
		"m.pool.Gemm32(false, true, batch, 128, 512, ",
		"m.pool.Gemm32(true, false, 128, 512, batch, ",
		"m.pool.SGD32(m.ParamBlock(), m.GradBlock(), m.LR, m.WeightDecay, paramMatrices)",
		"var paramMatrices = []kernels.Matrix{\n\t{Rows: 128, Cols: 512}, // ",
	} {
		if !strings.Contains(pooled, want) {
			t.Errorf("512-128-10 batch 64: no %s", want)
		}
	}

	// Adam and momentum on the pool too, a parameter at a time by its rows;
	// on this core without a pool, in loops below 64 numbers.
	for _, opt := range []struct {
		kind     string
		settings map[string][]float64
		call     string
	}{
		{"adam", map[string][]float64{"lr": {0.001}}, "Adam32("},
		{"sgd", map[string][]float64{"lr": {0.1}, "momentum": {0.9}}, "Momentum32("},
	} {
		for _, c := range []struct {
			sizes []int
			want  []string
		}{
			{[]int{512, 128, 10}, []string{"m.pool." + opt.call, "kernels.AdamStep", ", 128)\n"}},
			{[]int{64, 96, 80}, []string{"\tkernels." + opt.call}},
		} {
			g := irtest.MLP(t, ir.F32, 64, false, c.sizes...)
			if g.Optimizer, errs = ir.NewOptimizer(opt.kind, opt.settings, ir.Pos{}); errs != nil {
				t.Fatal(errs)
			}
			if err := passes.Run(g, passes.Options{Verify: true}); err != nil {
				t.Fatal(err)
			}
			src, _ := generate(t, g)
			for _, want := range c.want {
				if want == "kernels.AdamStep" && opt.kind != "adam" {
					want = "kernels.MomentumStep"
				}
				if !strings.Contains(src, want) {
					t.Errorf("%s, %v batch 64: no %q", opt.kind, c.sizes, want)
				}
			}
		}
	}
}

// graphs builds small graphs for the general API (several inputs or
// outputs, tensors of any rank), not yet through the passes.
type graphs struct {
	t     testing.TB
	g     *ir.Graph
	batch int
}

func newGraph(t testing.TB, name string, dtype ir.DType, batch int, unbatched bool) *graphs {
	return &graphs{t: t, g: ir.New(name, dtype, batch, unbatched), batch: batch}
}

// input declares a data input of per-sample shape dims.
func (b *graphs) input(name string, dims ...int) *ir.Value {
	return b.g.Leaf(ir.OpInput, name, append(ir.Shape{b.batch}, dims...), ir.Attrs{})
}

// target declares a loss target of per-sample shape dims.
func (b *graphs) target(name string, dims ...int) *ir.Value {
	v := b.input(name, dims...)
	v.Phase = ir.Loss
	return v
}

// linear is a layer named name of out features with weight and bias.
func (b *graphs) linear(name string, x *ir.Value, out int) *ir.Value {
	w := b.g.Leaf(ir.OpParam, name+".weight", ir.Shape{out, x.Shape[1]}, ir.Attrs{})
	bias := b.g.Leaf(ir.OpParam, name+".bias", ir.Shape{out}, ir.Attrs{})
	return b.add(name, ir.OpLinear, ir.Attrs{}, x, w, bias)
}

func (b *graphs) add(name string, op ir.Op, attrs ir.Attrs, args ...*ir.Value) *ir.Value {
	b.t.Helper()
	v := irtest.Must(b.t)(b.g.Add(op, attrs, args...))
	v.Name = name
	return v
}

// mse is a mean squared error in the loss phase.
func (b *graphs) mse(y, target *ir.Value) *ir.Value {
	v := b.add("", ir.OpMSE, ir.Attrs{Reduction: ir.ReduceMean}, y, target)
	v.Phase = ir.Loss
	return v
}

// train sets the loss and the optimizer and runs the passes.
func (b *graphs) train(loss *ir.Value, optimizer string, settings map[string][]float64, opts passes.Options) *ir.Graph {
	b.t.Helper()
	loss.Name, loss.Phase = "loss", ir.Loss
	b.g.Loss = loss
	var errs []error
	if b.g.Optimizer, errs = ir.NewOptimizer(optimizer, settings, ir.Pos{}); errs != nil {
		b.t.Fatal(errs)
	}
	opts.Verify = true
	if err := passes.Run(b.g, opts); err != nil {
		b.t.Fatal(err)
	}
	return b.g
}

// twoInputs: relu(linear(x, 6) + linear(c, 6)) → linear 2, MSE, SGD.
func twoInputs(t testing.TB, dtype ir.DType, opts passes.Options) *ir.Graph {
	b := newGraph(t, "TwoInputs", dtype, 4, false)
	x, c := b.input("x", 5), b.input("c", 3)
	h := b.add("h", ir.OpAdd, ir.Attrs{}, b.linear("lx", x, 6), b.linear("lc", c, 6))
	out := b.linear("out", b.add("r", ir.OpReLU, ir.Attrs{}, h), 2)
	b.g.Outputs = []*ir.Value{out}
	return b.train(b.mse(out, b.target("target", 2)), "sgd", map[string][]float64{"lr": {0.1}}, opts)
}

// autoencoder: x → tanh(linear 5) → code (linear 2) → tanh(linear 5) →
// recon (linear 8); outputs recon and code; the loss mse(recon, x) +
// 0.5·mse(code, code_target), x being a target too; Adam.
func autoencoder(t testing.TB, dtype ir.DType, opts passes.Options) *ir.Graph {
	b := newGraph(t, "AutoEncoder", dtype, 4, false)
	x := b.input("x", 8)
	t1 := b.add("t1", ir.OpTanh, ir.Attrs{}, b.linear("e1", x, 5))
	code := b.linear("code", t1, 2)
	t2 := b.add("t2", ir.OpTanh, ir.Attrs{}, b.linear("d1", code, 5))
	recon := b.linear("recon", t2, 8)
	b.g.Outputs = []*ir.Value{recon, code}
	half := b.g.Leaf(ir.OpConst, "", ir.Shape{}, ir.Attrs{Value: 0.5})
	weighted := b.add("", ir.OpMul, ir.Attrs{}, b.mse(code, b.target("code_target", 2)), half)
	loss := b.add("", ir.OpAdd, ir.Attrs{}, b.mse(recon, x), weighted)
	return b.train(loss, "adam", map[string][]float64{"lr": {0.01}}, opts)
}

// rank3: x[3,4] per sample, times a parameter of the same shape (drawn
// from its fan-in), plus a bias of ones and one of zeros, tanh, against a
// target of the same shape.
func rank3(t testing.TB, dtype ir.DType, opts passes.Options) *ir.Graph {
	b := newGraph(t, "Rank3", dtype, 2, false)
	x := b.input("x", 3, 4)
	scale := b.g.Leaf(ir.OpParam, "scale", ir.Shape{3, 4}, ir.Attrs{FanIn: 4})
	gain := b.g.Leaf(ir.OpParam, "gain", ir.Shape{4}, ir.Attrs{Init: ir.InitOnes})
	shift := b.g.Leaf(ir.OpParam, "shift", ir.Shape{3, 1}, ir.Attrs{Init: ir.InitZeros})
	h := b.add("h", ir.OpMul, ir.Attrs{}, x, scale)
	h = b.add("g", ir.OpMul, ir.Attrs{}, h, gain)
	h = b.add("s", ir.OpAdd, ir.Attrs{}, h, shift)
	y := b.add("y", ir.OpTanh, ir.Attrs{}, h)
	b.g.Outputs = []*ir.Value{y}
	return b.train(b.mse(y, b.target("y_target", 3, 4)), "sgd", map[string][]float64{"lr": {0.1}, "momentum": {0.9}}, opts)
}

// unbatchedClasses: two inputs of one sample, cross-entropy against a
// class index, which goes by value, and a second output of one number,
// which goes by pointer.
func unbatchedClasses(t testing.TB, dtype ir.DType, opts passes.Options) *ir.Graph {
	b := newGraph(t, "UnbatchedClasses", dtype, 1, true)
	x, c := b.input("image", 4), b.input("len", 3)
	h := b.add("h", ir.OpAdd, ir.Attrs{}, b.linear("a", x, 3), b.linear("b", c, 3))
	b.g.Outputs = []*ir.Value{h, b.add("total", ir.OpSum, ir.Attrs{Axes: []int{1}}, h)}
	label := b.target("label")
	label.DType = ir.Int
	loss := b.add("", ir.OpCrossEntropy, ir.Attrs{Reduction: ir.ReduceMean}, h, label)
	return b.train(loss, "sgd", map[string][]float64{"lr": {0.1}}, opts)
}

// TestGenerateGeneralAPI: a network of several inputs or outputs, or of
// tensors of another rank than [batch, features], gets methods with one
// parameter per tensor, named after it, and its generated tests compile.
func TestGenerateGeneralAPI(t *testing.T) {
	for _, tt := range []struct {
		name   string
		graph  func(testing.TB, ir.DType, passes.Options) *ir.Graph
		dtype  ir.DType
		api    map[string]string
		consts map[string]string
		lines  []string
	}{
		{
			name: "two inputs", graph: twoInputs, dtype: ir.F64,
			api: map[string]string{
				"(*Model).Forward":   "func(x *[4][5]float64, c *[4][3]float64, out *[4][2]float64)",
				"(*Model).Backward":  "func(x *[4][5]float64, c *[4][3]float64, target *[4][2]float64) float64",
				"(*Model).TrainStep": "func(x *[4][5]float64, c *[4][3]float64, target *[4][2]float64) float64",
			},
			consts: map[string]string{"Batch": "4"},
			lines: []string{
				"// Forward runs the network on the inputs x and c and writes its output into out.",
				"func (m *Model) Forward(x *[Batch][5]float64, c *[Batch][3]float64, out *[Batch][2]float64) {",
				"// Backward runs the network on x and c, returns the loss mse(out, target) and sets the\n",
				"func (m *Model) TrainStep(x *[Batch][5]float64, c *[Batch][3]float64, target *[Batch][2]float64) float64 {",
				"loss := m.Backward(x, c, target)",
				"m.forward(x, c)",
			},
		},
		{
			name: "two outputs", graph: autoencoder, dtype: ir.F32,
			api: map[string]string{
				"(*Model).Forward":   "func(x *[4][8]float32, recon *[4][8]float32, code *[4][2]float32)",
				"(*Model).Backward":  "func(x *[4][8]float32, codeTarget *[4][2]float32) float32",
				"(*Model).TrainStep": "func(x *[4][8]float32, codeTarget *[4][2]float32) float32",
			},
			consts: map[string]string{"Batch": "4"},
			lines: []string{
				"// Forward runs the network on the input x and writes its outputs into recon and code.",
				"// Backward runs the network on x, returns the loss mse(recon, x) +\n// mse(code, codeTarget)·0.5 and sets",
			},
		},
		{
			name: "rank 3", graph: rank3, dtype: ir.F64,
			api: map[string]string{
				"(*Model).Forward":   "func(x *[2][3][4]float64, y *[2][3][4]float64)",
				"(*Model).Backward":  "func(x *[2][3][4]float64, yTarget *[2][3][4]float64) float64",
				"(*Model).TrainStep": "func(x *[2][3][4]float64, yTarget *[2][3][4]float64) float64",
			},
			consts: map[string]string{"Batch": "2"},
			lines: []string{
				"nnrt.FillUniform(r, unsafe.Slice(&m.Scale[0][0], 12), nnrt.LinearBound(4))",
				"for i := range m.Gain {\n\t\tm.Gain[i] = 1\n\t}",
				"func (m *Model) Forward(x *[Batch][3][4]float64, y *[Batch][3][4]float64) {",
			},
		},
		{
			name: "unbatched class index", graph: unbatchedClasses, dtype: ir.F32,
			api: map[string]string{
				"(*Model).Forward":   "func(image *[4]float32, lenArg *[3]float32, h *[3]float32, total *float32)",
				"(*Model).Backward":  "func(image *[4]float32, lenArg *[3]float32, label int) float32",
				"(*Model).TrainStep": "func(image *[4]float32, lenArg *[3]float32, label int) float32",
			},
			consts: map[string]string{},
			lines: []string{
				"// Forward runs the network on the inputs image and lenArg and writes its outputs into h\n// and total. Each argument is one sample's tensor, an array of its shape.\n",
				"// Backward runs the network on image and lenArg, returns the loss\n// cross_entropy(h, label) and sets",
				"*total = m.slot",
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.graph(t, tt.dtype, passes.Options{})
			cfg := config
			cfg.Tests = true
			files := generateFiles(t, g, cfg, "model.nn.go", "model.nn_test.go")
			pkg := typecheck(t, files[0].Data, files[1].Data)
			got := api(pkg)
			for name, want := range tt.api {
				if got[name] != want {
					t.Errorf("%s: %s, want %s", name, got[name], want)
				}
			}
			diff(t, "constant", constants(pkg), tt.consts)
			src := string(files[0].Data)
			for _, line := range tt.lines {
				if !strings.Contains(src, line) {
					t.Errorf("the generated code lacks %q", line)
				}
			}
			if t.Failed() {
				t.Logf("generated:\n%s\n%s", files[0].Data, files[1].Data)
			}

			// Inference only: the targets go, and Forward stays.
			infer := tt.graph(t, tt.dtype, passes.Options{Infer: true})
			files = generateFiles(t, infer, cfg, "model.nn.go", "model.nn_test.go")
			pkg = typecheck(t, files[0].Data, files[1].Data)
			if got := api(pkg)["(*Model).Forward"]; got != tt.api["(*Model).Forward"] {
				t.Errorf("inference only: Forward %s, want %s", got, tt.api["(*Model).Forward"])
			}
		})
	}
}

// TestGenerateRefusesCollidingArguments: two tensors whose names would be
// the same Go parameter.
func TestGenerateRefusesCollidingArguments(t *testing.T) {
	b := newGraph(t, "Collide", ir.F64, 2, false)
	x, c := b.input("a_b", 3), b.input("aB", 3)
	x.Pos, c.Pos = ir.Pos{File: "model.nn", Line: 3, Col: 7}, ir.Pos{File: "model.nn", Line: 4, Col: 7}
	h := b.add("h", ir.OpAdd, ir.Attrs{}, b.linear("l1", x, 2), b.linear("l2", c, 2))
	b.g.Outputs = []*ir.Value{h}
	g := b.train(b.mse(h, b.target("t", 2)), "sgd", map[string][]float64{"lr": {0.1}}, passes.Options{})
	_, err := codegen.Generate(g, config)
	want := "model.nn:4:7: the input aB and the input a_b (model.nn:3:7) would both be the Go parameter aB of the generated methods; rename one"
	if err == nil || err.Error() != want {
		t.Errorf("Generate: %v, want %q", err, want)
	}
}

func TestArgumentNames(t *testing.T) {
	for name, want := range map[string]string{
		"x": "x", "code_target": "codeTarget", "ln.weight": "lnWeight", "lr": "lr", "id_map": "idMap", "map_id": "mapID",
		"Image": "image", "myInput": "myInput", "1st": "x1st", "": "x", "m": "mArg", "len": "lenArg", "type": "typeArg",
		"i": "iArg", "n2": "n2Arg", "s": "sArg", "runtime": "runtimeArg", "c": "c", "t": "t", "target": "target",
	} {
		if got := codegen.ArgName(name); got != want {
			t.Errorf("argName(%q) = %q, want %q", name, got, want)
		}
	}
}

// A package generated with the inference plan (Config.Infer) has a
// Predictor: its own slots, the inference plan's, and the model's
// parameters through m.
func TestGeneratePredictor(t *testing.T) {
	g := planned(t, passes.Options{}, ir.F32, 8, false, 4, 5, 3)
	infer := planned(t, passes.Options{Infer: true}, ir.F32, 8, false, 4, 5, 3)
	cfg := config
	cfg.Infer = infer
	files := generateFiles(t, g, cfg, "model.nn.go")
	src, pkg := string(files[0].Data), typecheck(t, files[0].Data)
	api := api(pkg)
	for name, want := range map[string]string{
		"(*Model).NewPredictor":     "func() *Predictor",
		"(*Predictor).Forward":      "func(x *[8][4]float32, y *[8][3]float32)",
		"(*Predictor).ForwardBatch": "func(x [][4]float32, y [][3]float32)",
	} {
		if api[name] != want {
			t.Errorf("%s is %q, want %q", name, api[name], want)
		}
	}
	for _, line := range []string{
		"type Predictor struct {\n\tm     *Model",
		"func (p *Predictor) forward(x [][4]float32) {\n\tm := p.m\n",
		"m.Layer1Weight[", "p.slot0[",
	} {
		if !strings.Contains(src, line) {
			t.Errorf("the generated code lacks %q", line)
		}
	}
	if len(infer.Slots) == 0 || strings.Count(src, "\tslot0 ") != 2 {
		t.Errorf("want slot0 in Model and in Predictor:\n%s", src)
	}
	cfg.Infer = planned(t, passes.Options{}, ir.F32, 8, false, 4, 5, 3)
	if _, err := codegen.Generate(g, cfg); err == nil || !strings.Contains(err.Error(), "has a loss") {
		t.Errorf("a predictor from a training plan: %v", err)
	}
}

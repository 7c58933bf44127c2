package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"

	"github.com/nngen/nngen"
	"github.com/nngen/nngen/codegen"
)

var parityCases = flag.String("paritycases", "", "TestParity: only the packages whose name matches this `REGEXP`")

// inferTraces are the traces also built with -infer, whose package must
// hold no training code and give PyTorch's outputs: an unbatched model, a
// batched one, one of class indices and the GEMM paths. The inference
// plan's numbers are checked on every trace anyway, through the
// Predictor of the training builds.
var inferTraces = map[string]bool{"seed": true, "seed_batch": true, "relu_ce_momentum": true,
	"gemm_batched": true, "gemm_pool": true, "gemm_unbatched": true, "deep_unbatched": true}

// nofuseTraces are the traces also built without fusion, to check that
// fusion changes no number: one per way a layer and its activation fuse
// (written out, on the GEMM kernels, on the pool, on fewer samples than
// the batch; sigmoid, relu, tanh, leaky_relu, both gelus, softmax). The
// other traces fuse the same ways; their nofuse builds would cost a
// package each and check nothing more.
var nofuseTraces = map[string]bool{
	"seed": true, "gemm_batched": true, "gemm_pool": true, "partial_gemm": true, "gelu_bce_adamw": true,
	"gelutanh_mse_adam": true, "softmax_dampening": true, "leaky_l1_nesterov": true, "deep_relu_adam": true, "tanh_adam": true,
}

// TestParity compiles a package for every PyTorch trace in
// testdata/reference, in float32 and float64 (and once with fusion off),
// into a scratch module, and runs a test inside each that replays the
// trace: same starting parameters, and per step the output, loss, every
// gradient and every parameter after the update must equal PyTorch's
// within 1e-5 (float32) or 1e-10 (float64) relative to the tensor's
// largest value. The float64 packages also check every gradient against
// central finite differences, and every package checks that Forward,
// Backward and Step allocate nothing. The packages must also pass go vet.
// -paritycases REGEXP keeps only the packages it matches.
func TestParity(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles generated packages; skipped with -short")
	}
	t.Parallel()
	traces, err := filepath.Glob("testdata/reference/*.json")
	if err != nil || len(traces) == 0 {
		t.Fatalf("no traces: %v", err)
	}
	mod := scratchModule(t)
	type variant struct {
		dtype         string
		noFuse, infer bool
		suffix        string
	}
	variants := []variant{
		{dtype: "float32"},
		{dtype: "float64"},
		{dtype: "float64", noFuse: true, suffix: "nofuse"},
		{dtype: "float32", infer: true, suffix: "infer"},
	}
	var match *regexp.Regexp
	if *parityCases != "" {
		match = regexp.MustCompile(*parityCases)
	}
	var pkgs []string
	cost := map[string]int{}
	for _, path := range traces {
		tr := readTrace(t, path)
		if inGraphs(tr.Name) {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range variants {
			if v.infer && !inferTraces[tr.Name] {
				continue
			}
			pkg := strings.ReplaceAll(tr.Name+v.dtype+v.suffix, "_", "")
			if match != nil && !match.MatchString(pkg) {
				continue
			}
			dir := filepath.Join(mod, pkg)
			src := tr.modelSource(v.dtype)
			if v.noFuse && (!fusionChanges(t, tr.Name+".nn", src) || !nofuseTraces[tr.Name]) {
				continue
			}
			// The generated tests (-tests) compile and pass in the float32
			// build; the other builds leave them out, to keep the suite fast:
			// the harness checks their gradients, allocations and predictors.
			tests := v.dtype == "float32" && !v.infer
			files, err := nngen.Build(tr.Name+".nn", []byte(src), nngen.Options{Package: pkg, NoFuse: v.noFuse, Infer: v.infer, Tests: tests})
			if err != nil {
				t.Fatalf("%s: %v\nsource:\n%s", pkg, err, src)
			}
			for _, f := range files {
				write(t, filepath.Join(dir, f.Name), f.Data)
			}
			write(t, filepath.Join(dir, "testdata", "trace.json"), data)
			var harness bytes.Buffer
			if err := harnessTemplate.Execute(&harness, map[string]any{
				"Package": pkg, "Float": v.dtype, "Infer": v.infer, "Batched": tr.Batch != nil, "Classes": tr.Loss.Type == "cross_entropy",
				"Partial": tr.Batch != nil && *tr.Batch > 1,
				"Sample":  tr.arrayType(true), "Result": tr.arrayType(false),
				"Tolerance": map[string]string{"float32": "1e-5", "float64": "1e-10"}[v.dtype],
				// The fused float64 build checks the gradient rules by finite
				// differences; the build without fusion, whose gradients must
				// equal PyTorch's all the same, need not do it again.
				"FiniteDifferences": v.dtype == "float64" && !v.noFuse,
			}); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(dir, "parity_test.go"), harness.Bytes())
			pkgs = append(pkgs, pkg)
			cost[pkg] = tr.cost(v.dtype == "float64")
		}
	}
	if len(pkgs) == 0 {
		t.Fatalf("no package matches -paritycases %q", *parityCases)
	}
	r := newRunner(t, mod, "nngenrunner", pkgs, nil)
	r.need(t, "TestParity")
	concurrently(t, vetter(mod, nil), r.build)
	r.report(t, r.run(t, pkgs, cost, nil), "max error", "finite differences")
}

// fusionChanges reports whether fusion changes a model's generated code:
// where it does not (no activation follows a linear layer), the build
// without fusion would compile and replay the same code again, and the
// suite leaves it out.
func fusionChanges(t *testing.T, file, src string) bool {
	t.Helper()
	fused, err1 := nngen.Build(file, []byte(src), nngen.Options{Package: "cmp"})
	unfused, err2 := nngen.Build(file, []byte(src), nngen.Options{Package: "cmp", NoFuse: true})
	if err1 != nil || err2 != nil {
		return true // the builds report it
	}
	return !slices.EqualFunc(fused, unfused, func(a, b codegen.File) bool { return a.Name == b.Name && bytes.Equal(a.Data, b.Data) })
}

// scratchModule makes a module outside the repository that builds against
// this checkout of nngen, as a user's module would. Its go.mod already
// requires every module that nngen's does, as the go command would add
// them, so that go commands running at once in it need not edit it.
func scratchModule(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion, indirect := "1.26", []string(nil)
	inBlock := false
	for _, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "//")
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "go":
			goVersion = f[1]
		case len(f) == 2 && f[0] == "require" && f[1] == "(":
			inBlock = true
		case inBlock && len(f) == 1 && f[0] == ")":
			inBlock = false
		case inBlock && len(f) == 2:
			indirect = append(indirect, "\t"+f[0]+" "+f[1]+" // indirect\n")
		case len(f) == 3 && f[0] == "require":
			indirect = append(indirect, "\t"+f[1]+" "+f[2]+" // indirect\n")
		}
	}
	slices.Sort(indirect)
	goMod := "module scratch\n\ngo " + goVersion + "\n\nrequire github.com/nngen/nngen v0.0.0\n\n"
	if indirect != nil {
		goMod += "require (\n" + strings.Join(indirect, "") + ")\n\n"
	}
	goMod += "replace github.com/nngen/nngen => " + root + "\n"
	mod := t.TempDir()
	write(t, filepath.Join(mod, "go.mod"), []byte(goMod))
	if sum, err := os.ReadFile(filepath.Join(root, "go.sum")); err == nil {
		write(t, filepath.Join(mod, "go.sum"), sum)
	}
	return mod
}

// vet builds and vets every package in the module, test files included.
func vet(t *testing.T, mod string) {
	t.Helper()
	if err := vetter(mod, nil)(); err != nil {
		t.Fatal(err)
	}
}

// vetter returns vet as a function for concurrently, with env.
func vetter(mod string, env []string) func() error {
	return func() error {
		if out, err := goCommand(mod, env, "vet", "./...").CombinedOutput(); err != nil {
			return fmt.Errorf("go vet on the generated packages: %v\n%s", err, out)
		}
		return nil
	}
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := writeFile(path, data); err != nil {
		t.Fatal(err)
	}
}

// writeFile writes the file, making its directory.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

var harnessTemplate = template.Must(template.New("harness").Parse(`package {{.Package}}

import (
	"encoding/json"
{{- if .Partial}}
	"fmt"
{{- end}}
	"maps"
	"math"
	"os"
{{- if .Infer}}
	"reflect"
	"strings"
{{- else}}
	"slices"
{{- end}}
{{- if eq .Float "float64"}}
	goruntime "runtime"
	"strconv"
{{- end}}
	"testing"
	"unsafe"
)

type float = {{.Float}}

const tolerance = {{.Tolerance}}

type step struct {
	X, Y, Output any
	Loss         float64
	Grads        map[string]any
	ParamsAfter  map[string]any ` + "`json:\"params_after\"`" + `
}

type trace struct {
	Params map[string]any
	Steps  []step
}

` + harnessFlat + `
// relErr is max|got-want| / max|want|.
func relErr(got []float, want []float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var diff, scale float64
	for i := range got {
		diff = max(diff, math.Abs(float64(got[i])-want[i]))
		scale = max(scale, math.Abs(want[i]))
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}

type sample = {{.Sample}}
type result = {{.Result}}

// elems is the numbers of an array of any rank, in row-major order.
func elems[A any](a *A) []float {
	return unsafe.Slice((*float)(unsafe.Pointer(a)), unsafe.Sizeof(*a)/unsafe.Sizeof(float(0)))
}

// load and loadOut fill the first len(src) numbers: a step of fewer
// samples than the batch leaves the rest zero.
func load(dst *sample, src []float64) {
	e := elems(dst)
	for i := range src {
		e[i] = float(src[i])
	}
}

func loadOut(dst *result, src []float64) {
	e := elems(dst)
	for i := range src {
		e[i] = float(src[i])
	}
}

func flatOut(y *result) []float { return elems(y) }

{{if and .Classes .Batched}}
type target = [Batch]int

func loadTarget(dst *target, src []float64) {
	for i := range src {
		dst[i] = int(src[i])
	}
}

func arg(t *target) *target { return t }
{{else if .Classes}}
type target = int

func loadTarget(dst *target, src []float64) { *dst = int(src[0]) }

func arg(t *target) int { return *t }
{{else}}
type target = result

func loadTarget(dst *target, src []float64) { loadOut(dst, src) }

func arg(t *target) *target { return t }
{{end}}

{{if .Partial}}
// forward, predict and backward run a step of n samples: on the full
// batch's methods for Batch, else on the Batch methods.
func forward(m *Model, x *sample, y *result, n int) {
	if n == Batch {
		m.Forward(x, y)
		return
	}
	m.ForwardBatch(x[:n], y[:n])
}

func predict(p *Predictor, x *sample, y *result, n int) {
	if n == Batch {
		p.Forward(x, y)
		return
	}
	p.ForwardBatch(x[:n], y[:n])
}
{{if not .Infer}}
func backward(m *Model, x *sample, t *target, n int) float {
	if n == Batch {
		return m.Backward(x, arg(t))
	}
	return m.BackwardBatch(x[:n], t[:n])
}
{{end}}
// samples is the number of samples of a step's input.
func samples(x any) int { return len(flat(x)) / Inputs }

// batchChecks are the Batch methods on a few numbers of samples, which
// must allocate nothing either.
func batchChecks(m *Model, p *Predictor, x *sample, y *result{{if not .Infer}}, t *target{{end}}) map[string]func() {
	checks := map[string]func(){}
	for _, n := range []int{1, min(7, Batch-1)} {
		checks[fmt.Sprintf("ForwardBatch(%d samples)", n)] = func() { m.ForwardBatch(x[:n], y[:n]) }
		checks[fmt.Sprintf("Predictor.ForwardBatch(%d samples)", n)] = func() { p.ForwardBatch(x[:n], y[:n]) }
{{- if not .Infer}}
		checks[fmt.Sprintf("BackwardBatch(%d samples)", n)] = func() { m.BackwardBatch(x[:n], t[:n]) }
{{- end}}
	}
	return checks
}
{{else}}
func forward(m *Model, x *sample, y *result, n int)     { m.Forward(x, y) }
func predict(p *Predictor, x *sample, y *result, n int) { p.Forward(x, y) }
{{if not .Infer}}
func backward(m *Model, x *sample, t *target, n int) float { return m.Backward(x, arg(t)) }
{{end}}
func samples(x any) int { return 1 }

func batchChecks(m *Model, p *Predictor, x *sample, y *result{{if not .Infer}}, t *target{{end}}) map[string]func() {
	return nil
}
{{end}}
// setParams loads the trace's parameters into the model by state_dict name.
func setParams(t *testing.T, m *Model, params map[string]any) {
	t.Helper()
	if len(m.Params()) != len(params) {
		t.Fatalf("model has %d parameters, the trace %d", len(m.Params()), len(params))
	}
	for name, v := range params {
		p, ok := m.Param(name)
		if !ok {
			t.Fatalf("no parameter %s", name)
		}
		src := flat(v)
		if len(src) != len(p.Value) {
			t.Fatalf("%s: %d values, want %d", name, len(p.Value), len(src))
		}
		for i := range src {
			p.Value[i] = float(src[i])
		}
	}
}

func readTrace(t *testing.T) trace {
	data, err := os.ReadFile("testdata/trace.json")
	if err != nil {
		t.Fatal(err)
	}
	var tr trace
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

{{if .Infer}}
// TestParity checks the inference-only build: the same outputs as PyTorch
// at every step's parameters, and no training code at all.
func TestParity(t *testing.T) {
	tr := readTrace(t)
	m := New(1)
	typ := reflect.TypeOf(m)
	for _, name := range []string{"Backward", "Step", "TrainStep", "ResetOptimizer"} {
		if _, ok := typ.MethodByName(name); ok {
			t.Errorf("an inference build has %s", name)
		}
	}
	for i := range typ.Elem().NumField() {
		if f := typ.Elem().Field(i); strings.HasSuffix(f.Name, "Grad") || f.Name == "LR" {
			t.Errorf("an inference build has the field %s", f.Name)
		}
	}
	worst := 0.0
	for s, st := range tr.Steps {
		if s == 0 {
			setParams(t, m, tr.Params)
		} else {
			setParams(t, m, tr.Steps[s-1].ParamsAfter)
		}
		var x sample
		var y result
		load(&x, flat(st.X))
		n := samples(st.X)
		forward(m, &x, &y, n)
		var py result
		predict(m.NewPredictor(), &x, &py, n)
		for _, out := range []*result{&y, &py} {
			e := relErr(flatOut(out)[:len(flat(st.Output))], flat(st.Output))
			worst = max(worst, e)
			if !(e <= tolerance) {
				t.Errorf("step %d: output (of %s): relative error %.3g", s, map[bool]string{true: "Forward", false: "a Predictor"}[out == &y], e)
			}
		}
	}
	t.Logf("{{.Package}}: %d steps, max error: output %.2g (Forward and a Predictor)", len(tr.Steps), worst)
	var x sample
	var y result
	p := m.NewPredictor()
	checks := map[string]func(){"Forward": func() { m.Forward(&x, &y) }, "Predictor.Forward": func() { p.Forward(&x, &y) }}
	maps.Copy(checks, batchChecks(m, p, &x, &y))
	for name, f := range checks {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times per call", name, n)
		}
	}
}
{{else}}
func TestParity(t *testing.T) {
	tr := readTrace(t)
	m := New(1)
	setParams(t, m, tr.Params)
	checked := map[int]point{}
	replay(t, m, tr, checked)

	// ResetOptimizer forgets the optimizer's state: from the starting
	// parameters, the same steps give the same numbers again.
	m.ResetOptimizer()
	setParams(t, m, tr.Params)
	replay(t, m, tr, checked)

	// The learning rate is a field: at 0, a step changes nothing.
	var x sample
	var y result
	var tt target
	load(&x, flat(tr.Steps[0].X))
	loadTarget(&tt, flat(tr.Steps[0].Y))
	before := append([]float(nil), m.Params()[0].Value...)
	lr := m.LR
	m.LR = 0
	m.TrainStep(&x, arg(&tt))
	if relErr(m.Params()[0].Value, toFloat64(before)) != 0 {
		t.Error("a step with LR = 0 changed the parameters")
	}
	m.LR = lr
	m.TrainStep(&x, arg(&tt))
	if relErr(m.Params()[0].Value, toFloat64(before)) == 0 {
		t.Error("a step with the learning rate restored changed nothing")
	}

	p := m.NewPredictor()
	checks := map[string]func(){
		"Forward":           func() { m.Forward(&x, &y) },
		"Backward":          func() { m.Backward(&x, arg(&tt)) },
		"Step":              func() { m.Step() },
		"Predictor.Forward": func() { p.Forward(&x, &y) },
	}
	maps.Copy(checks, batchChecks(m, p, &x, &y, &tt))
	for name, f := range checks {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times per call", name, n)
		}
	}
}

` + harnessPoints + `
// replay runs the trace's steps and compares every number with PyTorch's.
// checked holds, by step, the points where the gradients were checked
// against finite differences (in float64).
func replay(t *testing.T, m *Model, tr trace, checked map[int]point) {
	t.Helper()
	worst := map[string]float64{}
	check := func(what string, step int, got []float, want []float64) {
		t.Helper()
		e := relErr(got, want)
		worst[what] = max(worst[what], e)
		if !(e <= tolerance) {
			t.Errorf("step %d: %s: relative error %.3g > %g\ngot  %v\nwant %v", step, what, e, tolerance, got, want)
		}
	}
	for s, st := range tr.Steps {
		var x sample
		var y result
		var tgt target
		load(&x, flat(st.X))
		loadTarget(&tgt, flat(st.Y))
		n := samples(st.X)
		forward(m, &x, &y, n)
		check("output", s, flatOut(&y)[:len(flat(st.Output))], flat(st.Output))
		var py result
		predict(m.NewPredictor(), &x, &py, n)
		check("predictor", s, flatOut(&py)[:len(flat(st.Output))], flat(st.Output))
		loss := backward(m, &x, &tgt, n)
		check("loss", s, []float{loss}, []float64{st.Loss})
		for _, p := range m.Params() {
			check("grad", s, p.Grad, flat(st.Grads[p.Name]))
		}
{{if .FiniteDifferences}}		checkFiniteDifferences(t, m, &x, &tgt, n, s, checked)
{{end}}		m.Step()
		for _, p := range m.Params() {
			check("param", s, p.Value, flat(st.ParamsAfter[p.Name]))
		}
	}
	t.Logf("{{.Package}}: %d steps, max error: output %.2g, loss %.2g, grad %.2g, param %.2g, predictor %.2g",
		len(tr.Steps), worst["output"], worst["loss"], worst["grad"], worst["param"], worst["predictor"])
}

{{if eq .Float "float64"}}
` + harnessFiniteDifferences + `
// checkFiniteDifferences compares the gradient elements with the central
// difference (L(p+h) - L(p-h)) / 2h, in float64 only: with
// NNGEN_FD_ELEMENTS=N (the golden runner sets 4096, 64 under qemu), N
// elements of each parameter evenly spread, every element for 0.
//
// The second replay, after ResetOptimizer, reaches each step's parameters
// and gradients again; where they are the first replay's bit for bit, the
// differences would repeat the same arithmetic to the bit, and are not
// computed twice. The differences run on a model of their own with m's
// parameters, made with GOMAXPROCS=1: a model that splits its large
// products across a pool of workers then runs them on one, which gives
// the same bits (runtime's TestPoolBitIdentical), without workers that
// spin for a core that other tests hold.
func checkFiniteDifferences(t *testing.T, m *Model, x *sample, target *target, n, step int, checked map[int]point) {
	t.Helper()
	backward(m, x, target, n)
	finiteDifferences(t, pointOf(m), step, checked, nil, func(d *Model) float64 { return float64(backward(d, x, target, n)) })
}
{{end}}
{{end}}`))

// arrayType is the Go type of the trace's input (sample) or output, with
// the model's float type spelt float: [Batch][Inputs]float, or without
// the batch for one sample.
func (tr trace) arrayType(sample bool) string {
	size := "Outputs"
	if sample {
		size = "Inputs"
	}
	if tr.Batch == nil {
		return "[" + size + "]float"
	}
	return "[Batch][" + size + "]float"
}

// shapeType is the Go array type of a tensor of the given IR shape as the
// generated API takes it: without the batch axis for one sample.
func shapeType(shape []int, unbatched bool, elem string) string {
	if unbatched {
		shape = shape[1:]
	}
	var b strings.Builder
	for _, d := range shape {
		fmt.Fprintf(&b, "[%d]", d)
	}
	return b.String() + elem
}

// inGraphs reports whether an MLP trace's network is also a trace of
// testdata/graphs (the act_ networks, made for the ONNX exports of each
// activation, which TestONNXTraces replays): TestGraphs then runs its .nn
// form in every variant, on the CPU and the emulated GPU, and TestParity
// and TestCudaParity leave it out rather than compile it twice.
func inGraphs(name string) bool {
	base, _, _ := strings.Cut(name, "_alpha") // act_elu_alpha07: the graphs' act_elu has alpha 0.7
	_, err := os.Stat(filepath.Join("testdata", "graphs", base+".json"))
	return strings.HasPrefix(name, "act_") && err == nil
}

// The parts of the generated harnesses (TestParity's, TestGraphs', the
// GPU's) that are the same in each: a trace's numbers, a model's point,
// and the finite differences of its loss.
const harnessFlat = `// flat lists the numbers of a nested JSON array in row-major order.
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
	panic("not a number or array")
}
`

const harnessPoints = `func toFloat64(v []float) []float64 {
	out := make([]float64, len(v))
	for i := range v {
		out[i] = float64(v[i])
	}
	return out
}

// point is a model's parameters and gradients, by parameter.
// point is a model's parameters and gradients at a step, and the model,
// whose buffers the finite differences' model copies.
type point struct {
	values, grads [][]float
	model         *Model
}

func pointOf(m *Model) point {
	p := point{model: m}
	for _, param := range m.Params() {
		p.values = append(p.values, append([]float(nil), param.Value...))
		p.grads = append(p.grads, append([]float(nil), param.Grad...))
	}
	return p
}

// same reports whether p and q are equal bit for bit.
func (p point) same(q point) bool {
	equal := func(a, b [][]float) bool {
		return slices.EqualFunc(a, b, func(x, y []float) bool {
			return slices.EqualFunc(x, y, func(u, v float) bool { return math.Float64bits(float64(u)) == math.Float64bits(float64(v)) })
		})
	}
	return equal(p.values, q.values) && equal(p.grads, q.grads)
}
`

const harnessFiniteDifferences = `// finiteDifferences checks the gradient elements of the point here (every
// one, or NNGEN_FD_ELEMENTS of each parameter), the model's after Backward, against the central difference of loss, which
// runs Backward on a model d of its own (see the harnesses' callers).
// paddingRows names, by parameter, an embedding's padding row: it takes no
// gradient by definition though the loss depends on it, so it is left out.
func finiteDifferences(t *testing.T, here point, step int, checked map[int]point, paddingRows map[string]int, loss func(d *Model) float64) {
	t.Helper()
	if first, ok := checked[step]; ok && first.same(here) {
		t.Logf("{{.Package}}: step %d: the parameters and gradients of the first replay: its finite differences stand", step)
		return
	}
	checked[step] = here
	procs := goruntime.GOMAXPROCS(1)
	d := New(1)
	goruntime.GOMAXPROCS(procs)
	d.LoadParams(here.model) // and the buffers
	if !here.model.Training() {
		d.Eval() // the gradients of the model's mode
	}
	for k, p := range d.Params() {
		copy(p.Value, here.values[k])
	}
	const h = 1e-6
	worst := 0.0
	limit, _ := strconv.Atoi(os.Getenv("NNGEN_FD_ELEMENTS")) // 0: every element
	for k, p := range d.Params() {
		stride := 1
		if limit > 0 && len(p.Value) > limit {
			stride = (len(p.Value) + limit - 1) / limit
		}
		for i := 0; i < len(p.Value); i += stride {
			if row, ok := paddingRows[p.Name]; ok && i/p.Shape[1] == row {
				if here.grads[k][i] != 0 {
					t.Errorf("%s[%d]: the padding row's gradient is %.10g, want 0", p.Name, i, here.grads[k][i])
				}
				continue
			}
			old := p.Value[i]
			p.Value[i] = old + h
			up := loss(d)
			p.Value[i] = old - h
			down := loss(d)
			p.Value[i] = old
			numeric := (up - down) / (2 * h)
			err := math.Abs(numeric-float64(here.grads[k][i])) / max(1e-3, math.Abs(numeric))
			worst = max(worst, err)
			if err > 1e-5 {
				t.Errorf("%s[%d]: finite difference %.10g, gradient %.10g", p.Name, i, numeric, here.grads[k][i])
			}
		}
	}
	t.Logf("{{.Package}}: finite differences max error %.2g", worst)
}
`

package golden

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/nngen/nngen"
)

// TestParity compiles a package for every PyTorch trace in
// testdata/reference, in float32 and float64 (and once with fusion off),
// into a scratch module, and runs a test inside each that replays the
// trace: same starting parameters, and per step the output, loss, every
// gradient and every parameter after the update must equal PyTorch's
// within 1e-5 (float32) or 1e-10 (float64) relative to the tensor's
// largest value. The float64 packages also check every gradient against
// central finite differences, and every package checks that Forward,
// Backward and Step allocate nothing. The packages must also pass go vet.
func TestParity(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles generated packages; skipped with -short")
	}
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
	for _, path := range traces {
		tr := readTrace(t, path)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range variants {
			pkg := strings.ReplaceAll(tr.Name+v.dtype+v.suffix, "_", "")
			dir := filepath.Join(mod, pkg)
			src := tr.modelSource(v.dtype)
			files, err := nngen.Build(tr.Name+".nn", []byte(src), nngen.Options{Package: pkg, NoFuse: v.noFuse, Infer: v.infer, Tests: true})
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
				"Tolerance": map[string]string{"float32": "1e-5", "float64": "1e-10"}[v.dtype],
			}); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(dir, "parity_test.go"), harness.Bytes())
		}
	}
	vet(t, mod)
	out, err := goIn(mod, "test", "-count=1", "-v", "./...")
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "max error") || strings.HasPrefix(line, "ok") || strings.Contains(line, "FAIL") {
			t.Log(strings.TrimSpace(line))
		}
	}
	if err != nil {
		t.Fatalf("go test in the generated module: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "--- PASS: TestParity"); n == 0 {
		t.Fatalf("no parity test ran:\n%s", out)
	}
}

// scratchModule makes a module outside the repository that builds against
// this checkout of nngen, as a user's module would.
func scratchModule(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	goMod := "module scratch\n\ngo 1.26\n\nrequire github.com/nngen/nngen v0.0.0\n\nreplace github.com/nngen/nngen => " + root + "\n"
	write(t, filepath.Join(mod, "go.mod"), []byte(goMod))
	if sum, err := os.ReadFile(filepath.Join(root, "go.sum")); err == nil {
		write(t, filepath.Join(mod, "go.sum"), sum)
	}
	return mod
}

// goIn runs the go command in dir.
func goIn(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	return cmd.CombinedOutput()
}

// vet builds and vets every package in the module.
func vet(t *testing.T, mod string) {
	t.Helper()
	if out, err := goIn(mod, "vet", "./..."); err != nil {
		t.Fatalf("go vet on the generated packages: %v\n%s", err, out)
	}
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

var harnessTemplate = template.Must(template.New("harness").Parse(`package {{.Package}}

import (
	"encoding/json"
	"math"
	"os"
{{- if .Infer}}
	"reflect"
	"strings"
{{- end}}
	"testing"
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

// flat lists the numbers of a nested JSON array in row-major order.
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

{{if .Batched}}
type sample = [Batch][Inputs]float
type result = [Batch][Outputs]float

func load(dst *[Batch][Inputs]float, src []float64) {
	for n := range dst {
		for i := range dst[n] {
			dst[n][i] = float(src[n*Inputs+i])
		}
	}
}

func loadOut(dst *[Batch][Outputs]float, src []float64) {
	for n := range dst {
		for i := range dst[n] {
			dst[n][i] = float(src[n*Outputs+i])
		}
	}
}

func flatOut(y *[Batch][Outputs]float) []float {
	var out []float
	for n := range y {
		out = append(out, y[n][:]...)
	}
	return out
}
{{else}}
type sample = [Inputs]float
type result = [Outputs]float

func load(dst *[Inputs]float, src []float64) {
	for i := range dst {
		dst[i] = float(src[i])
	}
}

func loadOut(dst *[Outputs]float, src []float64) {
	for i := range dst {
		dst[i] = float(src[i])
	}
}

func flatOut(y *[Outputs]float) []float { return y[:] }
{{end}}

{{if and .Classes .Batched}}
type target = [Batch]int

func loadTarget(dst *target, src []float64) {
	for i := range dst {
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
		m.Forward(&x, &y)
		e := relErr(flatOut(&y), flat(st.Output))
		worst = max(worst, e)
		if !(e <= tolerance) {
			t.Errorf("step %d: output: relative error %.3g", s, e)
		}
	}
	t.Logf("{{.Package}}: %d steps, max error: output %.2g", len(tr.Steps), worst)
	var x sample
	var y result
	if n := testing.AllocsPerRun(100, func() { m.Forward(&x, &y) }); n != 0 {
		t.Errorf("Forward allocates %v times per call", n)
	}
}
{{else}}
func TestParity(t *testing.T) {
	tr := readTrace(t)
	m := New(1)
	setParams(t, m, tr.Params)
	replay(t, m, tr)

	// ResetOptimizer forgets the optimizer's state: from the starting
	// parameters, the same steps give the same numbers again.
	m.ResetOptimizer()
	setParams(t, m, tr.Params)
	replay(t, m, tr)

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

	for name, f := range map[string]func(){
		"Forward":  func() { m.Forward(&x, &y) },
		"Backward": func() { m.Backward(&x, arg(&tt)) },
		"Step":     func() { m.Step() },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times per call", name, n)
		}
	}
}

func toFloat64(v []float) []float64 {
	out := make([]float64, len(v))
	for i := range v {
		out[i] = float64(v[i])
	}
	return out
}

// replay runs the trace's steps and compares every number with PyTorch's.
func replay(t *testing.T, m *Model, tr trace) {
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
		m.Forward(&x, &y)
		check("output", s, flatOut(&y), flat(st.Output))
		loss := m.Backward(&x, arg(&tgt))
		check("loss", s, []float{loss}, []float64{st.Loss})
		for _, p := range m.Params() {
			check("grad", s, p.Grad, flat(st.Grads[p.Name]))
		}
{{if eq .Float "float64"}}		checkFiniteDifferences(t, m, &x, &tgt)
{{end}}		m.Step()
		for _, p := range m.Params() {
			check("param", s, p.Value, flat(st.ParamsAfter[p.Name]))
		}
	}
	t.Logf("{{.Package}}: %d steps, max error: output %.2g, loss %.2g, grad %.2g, param %.2g",
		len(tr.Steps), worst["output"], worst["loss"], worst["grad"], worst["param"])
}

{{if eq .Float "float64"}}
// checkFiniteDifferences compares every gradient element with the central
// difference (L(p+h) - L(p-h)) / 2h, in float64 only.
func checkFiniteDifferences(t *testing.T, m *Model, x *sample, target *target) {
	t.Helper()
	m.Backward(x, arg(target))
	var analytic [][]float
	for _, p := range m.Params() {
		analytic = append(analytic, append([]float(nil), p.Grad...))
	}
	const h = 1e-6
	worst := 0.0
	for k, p := range m.Params() {
		for i := range p.Value {
			old := p.Value[i]
			p.Value[i] = old + h
			up := float64(m.Backward(x, arg(target)))
			p.Value[i] = old - h
			down := float64(m.Backward(x, arg(target)))
			p.Value[i] = old
			numeric := (up - down) / (2 * h)
			err := math.Abs(numeric-float64(analytic[k][i])) / max(1e-3, math.Abs(numeric))
			worst = max(worst, err)
			if err > 1e-5 {
				t.Errorf("%s[%d]: finite difference %.10g, gradient %.10g", p.Name, i, numeric, analytic[k][i])
			}
		}
	}
	m.Backward(x, arg(target)) // leave the gradients as they were
	t.Logf("{{.Package}}: finite differences max error %.2g", worst)
}
{{end}}
{{end}}`))

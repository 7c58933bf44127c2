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
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	traces, err := filepath.Glob("testdata/reference/*.json")
	if err != nil || len(traces) == 0 {
		t.Fatalf("no traces: %v", err)
	}
	mod := t.TempDir()
	goMod := "module parity\n\ngo 1.26\n\nrequire github.com/nngen/nngen v0.0.0\n\nreplace github.com/nngen/nngen => " + root + "\n"
	write(t, filepath.Join(mod, "go.mod"), []byte(goMod))
	if sum, err := os.ReadFile(filepath.Join(root, "go.sum")); err == nil {
		write(t, filepath.Join(mod, "go.sum"), sum)
	}
	type variant struct {
		dtype  string
		noFuse bool
	}
	for _, path := range traces {
		tr := readTrace(t, path)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []variant{{"float32", false}, {"float64", false}, {"float64", true}} {
			if v.noFuse && tr.Name != "seed" {
				continue
			}
			pkg := tr.Name + "_" + v.dtype
			if v.noFuse {
				pkg += "_nofuse"
			}
			pkg = strings.ReplaceAll(pkg, "_", "")
			dir := filepath.Join(mod, pkg)
			src := tr.modelSource(v.dtype)
			files, err := nngen.Build(tr.Name+".nn", []byte(src), nngen.Options{Package: pkg, NoFuse: v.noFuse})
			if err != nil {
				t.Fatalf("%s: %v\nsource:\n%s", pkg, err, src)
			}
			for _, f := range files {
				write(t, filepath.Join(dir, f.Name), f.Data)
			}
			write(t, filepath.Join(dir, "testdata", "trace.json"), data)
			var harness bytes.Buffer
			if err := harnessTemplate.Execute(&harness, map[string]any{
				"Package": pkg, "Float": v.dtype, "Batched": tr.Batch != nil,
				"Tolerance": map[string]string{"float32": "1e-5", "float64": "1e-10"}[v.dtype],
			}); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(dir, "parity_test.go"), harness.Bytes())
		}
	}
	goCmd := func(args ...string) ([]byte, error) {
		cmd := exec.Command("go", args...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		return cmd.CombinedOutput()
	}
	if out, err := goCmd("vet", "./..."); err != nil {
		t.Fatalf("go vet on the generated packages: %v\n%s", err, out)
	}
	out, err := goCmd("test", "-count=1", "-v", "./...")
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

func TestParity(t *testing.T) {
	data, err := os.ReadFile("testdata/trace.json")
	if err != nil {
		t.Fatal(err)
	}
	var tr trace
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	m := New(1)
	if len(m.Params()) != len(tr.Params) {
		t.Fatalf("model has %d parameters, the trace %d", len(m.Params()), len(tr.Params))
	}
	for name, v := range tr.Params {
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
		var target, y result
		load(&x, flat(st.X))
		loadOut(&target, flat(st.Y))
		m.Forward(&x, &y)
		check("output", s, flatOut(&y), flat(st.Output))
		loss := m.Backward(&x, &target)
		check("loss", s, []float{loss}, []float64{st.Loss})
		for _, p := range m.Params() {
			check("grad", s, p.Grad, flat(st.Grads[p.Name]))
		}
{{if eq .Float "float64"}}		checkFiniteDifferences(t, m, &x, &target)
{{end}}		m.Step()
		for _, p := range m.Params() {
			check("param", s, p.Value, flat(st.ParamsAfter[p.Name]))
		}
	}
	t.Logf("{{.Package}}: %d steps, max error: output %.2g, loss %.2g, grad %.2g, param %.2g",
		len(tr.Steps), worst["output"], worst["loss"], worst["grad"], worst["param"])

	var x sample
	var target, y result
	for name, f := range map[string]func(){
		"Forward":  func() { m.Forward(&x, &y) },
		"Backward": func() { m.Backward(&x, &target) },
		"Step":     func() { m.Step() },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times per call", name, n)
		}
	}
}

{{if eq .Float "float64"}}
// checkFiniteDifferences compares every gradient element with the central
// difference (L(p+h) - L(p-h)) / 2h, in float64 only.
func checkFiniteDifferences(t *testing.T, m *Model, x *sample, target *result) {
	t.Helper()
	m.Backward(x, target)
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
			up := float64(m.Backward(x, target))
			p.Value[i] = old - h
			down := float64(m.Backward(x, target))
			p.Value[i] = old
			numeric := (up - down) / (2 * h)
			err := math.Abs(numeric-float64(analytic[k][i])) / max(1e-3, math.Abs(numeric))
			worst = max(worst, err)
			if err > 1e-5 {
				t.Errorf("%s[%d]: finite difference %.10g, gradient %.10g", p.Name, i, numeric, analytic[k][i])
			}
		}
	}
	m.Backward(x, target) // leave the gradients as they were
	t.Logf("{{.Package}}: finite differences max error %.2g", worst)
}
{{end}}`))

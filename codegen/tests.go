package codegen

import (
	"bytes"
	"fmt"
	"go/format"
	"slices"
	"strings"
	"text/template"

	"github.com/nngen/nngen/ir"
)

// genTests writes the optional test file: a finite-difference check of the
// gradients, a zero-allocation check and benchmarks, so that users' own CI
// keeps checking their model. It is a fixed harness with a few blanks, so a
// template says it more plainly than jennifer calls would; go/format
// formats it as jennifer does the package.
func (gen *generator) genTests(cfg Config) (File, error) {
	g := gen.g
	data := map[string]any{
		"Header":     fmt.Sprintf("%s %s from %s. DO NOT EDIT.", HeaderPrefix, Version, cfg.Source),
		"Pretrained": cfg.Pretrained,
		"Package":    cfg.Package,
		"Float":      goTypeName(g.DType),
		"Batched":    !g.Unbatched,
		"Train":      g.Loss != nil,
		"Step":       g.Optimizer != nil,
		"Classes":    0,
		"Classic":    classicAPI(g),
	}
	if classicAPI(g) {
		x, y := gen.dataArgs()[0].v, g.Outputs[0]
		data["XType"] = typeString(gen.apiType(x))
		data["YType"] = typeString(gen.apiType(y))
		if g.Loss != nil {
			t := gen.targetArgs()[0].v
			data["TargetType"] = typeString(gen.apiType(t))
			if t.DType == ir.Int {
				data["Classes"] = g.Loss.Args[0].Shape[1]
			}
		}
	} else {
		gen.generalTests(data)
	}
	var buf bytes.Buffer
	if err := testsTemplate.Execute(&buf, data); err != nil {
		return File{}, fmt.Errorf("codegen: tests: %w", err)
	}
	src, err := format.Source(buf.Bytes())
	if err != nil {
		return File{}, fmt.Errorf("codegen: tests: %w", err)
	}
	return File{Name: cfg.Output + "_test.go", Data: src}, nil
}

// generalTests fills in the test template's blanks for the general API
// (see classicAPI): a struct nngenArgs with a field per argument, the code
// that samples the inputs and targets into it, and the methods' argument
// lists.
func (gen *generator) generalTests(data map[string]any) {
	in, targets, outs := gen.dataArgs(), gen.targetArgs(), gen.outputArgs()
	var fields, fill strings.Builder
	call := func(args []argument) string {
		var s []string
		for _, a := range args {
			if strings.HasPrefix(typeString(gen.argType(a)), "*") {
				s = append(s, "&args."+a.name)
			} else {
				s = append(s, "args."+a.name)
			}
		}
		return strings.Join(s, ", ")
	}
	for _, a := range slices.Concat(in, targets, outs) {
		fmt.Fprintf(&fields, "\t%s %s // %s\n", a.name, strings.TrimPrefix(typeString(gen.argType(a)), "*"), a.what)
	}
	float := goTypeName(gen.g.DType)
	for _, a := range slices.Concat(in, targets) {
		var value string
		switch {
		case a.v.DType == ir.Int && gen.classes(a.v) > 0:
			value = fmt.Sprintf("int(r.Uint64() %% %d)", gen.classes(a.v))
		case a.v.DType != gen.g.DType:
			fmt.Fprintf(&fill, "\t// %s stays zero\n", a.name)
			continue
		case a.v.Phase == ir.Forward:
			value = float + "(r.Uniform(-1, 1))"
		default:
			value = float + "(r.Uniform(0, 1))"
		}
		fill.WriteString(sampleLoops("args."+a.name, len(gen.apiDims(a.v)), !gen.g.Unbatched, value))
	}
	what := "inputs"
	if len(targets) > 0 {
		what = "inputs and targets"
	}
	data["What"] = what
	data["Fields"] = fields.String()
	data["Fill"] = fill.String()
	data["ForwardArgs"] = call(slices.Concat(in, outs))
	data["BackwardArgs"] = call(slices.Concat(in, targets))
}

// sampleLoops sets every element of the array dst of the given rank to
// value, in nested loops: n over the batch, then i, j, k...
func sampleLoops(dst string, rank int, batched bool, value string) string {
	names := axisNames("", rank)
	if batched && rank > 0 {
		names = append([]string{"n"}, axisNames("", rank-1)...)
	}
	var b strings.Builder
	at := dst
	for _, name := range names {
		fmt.Fprintf(&b, "for %s := range %s {\n", name, at)
		at += "[" + name + "]"
	}
	fmt.Fprintf(&b, "%s = %s\n", at, value)
	b.WriteString(strings.Repeat("}\n", rank))
	return b.String()
}

// classes is the number of classes of a class-index target: the last axis
// of the logits its cross-entropy reads; 0 if no cross-entropy reads it.
func (gen *generator) classes(t *ir.Value) int {
	for _, v := range gen.g.Values {
		if v.Op == ir.OpCrossEntropy && v.Args[1] == t {
			z := v.Args[0].Shape
			return z[len(z)-1]
		}
	}
	return 0
}

func goTypeName(d ir.DType) string { return typeString(goType(d)) }

// typeString renders a type expression; the argument types start with * for
// arrays, which the template strips where it needs the array itself.
func typeString(c interface{ GoString() string }) string { return c.GoString() }

var testsTemplate = template.Must(template.New("tests").Funcs(template.FuncMap{
	"deref": func(s string) string {
		if len(s) > 0 && s[0] == '*' {
			return s[1:]
		}
		return s
	},
	"ptr": func(s string) bool { return len(s) > 0 && s[0] == '*' },
}).Parse(`{{.Header}}

package {{.Package}}

import (
{{- if .Train}}
	"math"
{{- end}}
	"testing"

	"github.com/nngen/nngen/runtime/nnrt"
)

{{- if not .Classic}}

// nngenArgs holds an array for each argument of the methods.
type nngenArgs struct {
{{.Fields -}}
}

// nngenSample returns reproducible {{.What}}; the outputs are zero.
func nngenSample() (args nngenArgs) {
	r := nnrt.NewRNG(7)
{{.Fill -}}
	return
}
{{- else}}

// nngenSample returns a reproducible input{{if .Train}} and target{{end}}.
func nngenSample() (x {{deref .XType}}{{if .Train}}, target {{deref .TargetType}}{{end}}) {
	r := nnrt.NewRNG(7)
{{- if .Batched}}
	for n := range x {
		for i := range x[n] {
			x[n][i] = {{.Float}}(r.Uniform(-1, 1))
		}
	}
{{- else}}
	for i := range x {
		x[i] = {{.Float}}(r.Uniform(-1, 1))
	}
{{- end}}
{{- if .Train}}
{{- if .Classes}}
{{- if .Batched}}
	for n := range target {
		target[n] = int(r.Uint64() % {{.Classes}})
	}
{{- else}}
	target = int(r.Uint64() % {{.Classes}})
{{- end}}
{{- else if .Batched}}
	for n := range target {
		for i := range target[n] {
			target[n][i] = {{.Float}}(r.Uniform(0, 1))
		}
	}
{{- else}}
	for i := range target {
		target[i] = {{.Float}}(r.Uniform(0, 1))
	}
{{- end}}
{{- end}}
	return
}
{{- end}}
{{if .Train}}
// TestGradients compares Backward's gradients with central finite
// differences of the loss along random directions d, each moving 16
// random parameter elements by ±1: (L(p+hd) - L(p-hd)) / 2h must equal
// Σ grad·d. A sparse direction keeps the step from crossing many ReLU
// kinks at once; a float32 model tries a few step sizes, since rounding
// wants h large and kinks want it small, and passes if one agrees.
func TestGradients(t *testing.T) {
	m := {{if .Pretrained}}NewPretrained(){{else}}New(1){{end}}
	{{if .Classic}}x, target{{else}}args{{end}} := nngenSample()
	// The loss itself is only accurate to some rounding (eps relative,
	// times a margin for the sums inside it), which the difference divides
	// by 2h: that is the absolute slack; tolerance is the relative one.
{{- if eq .Float "float64"}}
	steps, tolerance, eps := []float64{1e-6}, 1e-6, 0x1p-52
{{- else}}
	steps, tolerance, eps := []float64{1e-2, 1e-3, 1e-4}, 1e-2, 0x1p-23
{{- end}}
	r := nnrt.NewRNG(11)
	for trial := range 4 {
		m.Backward({{template "backward" .}})
		params := m.Params()
		type element struct{ param, index int }
		var picked []element
		var signs []float64
		analytic := 0.0
		for range 16 {
			k := int(r.Uint64() % uint64(len(params)))
			e := element{k, int(r.Uint64() % uint64(len(params[k].Value)))}
			sign := 1.0
			if r.Uint64()%2 == 0 {
				sign = -1
			}
			picked, signs = append(picked, e), append(signs, sign)
			analytic += sign * float64(params[k].Grad[e.index])
		}
		originals := make([]{{.Float}}, len(picked))
		for i, e := range picked {
			originals[i] = params[e.param].Value[e.index]
		}
		loss := func(step float64) float64 {
			for i, e := range picked {
				params[e.param].Value[e.index] = originals[i]
			}
			for i, e := range picked { // an element picked twice moves twice, as in Σ grad·d
				params[e.param].Value[e.index] += {{.Float}}(step * signs[i])
			}
			return float64(m.Backward({{template "backward" .}}))
		}
		best := math.Inf(1)
		ok := false
		for _, h := range steps {
			up, down := loss(h), loss(-h)
			numeric := (up - down) / (2 * h)
			slack := 64 * eps * max(math.Abs(up), math.Abs(down)) / (2 * h)
			diff := math.Abs(numeric - analytic)
			if diff <= tolerance*max(math.Abs(numeric), math.Abs(analytic))+slack {
				ok = true
				break
			}
			if diff < math.Abs(best-analytic) {
				best = numeric
			}
		}
		loss(0)
		if !ok {
			t.Errorf("direction %d: finite difference %.8g, gradient %.8g", trial, best, analytic)
		}
	}
}
{{end}}
// TestNoAllocations checks that the generated methods never allocate.
func TestNoAllocations(t *testing.T) {
	m := New(1)
{{- if .Classic}}
	x{{if .Train}}, target{{end}} := nngenSample()
	var y {{deref .YType}}
{{- else}}
	args := nngenSample()
{{- end}}
	checks := map[string]func(){
		"Forward":  func() { m.Forward({{template "forward" .}}) },
{{- if .Train}}
		"Backward": func() { m.Backward({{template "backward" .}}) },
{{- end}}
{{- if .Step}}
		"Step":     func() { m.Step() },
{{- end}}
	}
	for name, f := range checks {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times per call", name, n)
		}
	}
}

func BenchmarkForward(b *testing.B) {
	m := New(1)
{{- if .Classic}}
	x{{if .Train}}, _{{end}} := nngenSample()
	var y {{deref .YType}}
{{- else}}
	args := nngenSample()
{{- end}}
	b.ReportAllocs()
	for b.Loop() {
		m.Forward({{template "forward" .}})
	}
}
{{if .Step}}
func BenchmarkTrainStep(b *testing.B) {
	m := New(1)
	m.LR = 0 // the same work per step, without drifting the parameters
	{{if .Classic}}x, target{{else}}args{{end}} := nngenSample()
	b.ReportAllocs()
	for b.Loop() {
		m.TrainStep({{template "backward" .}})
	}
}
{{end}}
{{- define "forward"}}{{if .Classic}}&x, &y{{else}}{{.ForwardArgs}}{{end}}{{end}}
{{- define "backward"}}{{if .Classic}}&x, {{if ptr .TargetType}}&{{end}}target{{else}}{{.BackwardArgs}}{{end}}{{end}}`))

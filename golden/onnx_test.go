package golden

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/template"

	"google.golang.org/protobuf/proto"

	"github.com/nngen/nngen"
	"github.com/nngen/nngen/onnx"
	"github.com/nngen/nngen/onnx/onnxpb"
)

// nodeErrors are the node tests in testdata/onnx/node that nngen refuses,
// each with (part of) the error it must give.
var nodeErrors = map[string]string{
	"test_matmul_3d": `node 0 (output "c"): B must be a constant matrix`,
}

// TestONNXNodes runs ONNX's backend node tests (from Debian's
// libonnx-testdata, copied into testdata/onnx/node) through generated
// code: each model is compiled by nngen build, inference only, into a
// scratch module, where a test feeds NewPretrained's Forward the test's
// input_0.pb and compares with its output_0.pb, within 1e-5 relative to
// the largest output (the tests are float32).
//
// A node test's inputs are all graph inputs, while nngen's network has one
// input and keeps weights as parameters. So the first input stays the
// input, and every other one becomes an initializer of the same name, with
// the test's input_K.pb as its value: the form an exporter gives a
// weight. Gemm's B and C, MatMul's B and Add's second operand are then the
// parameters that PyTorch's exports have there.
func TestONNXNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles generated packages; skipped with -short")
	}
	t.Parallel()
	dirs, err := filepath.Glob("testdata/onnx/node/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no node tests: %v", err)
	}
	// A network without parameters (a node test of one activation) goes
	// into a module of its own: codegen's New declares its seeded
	// generator even when it has nothing to initialise, which Go rejects;
	// until codegen stops doing that, those packages are reported, not run.
	mod, modNoParams := scratchModule(t), scratchModule(t)
	compiled := map[string][]string{} // the packages of each module
	for _, dir := range dirs {
		name := filepath.Base(dir)
		model, x, want := readNodeTest(t, dir)
		pkg := "node" + strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "test_"), "_", ""))
		files, err := nngen.Build(name+".onnx", model, nngen.Options{Package: pkg, Infer: true})
		if wantErr, refused := nodeErrors[name]; refused {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("%s: got error %v, want one containing %q", name, err, wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		g, err := onnx.Compile(name+".onnx", model, onnx.Options{})
		if err != nil {
			t.Fatal(err)
		}
		into := mod
		if len(g.Params()) == 0 {
			into = modNoParams
		}
		for _, f := range files {
			write(t, filepath.Join(into, pkg, f.Name), f.Data)
		}
		data, err := json.Marshal(map[string][]float64{"x": x, "y": want})
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(into, pkg, "testdata", "case.json"), data)
		var harness bytes.Buffer
		if err := nodeHarness.Execute(&harness, map[string]any{"Package": pkg,
			"X": shapeType(g.Inputs()[0].Shape, g.Unbatched, "float32"), "Y": shapeType(g.Outputs[0].Shape, g.Unbatched, "float32")}); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(into, pkg, "node_test.go"), harness.Bytes())
		compiled[into] = append(compiled[into], pkg)
	}
	if t.Failed() {
		return
	}
	if out, err := goIn(modNoParams, "vet", "./..."); err != nil {
		if !strings.Contains(string(out), "declared and not used: r") {
			t.Fatalf("go vet on the generated packages: %v\n%s", err, out)
		}
		t.Logf("not run: %d node tests whose network has no parameters, for which codegen's New declares an unused generator:\n%s", len(compiled[modNoParams]), out)
		delete(compiled, modNoParams)
	}
	var runners []*runner
	for m, pkgs := range compiled {
		r := newRunner(t, m, "nngenrunner", pkgs, nil)
		r.need(t, "TestNode")
		runners = append(runners, r)
	}
	builds := []func() error{vetter(mod, nil)}
	for _, r := range runners {
		builds = append(builds, r.build)
	}
	concurrently(t, builds...)
	for _, r := range runners {
		r.report(t, r.run(t, slices.Sorted(maps.Keys(r.tests)), nil, nil), "max error")
	}
}

// readNodeTest reads a node test's model, with every input but the first
// made an initializer, and its input and expected output.
func readNodeTest(t *testing.T, dir string) (model []byte, x, want []float64) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	g := m.GetGraph()
	initialized := map[string]bool{}
	for _, init := range g.GetInitializer() {
		initialized[init.GetName()] = true
	}
	var inputs []string
	for _, in := range g.GetInput() {
		if !initialized[in.GetName()] {
			inputs = append(inputs, in.GetName())
		}
	}
	for k, name := range inputs {
		tensor := readTensor(t, filepath.Join(dir, "test_data_set_0", fmt.Sprintf("input_%d.pb", k)))
		if k == 0 {
			x = floats(t, tensor)
			if d := tensor.GetDims(); len(d) == 2 && readTransposed(g, name) {
				x = transposed(x, int(d[0]), int(d[1])) // nngen takes Gemm's A with transA=1 as Aᵀ
			}
			continue
		}
		tensor.Name = proto.String(name)
		g.Initializer = append(g.Initializer, tensor)
	}
	model, err = proto.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	return model, x, floats(t, readTensor(t, filepath.Join(dir, "test_data_set_0", "output_0.pb")))
}

// readTransposed reports whether the input is read as Gemm's A with
// transA=1, which nngen's generated code takes transposed.
func readTransposed(g *onnxpb.GraphProto, input string) bool {
	for _, n := range g.GetNode() {
		if n.GetOpType() == "Gemm" && len(n.GetInput()) > 0 && n.GetInput()[0] == input {
			for _, a := range n.GetAttribute() {
				if a.GetName() == "transA" && a.GetI() != 0 {
					return true
				}
			}
		}
	}
	return false
}

func transposed(data []float64, rows, cols int) []float64 {
	out := make([]float64, len(data))
	for i := range rows {
		for j := range cols {
			out[j*rows+i] = data[i*cols+j]
		}
	}
	return out
}

func readTensor(t *testing.T, path string) *onnxpb.TensorProto {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tensor onnxpb.TensorProto
	if err := proto.Unmarshal(data, &tensor); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &tensor
}

// floats reads a float32 tensor's elements.
func floats(t *testing.T, tensor *onnxpb.TensorProto) []float64 {
	t.Helper()
	if tensor.GetDataType() != int32(onnxpb.TensorProto_FLOAT) {
		t.Fatalf("tensor %s is %v, not FLOAT", tensor.GetName(), onnxpb.TensorProto_DataType(tensor.GetDataType()))
	}
	var out []float64
	if raw := tensor.GetRawData(); len(raw) > 0 {
		for i := 0; i+4 <= len(raw); i += 4 {
			out = append(out, float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))))
		}
		return out
	}
	for _, f := range tensor.GetFloatData() {
		out = append(out, float64(f))
	}
	return out
}

var nodeHarness = template.Must(template.New("node").Parse(`package {{.Package}}

import (
	"encoding/json"
	"math"
	"os"
	"testing"
	"unsafe"
)

func TestNode(t *testing.T) {
	data, err := os.ReadFile("testdata/case.json")
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ X, Y []float64 }
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	m := NewPretrained()
	var x {{.X}}
	var y {{.Y}}
	xs := unsafe.Slice((*float32)(unsafe.Pointer(&x)), unsafe.Sizeof(x)/4)
	got := unsafe.Slice((*float32)(unsafe.Pointer(&y)), unsafe.Sizeof(y)/4)
	if len(c.X) != len(xs) || len(c.Y) != len(got) {
		t.Fatalf("the test has %d inputs and %d outputs, the model %d and %d", len(c.X), len(c.Y), len(xs), len(got))
	}
	for i := range xs {
		xs[i] = float32(c.X[i])
	}
	m.Forward(&x, &y)
	var diff, scale float64
	for i := range got {
		diff = max(diff, math.Abs(float64(got[i])-c.Y[i]))
		scale = max(scale, math.Abs(c.Y[i]))
	}
	if scale > 0 {
		diff /= scale
	}
	t.Logf("{{.Package}}: max error %.2g", diff)
	if !(diff <= 1e-5) {
		t.Errorf("relative error %.3g > 1e-5\ngot  %v\nwant %v", diff, got, c.Y)
	}
}
`))

// TestONNXTraces compiles PyTorch's exports of the reference networks
// (testdata/onnx/models, made by make_onnx.py there) with the loss and
// optimizer of their traces, and replays each trace as TestParity does:
// starting parameters, then per step the output, loss, gradients and
// parameters after the update, within 1e-5 in float32 (1e-10 for the
// float64 exports, which also check the gradients by finite differences).
// Each float32 model is also built inference only. Every package must
// also start, through NewPretrained, from the trace's parameters exactly:
// the weights came through the ONNX file.
func TestONNXTraces(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles generated packages; skipped with -short")
	}
	t.Parallel()
	models, err := filepath.Glob("testdata/onnx/models/*.onnx")
	if err != nil || len(models) == 0 {
		t.Fatalf("no models: %v", err)
	}
	mod := scratchModule(t)
	var pkgs []string
	cost := map[string]int{}
	for _, path := range models {
		file := filepath.Base(path)
		name := strings.TrimSuffix(file, ".onnx")
		float64Model := strings.HasSuffix(name, ".f64")
		base := strings.TrimSuffix(name, ".f64")
		if strings.HasPrefix(base, "act_") && !strings.HasSuffix(base, "_node") && !float64Model && inGraphs(base) {
			// The same network's exports in testdata/graphs/onnx run in
			// TestGraphs; the one-node forms (opset 18's Mish, Softsign)
			// and the float64 HardSigmoid stay here.
			continue
		}
		tracePath := filepath.Join("testdata", "onnx", "models", base+".json")
		if _, err := os.Stat(tracePath); err != nil {
			tracePath = filepath.Join("testdata", "reference", base+".json")
		}
		tr := readTrace(t, tracePath)
		traceData, err := os.ReadFile(tracePath)
		if err != nil {
			t.Fatal(err)
		}
		model, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		loss, optimizer := trainOptions(tr)
		type variant struct {
			float string
			infer bool
		}
		variants := []variant{{float: "float32"}, {float: "float32", infer: true}}
		if float64Model {
			variants = []variant{{float: "float64"}}
		}
		for _, v := range variants {
			pkg := "onnx" + strings.NewReplacer("_", "", ".", "").Replace(name)
			if v.infer {
				pkg += "infer"
			}
			opts := nngen.Options{Package: pkg, Infer: v.infer, Tests: true, Loss: loss, Optimizer: optimizer}
			files, err := nngen.Build(file, model, opts)
			if err != nil {
				t.Errorf("%s: -loss %q -optimizer %q: %v", file, loss, optimizer, err)
				continue
			}
			dir := filepath.Join(mod, pkg)
			for _, f := range files {
				write(t, filepath.Join(dir, f.Name), f.Data)
			}
			write(t, filepath.Join(dir, "testdata", "trace.json"), traceData)
			g, _, err := nngen.Load(file, model, opts)
			if err != nil {
				t.Fatal(err)
			}
			params := map[string]any{
				"Package": pkg, "Float": v.float, "Infer": v.infer, "Batched": tr.Batch != nil, "Classes": tr.Loss.Type == "cross_entropy",
				"Tolerance":         map[string]string{"float32": "1e-5", "float64": "1e-10"}[v.float],
				"FiniteDifferences": v.float == "float64",
				"Sample":            shapeType(g.Inputs()[0].Shape, g.Unbatched, "float"),
				"Result":            shapeType(g.Outputs[0].Shape, g.Unbatched, "float"),
			}
			var harness, pretrained bytes.Buffer
			if err := harnessTemplate.Execute(&harness, params); err != nil {
				t.Fatal(err)
			}
			if err := pretrainedHarness.Execute(&pretrained, params); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(dir, "parity_test.go"), harness.Bytes())
			write(t, filepath.Join(dir, "pretrained_test.go"), pretrained.Bytes())
			pkgs = append(pkgs, pkg)
			cost[pkg] = tr.cost(v.float == "float64")
		}
	}
	if t.Failed() {
		return
	}
	r := newRunner(t, mod, "nngenrunner", pkgs, nil)
	r.need(t, "TestPretrained", "TestParity")
	concurrently(t, vetter(mod, nil), r.build)
	r.report(t, r.run(t, pkgs, cost, nil), "max error", "finite differences")
}

// trainOptions writes a trace's loss and optimizer as nngen build's -loss
// and -optimizer take them.
func trainOptions(tr trace) (loss, optimizer string) {
	loss = tr.Loss.Type
	if tr.Loss.Reduction != "" {
		loss += "(reduction=" + tr.Loss.Reduction + ")"
	}
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(tr.Optimizer)) {
		switch v := tr.Optimizer[k].(type) {
		case string: // the type
		case []any:
			kv = append(kv, fmt.Sprintf("%s=(%v, %v)", k, v[0], v[1]))
		default:
			kv = append(kv, fmt.Sprintf("%s=%v", k, v))
		}
	}
	return loss, fmt.Sprintf("%s(%s)", tr.Optimizer["type"], strings.Join(kv, ", "))
}

// pretrainedHarness checks that NewPretrained starts from the trace's
// parameters, exactly in the model's precision: the ONNX file holds them
// in float32 (float64 for the float64 exports), and they are
// float32-representable. It uses the parity harness's helpers.
var pretrainedHarness = template.Must(template.New("pretrained").Parse(`package {{.Package}}

import "testing"

func TestPretrained(t *testing.T) {
	tr := readTrace(t)
	m := NewPretrained()
	if len(m.Params()) != len(tr.Params) {
		t.Fatalf("model has %d parameters, the trace %d", len(m.Params()), len(tr.Params))
	}
	for _, p := range m.Params() {
		want, ok := tr.Params[p.Name]
		if !ok {
			t.Fatalf("the trace has no parameter %s", p.Name)
		}
		w := flat(want)
		if len(w) != len(p.Value) {
			t.Fatalf("%s: %d values, want %d", p.Name, len(p.Value), len(w))
		}
		for i := range w {
			if p.Value[i] != float(w[i]) {
				t.Fatalf("%s[%d] = %v, want %v", p.Name, i, p.Value[i], w[i])
			}
		}
	}
}
`))

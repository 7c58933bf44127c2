package golden

import (
	"bytes"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"

	"github.com/nngen/nngen"
	"github.com/nngen/nngen/codegen"
	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/passes"
)

var graphCases = flag.String("graphcases", "", "TestGraphs: only the packages whose name matches this `REGEXP`")

// graphTrace is a PyTorch trace of a general graph, as written by
// testdata/graphs/make_graphs.py (see the README there).
type graphTrace struct {
	Name    string                     `json:"name"`
	Source  string                     `json:"source"`
	Batch   *int                       `json:"batch"`
	Inputs  []string                   `json:"inputs"`
	Outputs []string                   `json:"outputs"`
	Targets []string                   `json:"targets"`
	Params  map[string]json.RawMessage `json:"params"`
	Buffers map[string]json.RawMessage `json:"buffers"`
	Steps   []json.RawMessage          `json:"steps"`
}

// bufferFields lists a trace's buffers with their fields in the generated
// Model, for the harness, which sets them from the trace (none for a trace
// that does not read, which readGraphTrace has reported).
func bufferFields(data []byte) []map[string]string {
	var tr graphTrace
	if json.Unmarshal(data, &tr) != nil {
		return nil
	}
	var out []map[string]string
	for _, name := range slices.Sorted(maps.Keys(tr.Buffers)) {
		out = append(out, map[string]string{"Name": name, "Field": codegen.GoName(name)})
	}
	return out
}

// partial reports whether a step of the trace has fewer samples than the
// batch, which the CPU package runs through its Batch methods (the GPU
// package takes full batches only).
func (tr graphTrace) partial() bool {
	for _, raw := range tr.Steps {
		var st struct {
			Inputs map[string][]json.RawMessage `json:"inputs"`
		}
		if json.Unmarshal(raw, &st) == nil && tr.Batch != nil && len(st.Inputs[tr.Inputs[0]]) < *tr.Batch {
			return true
		}
	}
	return false
}

// masked reports whether some step of the trace ran PyTorch's dropout
// masks ("masks"), which only a package with dropout replays.
func (tr graphTrace) masked() bool {
	for _, raw := range tr.Steps {
		var st struct {
			Masks map[string]json.RawMessage `json:"masks"`
		}
		if json.Unmarshal(raw, &st) == nil && len(st.Masks) > 0 {
			return true
		}
	}
	return false
}

// onnxExports lists a trace's ONNX exports (testdata/graphs/onnx, made by
// export_onnx.py from the same PyTorch module at several opsets).
func onnxExports(t *testing.T, name string) []string {
	paths, err := filepath.Glob(filepath.Join("testdata", "graphs", "onnx", name+".opset*.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

// onnxVariant picks the exports a variant builds, so that each distinct
// export is compiled once or twice rather than at every opset: the
// dynamic batch's (its shape arithmetic) trains and the static opset 14
// builds for inference (for inferCases); opsets 13 and 17 write the same nodes as 14 but
// where distinctExports says, and those train too.
func onnxVariant(name, tag string, infer bool) bool {
	switch {
	case tag == "14dyn":
		return !infer
	case tag == "14":
		return infer && inferCases[name]
	case strings.HasSuffix(tag, "train"): // exported in training mode: Dropout and BatchNormalization with training_mode true
		return !infer
	}
	return !infer && distinctExports[name+".opset"+tag]
}

// fusionSubject reports whether a case's nofuse build checks fusion: the
// cases of losses, dropout, padding, attention and recurrent layers fuse
// only what the others do (a linear with an activation), which their
// nofuse builds would check again, at the cost of a package each.
func fusionSubject(name string) bool {
	for _, prefix := range []string{"loss_", "mha_", "encoder_", "gru_", "lstm_"} {
		if strings.HasPrefix(name, prefix) {
			return false
		}
	}
	return name != "dropout_mlp" && name != "embedding_padding"
}

// trainsFromExport reports whether a trace's dynamic-batch ONNX export
// trains in TestGraphs (a float32 build of the same PyTorch module): its
// .nn source is then built in float64 only, with its finite differences,
// since the float32 build of the .nn source would check the same float32
// code again at the cost of a package.
func trainsFromExport(t *testing.T, tr graphTrace) bool {
	_, _, train := tr.training()
	if !train {
		return false
	}
	for _, path := range onnxExports(t, tr.Name) {
		if strings.HasSuffix(path, ".opset14.dynamic.onnx") {
			return true
		}
	}
	return false
}

// inferCases are the cases also built for inference only, from .nn and
// from the static opset-14 export: a plain MLP, two outputs, a product of
// computed tensors, the shape arithmetic folded differently
// (movement_ops); and embedding_padding, whose exports build for inference
// only (ONNX's Gather has no padding_idx: export_onnx.py writes no
// dynamic export of it). Every other case's forward code is the training
// build's.
var inferCases = map[string]bool{"residual_mlp": true, "autoencoder_two_outputs": true, "attention_like": true, "movement_ops": true, "embedding_padding": true}

// distinctExports are the exports at opsets 13, 17 and 18 whose nodes
// differ from opset 14's (testdata/graphs/onnx/INDEX.md) and that train
// in TestGraphs; TestExportsAgree checks that the others give the IR of
// one that does.
var distinctExports = map[string]bool{
	"layernorm_ops.opset17":   true, // LayerNormalization
	"layernorm_layer.opset17": true, // LayerNormalization, one without weight and bias
	"act_hardswish.opset13":   true, // HardSigmoid and Mul
	"movement_ops.opset18":    true, // ReduceMax's axes an input (written from opset 17's export)
	// nn.EmbeddingBag's Loop: the same nodes as opset 14's, trained at
	// opset 17 too (the newest torch 1.13 writes) beside the dynamic batch.
	"embedding_bag_onnx.opset17": true,
	// GRU and LSTM nodes: the same as opset 14's, trained at opset 17 too.
	"gru_2layers.opset17":  true,
	"lstm_2layers.opset17": true,
	// The 2-layer transformer encoder: its LayerNormalization nodes and
	// the opset torch 1.13 writes last (issue #17's acceptance).
	"encoder_2layers.opset17": true,
}

// training returns the source's loss and optimizer as the ONNX front end's
// options take them ("mse(reduction=sum)", "sgd(lr=0.1)"), and false for a
// loss those cannot state (a sum of losses), whose exports are then
// checked for inference only.
func (tr graphTrace) training() (loss, optimizer string, ok bool) {
	for _, line := range strings.Split(tr.Source, "\n") {
		switch {
		case strings.HasPrefix(line, "loss "):
			call := strings.TrimSpace(strings.TrimPrefix(line, "loss "))
			open := strings.Index(call, "(")
			args, rest := topLevelArgs(call[open+1:])
			if open < 0 || rest != "" {
				return "", "", false // a sum of losses, which no option writes
			}
			var keep []string
			for _, a := range args {
				if strings.Contains(a, "=") {
					keep = append(keep, a) // weight=(1, 2, 0.5) whole
				}
			}
			loss = call[:open] + "(" + strings.Join(keep, ", ") + ")"
		case strings.HasPrefix(line, "optimizer "):
			optimizer = strings.TrimSpace(strings.TrimPrefix(line, "optimizer "))
		}
	}
	return loss, optimizer, loss != "" && optimizer != ""
}

// lossOutput is, for a trace of several outputs, the one its loss takes
// (the loss's first operand), which an ONNX export's build names with the
// loss output option; "" for one output.
func (tr graphTrace) lossOutput() string {
	if len(tr.Outputs) < 2 {
		return ""
	}
	for _, line := range strings.Split(tr.Source, "\n") {
		if call, ok := strings.CutPrefix(line, "loss "); ok {
			if _, args, ok := strings.Cut(call, "("); ok {
				first, _ := topLevelArgs(args)
				return first[0]
			}
		}
	}
	return ""
}

// topLevelArgs splits a call's arguments, s starting after its '(', at the
// commas outside parentheses; rest is what follows the call's ')'.
func topLevelArgs(s string) (args []string, rest string) {
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return append(args, strings.TrimSpace(s[start:i])), strings.TrimSpace(s[i+1:])
			}
			depth--
		case ',':
			if depth == 0 {
				args = append(args, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return args, "unclosed"
}

func readGraphTrace(t *testing.T, path string) (graphTrace, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tr graphTrace
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tr, data
}

// source is the trace's .nn source with the dtype line the trace leaves
// out, after its network line.
func (tr graphTrace) source(dtype string) string {
	network, rest, _ := strings.Cut(tr.Source, "\n")
	return network + "\ndtype " + dtype + "\n" + rest
}

// cost estimates the work of replaying the trace, as trace.cost does.
func (tr graphTrace) cost(finiteDifferences bool) int {
	params := 0
	for _, p := range tr.Params {
		params += bytes.Count(p, []byte(",")) + 1
	}
	work := params * len(tr.Steps)
	if tr.Batch != nil {
		work *= *tr.Batch
	}
	if finiteDifferences {
		work *= 1 + 2*params
	}
	return work
}

// TestGraphs compiles a package for every PyTorch trace in
// testdata/graphs, as TestParity does for testdata/reference: in float32
// and float64, float64 with fusion off, and float32 for inference only
// (inferCases), into a scratch module, with the package's own tests (finite differences,
// allocations) and a harness that replays the trace. The harness calls the
// methods through reflection, whatever tensors they take: Forward(inputs...,
// outputs...) and Backward(inputs..., targets...) in the trace's order.
// Per step the outputs, loss, every gradient and every parameter after the
// update must equal PyTorch's within 1e-5 (float32) or 1e-10 (float64)
// relative to the tensor's largest value; the float64 packages also check
// every gradient against central finite differences. (A gradient that
// float64 rounding alone makes nonzero in PyTorch, as that of a key's bias
// before a softmax, must be zero within the tolerance relative to the
// step's largest gradient instead.) PyTorch's ONNX exports of the same
// modules (testdata/graphs/onnx) are built and replayed too, in float32:
// see onnxVariant for which.
//
// A trace whose graph handBuilt can build is compiled a second time from
// that IR (packages named ...ir...), so that the generated API is checked
// against PyTorch without the .nn front end; the graphs of irOnly, which
// no trace has, run their own tests and irHarness.
//
// -graphcases REGEXP keeps only the packages it matches.
func TestGraphs(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles generated packages; skipped with -short")
	}
	t.Parallel()
	traces, err := filepath.Glob("testdata/graphs/*.json")
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
	if *graphCases != "" {
		match = regexp.MustCompile(*graphCases)
	}
	var pkgs []string
	cost := map[string]int{}
	matched := 0
	for _, path := range traces {
		tr, data := readGraphTrace(t, path)
		// A case that does not build is reported once per distinct error,
		// with the packages it stops, and leaves the others to run.
		var failures []string
		failed := map[string][]string{}
		for _, v := range variants {
			type build struct {
				pkg   string
				files func(pkg string) ([]codegen.File, error)
				infer bool // an inference build, whatever the variant
				// predictor: built by nngen.Build, so the package has a
				// Predictor, whose outputs must be Forward's.
				predictor bool
			}
			var builds []build
			if v.noFuse && (!fusionChanges(t, tr.Name+".nn", tr.source(v.dtype)) || !fusionSubject(tr.Name)) {
				continue
			}
			if (!v.infer || inferCases[tr.Name]) && !(v.dtype == "float32" && !v.infer && trainsFromExport(t, tr)) {
				builds = append(builds, build{
					pkg: strings.ReplaceAll(tr.Name+v.dtype+v.suffix, "_", ""),
					files: func(pkg string) ([]codegen.File, error) {
						return nngen.Build(tr.Name+".nn", []byte(tr.source(v.dtype)), nngen.Options{Package: pkg, NoFuse: v.noFuse, Infer: v.infer, Tests: true})
					},
					predictor: true,
				})
			}
			if graph := handBuilt[tr.Name]; graph != nil && !v.noFuse && !v.infer { // the API, in each float type
				builds = append(builds, build{
					pkg: strings.ReplaceAll(tr.Name+"ir"+v.dtype+v.suffix, "_", ""),
					files: func(pkg string) ([]codegen.File, error) {
						dtype := map[string]ir.DType{"float32": ir.F32, "float64": ir.F64}[v.dtype]
						g := ir.New(tr.Name, dtype, 1, true)
						if tr.Batch != nil {
							g = ir.New(tr.Name, dtype, *tr.Batch, false)
						}
						g = graph(&irBuilder{t: t, g: g})
						if err := passes.Run(g, passes.Options{Infer: v.infer, NoFuse: v.noFuse, Verify: true}); err != nil {
							return nil, err
						}
						return codegen.Generate(g, codegen.Config{Package: pkg, Source: tr.Name + " (built as IR)", Output: tr.Name + ".nn", Tests: true})
					},
				})
			}
			if v.dtype == "float32" && !v.noFuse {
				for _, path := range onnxExports(t, tr.Name) {
					tag := strings.ReplaceAll(strings.TrimPrefix(strings.TrimSuffix(filepath.Base(path), ".onnx"), tr.Name+".opset"), ".dynamic", "dyn")
					tag = strings.ReplaceAll(tag, ".training", "train")
					loss, optimizer, train := tr.training()
					if evalExport := tr.masked() && tag != "14train"; evalExport {
						// Exported in eval mode, without its dropout: its
						// outputs at the steps in evaluation mode only.
						if !v.infer || tag != "14dyn" {
							continue
						}
						train = false
					} else if !onnxVariant(tr.Name, tag, v.infer) {
						continue
					}
					builds = append(builds, build{
						pkg: strings.ReplaceAll(tr.Name+"onnx"+tag+v.suffix, "_", ""),
						files: func(pkg string) ([]codegen.File, error) {
							model, err := os.ReadFile(path)
							if err != nil {
								return nil, err
							}
							opts := nngen.Options{Package: pkg, Infer: v.infer || !train, Tests: true}
							if tr.Batch != nil {
								opts.Batch = *tr.Batch
							}
							if train && !v.infer {
								opts.Loss, opts.Optimizer, opts.LossOutput = loss, optimizer, tr.lossOutput()
							}
							return nngen.Build(filepath.Base(path), model, opts)
						},
						infer:     v.infer || !train,
						predictor: true,
					})
				}
			}
			for _, b := range builds {
				if match != nil && !match.MatchString(b.pkg) {
					continue
				}
				matched++
				files, err := b.files(b.pkg)
				if err != nil {
					msg := strings.ReplaceAll(err.Error(), v.dtype, "FLOAT")
					if failed[msg] == nil {
						failures = append(failures, msg)
					}
					failed[msg] = append(failed[msg], b.pkg)
					continue
				}
				dir := filepath.Join(mod, b.pkg)
				for _, f := range files {
					write(t, filepath.Join(dir, f.Name), f.Data)
				}
				write(t, filepath.Join(dir, "testdata", "trace.json"), data)
				var harness bytes.Buffer
				if err := graphHarness.Execute(&harness, map[string]any{
					"Package": b.pkg, "Float": v.dtype, "Infer": v.infer || b.infer, "Predictor": b.predictor, "Buffers": bufferFields(data), "Dropout": hasDropout(files),
					"Tolerance":         map[string]string{"float32": "1e-5", "float64": "1e-10"}[v.dtype],
					"FiniteDifferences": v.dtype == "float64" && !v.noFuse, // as in TestParity
				}); err != nil {
					t.Fatal(err)
				}
				write(t, filepath.Join(dir, "graph_test.go"), harness.Bytes())
				pkgs = append(pkgs, b.pkg)
				cost[b.pkg] = tr.cost(v.dtype == "float64")
			}
		}
		for _, msg := range failures {
			t.Errorf("%s does not build (%s):\n%s\nsource (FLOAT: float32 or float64):\n%s",
				filepath.Base(path), strings.Join(failed[msg], ", "), msg, tr.source("FLOAT"))
		}
	}
	// Graphs without a trace: their packages' own tests, and a harness
	// that checks New's initialisation and, for an MSE, Forward's first
	// output against Backward's loss.
	for _, c := range irOnly {
		for _, v := range variants {
			if v.noFuse {
				continue // no activation to fuse
			}
			pkg := strings.ReplaceAll(c.name+v.dtype+v.suffix, "_", "")
			if match != nil && !match.MatchString(pkg) {
				continue
			}
			matched++
			dtype := map[string]ir.DType{"float32": ir.F32, "float64": ir.F64}[v.dtype]
			g := c.build(&irBuilder{t: t, g: ir.New(c.name, dtype, max(c.batch, 1), c.batch == 0)})
			var params []map[string]any
			for _, p := range g.Params() {
				params = append(params, map[string]any{"Name": p.Name, "FanIn": p.FanIn, "Init": p.Init.String()})
			}
			mse := g.Loss.Op == ir.OpMSE && g.Loss.Args[0] == g.Outputs[0]
			if err := passes.Run(g, passes.Options{Infer: v.infer, NoFuse: v.noFuse, Verify: true}); err != nil {
				t.Errorf("%s: %v", pkg, err)
				continue
			}
			files, err := codegen.Generate(g, codegen.Config{Package: pkg, Source: c.name + " (built as IR)", Output: c.name + ".nn", Tests: true})
			if err != nil {
				t.Errorf("%s: %v", pkg, err)
				continue
			}
			dir := filepath.Join(mod, pkg)
			for _, f := range files {
				write(t, filepath.Join(dir, f.Name), f.Data)
			}
			var harness bytes.Buffer
			if err := irHarness.Execute(&harness, map[string]any{
				"Package": pkg, "Float": v.dtype, "Infer": v.infer, "Params": params, "MSE": mse && !v.infer,
				"Inputs": len(g.Inputs()) - len(targetsOf(g)), "Tolerance": map[string]string{"float32": "1e-5", "float64": "1e-10"}[v.dtype],
			}); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(dir, "graph_test.go"), harness.Bytes())
			pkgs = append(pkgs, pkg)
		}
	}
	if matched == 0 {
		t.Fatalf("no package matches -graphcases %q", *graphCases)
	}
	if len(pkgs) == 0 {
		return // every case failed to build, reported above
	}
	r := newRunner(t, mod, "nngenrunner", pkgs, nil)
	r.need(t, "TestGraph", "TestNoAllocations")
	concurrently(t, vetter(mod, nil), r.build)
	r.report(t, r.run(t, pkgs, cost, nil), "max error", "finite differences")
}

// hasDropout reports whether a generated package has dropout layers,
// whose masks the harness gives through the Model's DropoutMasks hook.
func hasDropout(files []codegen.File) bool {
	return slices.ContainsFunc(files, func(f codegen.File) bool { return bytes.Contains(f.Data, []byte("\tDropoutMasks ")) })
}

// irBuilder writes a trace's network as IR, as the .nn front end would.
type irBuilder struct {
	t testing.TB
	g *ir.Graph
}

func (b *irBuilder) shape(dims ...int) ir.Shape {
	return append(ir.Shape{b.g.Batch}, dims...)
}

func (b *irBuilder) input(name string, dims ...int) *ir.Value {
	return b.g.Leaf(ir.OpInput, name, b.shape(dims...), ir.Attrs{})
}

func (b *irBuilder) target(name string, dims ...int) *ir.Value {
	v := b.input(name, dims...)
	v.Phase = ir.Loss
	return v
}

func (b *irBuilder) op(name string, op ir.Op, attrs ir.Attrs, args ...*ir.Value) *ir.Value {
	b.t.Helper()
	v, err := b.g.Add(op, attrs, args...)
	if err != nil {
		b.t.Fatalf("%s: %v", b.g.Name, err)
	}
	v.Name = name
	return v
}

// linear is PyTorch's nn.Linear named name, on the last axis of x.
func (b *irBuilder) linear(name string, x *ir.Value, out int) *ir.Value {
	in := x.Shape[len(x.Shape)-1]
	w := b.g.Leaf(ir.OpParam, name+".weight", ir.Shape{out, in}, ir.Attrs{})
	bias := b.g.Leaf(ir.OpParam, name+".bias", ir.Shape{out}, ir.Attrs{})
	if len(x.Shape) == 2 {
		return b.op(name, ir.OpLinear, ir.Attrs{}, x, w, bias)
	}
	lead := x.Shape[:len(x.Shape)-1]
	rows := b.op("", ir.OpReshape, ir.Attrs{To: ir.Shape{lead.Size(), in}}, x)
	y := b.op("", ir.OpLinear, ir.Attrs{}, rows, w, bias)
	return b.op(name, ir.OpReshape, ir.Attrs{To: append(append(ir.Shape{}, lead...), out)}, y)
}

func (b *irBuilder) loss(op ir.Op, y, target *ir.Value) *ir.Value {
	v := b.op("", op, ir.Attrs{Reduction: ir.ReduceMean}, y, target)
	v.Phase = ir.Loss
	return v
}

// train sets the outputs, the loss and the optimizer.
func (b *irBuilder) train(outputs []*ir.Value, loss *ir.Value, optimizer string, settings map[string][]float64) *ir.Graph {
	b.t.Helper()
	b.g.Outputs = outputs
	loss.Name, loss.Phase = "loss", ir.Loss
	b.g.Loss = loss
	var errs []error
	if b.g.Optimizer, errs = ir.NewOptimizer(optimizer, settings, ir.Pos{}); errs != nil {
		b.t.Fatal(errs)
	}
	return b.g
}

// handBuilt builds some traces' networks as IR, by trace name: two data
// inputs; two outputs and a loss of two terms, one against the data input;
// a [batch, 4, 6] input.
var handBuilt = map[string]func(b *irBuilder) *ir.Graph{
	"two_inputs": func(b *irBuilder) *ir.Graph {
		x, c := b.input("x", 5), b.input("c", 3)
		h := b.op("h", ir.OpReLU, ir.Attrs{}, b.op("", ir.OpAdd, ir.Attrs{}, b.linear("hx", x, 6), b.linear("hc", c, 6)))
		out := b.linear("out", h, 2)
		return b.train([]*ir.Value{out}, b.loss(ir.OpMSE, out, b.target("target", 2)), "sgd", map[string][]float64{"lr": {0.1}})
	},
	"autoencoder_two_outputs": func(b *irBuilder) *ir.Graph {
		x := b.input("x", 8)
		t1 := b.op("t1", ir.OpTanh, ir.Attrs{}, b.linear("e1", x, 5))
		code := b.linear("code", t1, 2)
		t2 := b.op("t2", ir.OpTanh, ir.Attrs{}, b.linear("d1", code, 5))
		recon := b.linear("recon", t2, 8)
		half := b.g.Leaf(ir.OpConst, "", ir.Shape{}, ir.Attrs{Value: 0.5})
		codeLoss := b.op("", ir.OpMul, ir.Attrs{}, half, b.loss(ir.OpMSE, code, b.target("code_target", 2)))
		loss := b.op("", ir.OpAdd, ir.Attrs{}, b.loss(ir.OpMSE, recon, x), codeLoss)
		return b.train([]*ir.Value{recon, code}, loss, "adam", map[string][]float64{"lr": {0.01}})
	},
	"seq_reduce": func(b *irBuilder) *ir.Graph {
		x := b.input("x", 4, 6)
		h := b.linear("h", x, 8)
		a := b.op("a", ir.OpTanh, ir.Attrs{}, h)
		m := b.op("m", ir.OpMean, ir.Attrs{Axes: []int{1}}, a)
		mx := b.op("mx", ir.OpMax, ir.Attrs{Axes: []int{1}}, h)
		out := b.linear("out", b.op("z", ir.OpAdd, ir.Attrs{}, m, mx), 3)
		return b.train([]*ir.Value{out}, b.loss(ir.OpMSE, out, b.target("target", 3)), "sgd", map[string][]float64{"lr": {0.1}})
	},
}

// targetsOf lists g's loss targets.
func targetsOf(g *ir.Graph) []*ir.Value {
	var out []*ir.Value
	for _, v := range g.Inputs() {
		if v.Phase != ir.Forward {
			out = append(out, v)
		}
	}
	return out
}

// irOnly are graphs that no trace has, built as IR: a tensor of rank 3 in
// and out, with parameters declared on their own (drawn from a fan-in,
// ones, zeros), batched and not; two inputs of one sample, one of them
// named as Go's len, a class index, and an output of a single number.
var irOnly = []struct {
	name  string
	batch int // 0: unbatched
	build func(b *irBuilder) *ir.Graph
}{
	{"rank3", 2, rank3Graph},
	{"rank3_unbatched", 0, rank3Graph},
	{"unbatched_classes", 0, func(b *irBuilder) *ir.Graph {
		x, c := b.input("image", 4), b.input("len", 3)
		h := b.op("h", ir.OpAdd, ir.Attrs{}, b.linear("a", x, 3), b.linear("b", c, 3))
		total := b.op("total", ir.OpSum, ir.Attrs{Axes: []int{1}}, h)
		label := b.target("label")
		label.DType = ir.Int
		return b.train([]*ir.Value{h, total}, b.loss(ir.OpCrossEntropy, h, label), "sgd", map[string][]float64{"lr": {0.1}})
	}},
}

// rank3Graph: y = tanh(x·scale·gain + shift) of x[3, 4], scale[3, 4]
// drawn from a fan-in of 4, gain[4] ones, shift[3, 1] zeros; MSE against
// y_target; SGD with momentum.
func rank3Graph(b *irBuilder) *ir.Graph {
	x := b.input("x", 3, 4)
	scale := b.g.Leaf(ir.OpParam, "scale", ir.Shape{3, 4}, ir.Attrs{FanIn: 4})
	gain := b.g.Leaf(ir.OpParam, "gain", ir.Shape{4}, ir.Attrs{Init: ir.InitOnes})
	shift := b.g.Leaf(ir.OpParam, "shift", ir.Shape{3, 1}, ir.Attrs{Init: ir.InitZeros})
	h := b.op("h", ir.OpMul, ir.Attrs{}, b.op("", ir.OpMul, ir.Attrs{}, x, scale), gain)
	y := b.op("y", ir.OpTanh, ir.Attrs{}, b.op("", ir.OpAdd, ir.Attrs{}, h, shift))
	return b.train([]*ir.Value{y}, b.loss(ir.OpMSE, y, b.target("y_target", 3, 4)), "sgd", map[string][]float64{"lr": {0.1}, "momentum": {0.9}})
}

// irHarness checks a package of irOnly: New's initialisation of the
// parameters declared on their own, and, where the loss is the MSE of the
// first output against the last target, that Forward's output gives
// Backward's loss. Arguments are made and filled through reflection.
var irHarness = template.Must(template.New("harness").Parse(`package {{.Package}}

import (
	"math"
	"reflect"
	"testing"
)

// fill sets every number of v, an array or a number, to the next of a
// reproducible sequence in (-1, 1), or for an int to 0, 1 or 2.
func fill(v reflect.Value, k *int) {
	switch v.Kind() {
	case reflect.Array:
		for i := range v.Len() {
			fill(v.Index(i), k)
		}
		return
	case reflect.Int:
		v.SetInt(int64(*k % 3))
	default:
		v.SetFloat(math.Sin(float64(*k) * 1.7))
	}
	*k++
}

func numbers(v reflect.Value) []float64 {
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Array {
		return []float64{v.Float()}
	}
	var out []float64
	for i := range v.Len() {
		out = append(out, numbers(v.Index(i))...)
	}
	return out
}

// arguments makes the arguments of m's method name, filled.
func arguments(m *Model, name string) []reflect.Value {
	typ := reflect.ValueOf(m).MethodByName(name).Type()
	k := 0
	args := make([]reflect.Value, typ.NumIn())
	for i := range args {
		in := typ.In(i)
		if in.Kind() == reflect.Pointer {
			args[i] = reflect.New(in.Elem())
			fill(args[i].Elem(), &k)
		} else {
			args[i] = reflect.New(in).Elem()
			fill(args[i], &k)
		}
	}
	return args
}

func TestGraph(t *testing.T) {
	m := New(1)
{{- range .Params}}
	if p, ok := m.Param("{{.Name}}"); !ok {
		t.Errorf("no parameter {{.Name}}")
	} else {
		nonzero := false
		for _, x := range p.Value {
			nonzero = nonzero || x != 0
{{- if eq .Init "ones"}}
			if x != 1 {
				t.Errorf("{{.Name}} starts at %v, want ones", x)
			}
{{- else if .FanIn}}
			if math.Abs(float64(x)) > 1/math.Sqrt({{.FanIn}}) {
				t.Errorf("{{.Name}} starts at %v, outside ±1/√{{.FanIn}}", x)
			}
{{- else if eq .Init "zeros"}}
			if x != 0 {
				t.Errorf("{{.Name}} starts at %v, want zeros", x)
			}
{{- end}}
		}
{{- if .FanIn}}
		if !nonzero {
			t.Errorf("{{.Name}} starts at zeros")
		}
{{- end}}
	}
{{- end}}
{{- if .MSE}}

	// Forward's first output is what Backward's loss compares with the
	// last target.
	args := arguments(m, "Backward")
	forward := arguments(m, "Forward")
	for i := range forward {
		if i < {{.Inputs}} {
			forward[i] = args[i]
		} else {
			forward[i].Elem().SetZero() // the outputs
		}
	}
	reflect.ValueOf(m).MethodByName("Forward").Call(forward)
	y, target := numbers(forward[{{.Inputs}}]), numbers(args[len(args)-1])
	want := 0.0
	for i := range y {
		want += (y[i] - target[i]) * (y[i] - target[i])
	}
	want /= float64(len(y))
	loss := reflect.ValueOf(m).MethodByName("Backward").Call(args)[0].Float()
	if math.Abs(loss-want) > {{.Tolerance}}*want {
		t.Errorf("Backward's loss %v; the mean squared error of Forward's output is %v", loss, want)
	}
{{- end}}
}
`))

// graphHarness replays a testdata/graphs trace in a generated package,
// calling the methods through reflection. Its functions but the tests
// are the template graphHelpers, which the gpu packages' harness shares
// (gpuGraphHarness, cuda_graphs_test.go): they call the methods of the
// package's Model, and read parameters through the CPU model, Model, or
// cpu.Model where .GPU is set.
var graphHarness = template.Must(template.New("harness").Parse(`package {{.Package}}

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
{{- if or (not .Infer) .Predictor}}
	"slices"
{{- end}}
{{- if eq .Float "float64"}}
	goruntime "runtime"
	"strconv"
{{- end}}
	"strings"
{{- if .Predictor}}
	"sync"
{{- end}}
	"testing"
)

type float = {{.Float}}

const tolerance = {{.Tolerance}}

{{define "graphHelpers"}}
type step struct {
	Train                    *bool          // false: the step runs in evaluation mode (model.eval())
	Masks                    map[string]any // by dropout layer, the masks PyTorch drew (1 keep, 0 drop)
	Inputs, Targets, Outputs map[string]any
	Loss                     float64
	Grads                    map[string]any
	ParamsAfter              map[string]any ` + "`json:\"params_after\"`" + `
	BuffersAfter             map[string]any ` + "`json:\"buffers_after\"`" + ` // batch norm's running statistics after the step
}

type trace struct {
	Batch                    *int
	Inputs, Outputs, Targets []string
	Params                   map[string]any
	Buffers                  map[string]any
	Steps                    []step
	PaddingRows              map[string]int ` + "`json:\"padding_rows\"`" + ` // embeddings' rows without gradient
}

` + harnessFlat + `
{{- if .Dropout}}
// stepMasks is a DropoutMasks hook that gives each dropout layer the mask
// PyTorch drew at the step.
func stepMasks(t *testing.T, st step) func(layer string, keep []float) {
	return func(layer string, keep []float) {
		mask, ok := st.Masks[layer]
		if !ok {
			t.Fatalf("the trace's step has no mask for the dropout layer %s", layer)
		}
		src := flat(mask)
		if len(src) != len(keep) {
			t.Fatalf("dropout layer %s: %d mask elements, the trace has %d", layer, len(keep), len(src))
		}
		for i := range keep {
			keep[i] = float(src[i])
		}
	}
}
{{end}}
// relErr is max|got-want| / max|want|.
func relErr(got []float, want []float64) float64 { return relErrAbove(got, want, 0) }

// relErrAbove is max|got-want| / max(max|want|, floor).
func relErrAbove(got []float, want []float64, floor float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	diff, scale := 0.0, floor
	for i := range got {
		diff = max(diff, math.Abs(float64(got[i])-want[i]))
		scale = max(scale, math.Abs(want[i]))
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}

// tensors looks up the named tensors of a step, in order.
func tensors(t *testing.T, what string, names []string, in map[string]any) [][]float64 {
	t.Helper()
	out := make([][]float64, len(names))
	for i, name := range names {
		v, ok := in[name]
		if !ok {
			t.Fatalf("the trace's step has no %s %s", what, name)
		}
		out[i] = flat(v)
	}
	return out
}

// count is the number of numbers a value of type typ holds.
func count(typ reflect.Type) int {
	if typ.Kind() == reflect.Array {
		return typ.Len() * count(typ.Elem())
	}
	return 1
}

// fill sets the numbers of v, an array or a number, from src in row-major
// order, and returns the rest of src.
func fill(v reflect.Value, src []float64) []float64 {
	switch v.Kind() {
	case reflect.Array:
		for i := range v.Len() {
			src = fill(v.Index(i), src)
		}
		return src
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(int64(src[0]))
	default:
		v.SetFloat(src[0])
	}
	return src[1:]
}

// numbers lists the numbers of v in row-major order.
func numbers(v reflect.Value) []float {
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Array && v.Kind() != reflect.Slice {
		return []float{float(v.Float())}
	}
	var out []float
	for i := range v.Len() {
		out = append(out, numbers(v.Index(i))...)
	}
	return out
}

// stepArguments makes the arguments of m's method name (Forward, Backward
// or TrainStep) for a step's tensors, as arguments does; for a step of
// fewer samples than the batch, those of its Batch method instead (which
// it returns): slices of the first samples of arrays of the batch.
func stepArguments(t *testing.T, m any, name string, tr trace, values [][]float64) (string, []reflect.Value) {
	t.Helper()
	if tr.Batch == nil {
		return name, arguments(t, m, name, values)
	}
	first := reflect.ValueOf(m).MethodByName(name).Type().In(0).Elem() // [Batch]...
	n := len(values[0]) / count(first.Elem())
	if n == first.Len() {
		return name, arguments(t, m, name, values)
	}
	args := fillArguments(t, m, name, values, true)
	for i := range args {
		args[i] = args[i].Elem().Slice(0, n)
	}
	return name + "Batch", args
}

// arguments makes the arguments of m's method name from the tensors in
// order, nil for one left zero (an output): a pointer to an array, or a
// number by value.
func arguments(t *testing.T, m any, name string, values [][]float64) []reflect.Value {
	t.Helper()
	return fillArguments(t, m, name, values, false)
}

// fillArguments is arguments, where with partial a tensor may fill only
// the first numbers of its array (a step of fewer samples).
func fillArguments(t *testing.T, m any, name string, values [][]float64, partial bool) []reflect.Value {
	t.Helper()
	method := reflect.ValueOf(m).MethodByName(name)
	if !method.IsValid() {
		t.Fatalf("the model has no method %s", name)
	}
	typ := method.Type()
	if typ.NumIn() != len(values) {
		t.Fatalf("%s takes %d arguments; the trace has %d tensors for it", name, typ.NumIn(), len(values))
	}
	args := make([]reflect.Value, len(values))
	for i, src := range values {
		in := typ.In(i)
		v := reflect.New(in).Elem()
		if in.Kind() == reflect.Pointer {
			args[i] = reflect.New(in.Elem())
			v = args[i].Elem()
		} else {
			args[i] = v
		}
		if src == nil {
			continue
		}
		if n := count(v.Type()); n != len(src) && !(partial && len(src) < n) {
			t.Fatalf("%s's argument %d (%s) holds %d numbers; the trace has %d", name, i, in, n, len(src))
		}
		if len(src) < count(v.Type()) { // the first samples: the rest zero
			padded := make([]float64, count(v.Type()))
			copy(padded, src)
			src = padded
		}
		fill(v, src)
	}
	return args
}

func call(m *Model, name string, args []reflect.Value) []reflect.Value {
	return reflect.ValueOf(m).MethodByName(name).Call(args)
}

// forwardArgs are the method (Forward, or ForwardBatch for fewer samples
// than the batch) and its arguments for a step: the inputs, then zero
// outputs.
func forwardArgs(t *testing.T, m any, tr trace, st step) (string, []reflect.Value) {
	t.Helper()
	return stepArguments(t, m, "Forward", tr, append(tensors(t, "input", tr.Inputs, st.Inputs), make([][]float64, len(tr.Outputs))...))
}

{{if .Predictor}}
// checkPredictor runs two Predictors of m on the step's inputs from two
// goroutines at once: each must give PyTorch's outputs (the Predictor's
// code is the inference plan's, whose sums may round differently from
// the training plan's Forward), and the two the very same numbers.
func checkPredictor(t *testing.T, m *Model, tr trace, st step, check func(what string, got []float, want []float64)) {
	t.Helper()
	var outs [2][]reflect.Value
	var wg sync.WaitGroup
	for g := range outs {
		p := m.NewPredictor()
		var method string
		method, outs[g] = forwardArgs(t, p, tr, st)
		wg.Add(1)
		go func() {
			defer wg.Done()
			reflect.ValueOf(p).MethodByName(method).Call(outs[g])
		}()
	}
	wg.Wait()
	for i, name := range tr.Outputs {
		check("predictor output "+name, numbers(outs[0][len(tr.Inputs)+i]), flat(st.Outputs[name]))
		if a, b := numbers(outs[0][len(tr.Inputs)+i]), numbers(outs[1][len(tr.Inputs)+i]); !slices.Equal(a, b) {
			t.Errorf("two predictors of one model: output %s is %v and %v", name, a, b)
		}
	}
}
{{end}}
// checkOutputs compares Forward's outputs in args with the step's.
func checkOutputs(t *testing.T, tr trace, st step, args []reflect.Value, check func(what string, got []float, want []float64)) {
	t.Helper()
	for i, name := range tr.Outputs {
		check("output "+name, numbers(args[len(tr.Inputs)+i]), flat(st.Outputs[name]))
	}
}

// setParams loads the trace's parameters into the model by state_dict name.
func setParams(t *testing.T, m *{{if .GPU}}cpu.{{end}}Model, params map[string]any) {
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

// bufferField is the field of the buffer name.
func bufferField(t *testing.T, m *{{if .GPU}}cpu.{{end}}Model, name string) reflect.Value {
	t.Helper()
	fields := map[string]string{ {{- range .Buffers}}"{{.Name}}": "{{.Field}}", {{end -}} }
	field := reflect.ValueOf(m).Elem().FieldByName(fields[name])
	if !field.IsValid() {
		t.Fatalf("no field %s for the buffer %s", fields[name], name)
	}
	return field
}

// checkBuffers compares the buffers after a step with the trace's.
func checkBuffers(t *testing.T, st step, m *{{if .GPU}}cpu.{{end}}Model, check func(what string, got []float, want []float64)) {
	t.Helper()
	for name, want := range st.BuffersAfter {
		field := bufferField(t, m, name)
		if field.Kind() == reflect.Int64 {
			if got := field.Int(); float64(got) != flat(want)[0] {
				t.Errorf("buffer %s: %d, want %v", name, got, want)
			}
			continue
		}
		check("buffer "+name, numbers(field), flat(want))
	}
}

// saveBuffers copies the model's buffers; restoreBuffers sets them back.
func saveBuffers(m *{{if .GPU}}cpu.{{end}}Model) map[string]reflect.Value {
	saved := map[string]reflect.Value{}
	for name, field := range map[string]string{ {{- range .Buffers}}"{{.Name}}": "{{.Field}}", {{end -}} } {
		f := reflect.ValueOf(m).Elem().FieldByName(field)
		c := reflect.New(f.Type()).Elem()
		c.Set(f)
		saved[name] = c
	}
	return saved
}

func restoreBuffers(m *{{if .GPU}}cpu.{{end}}Model, saved map[string]reflect.Value) {
	for name, field := range map[string]string{ {{- range .Buffers}}"{{.Name}}": "{{.Field}}", {{end -}} } {
		reflect.ValueOf(m).Elem().FieldByName(field).Set(saved[name])
	}
}

// setBuffers loads the trace's buffers into the model's fields.
func setBuffers(t *testing.T, m *{{if .GPU}}cpu.{{end}}Model, buffers map[string]any) {
	t.Helper()
	fields := map[string]string{ {{- range .Buffers}}"{{.Name}}": "{{.Field}}", {{end -}} }
	if len(fields) != len(buffers) {
		t.Fatalf("the harness knows %d buffers, the trace has %d", len(fields), len(buffers))
	}
	for name, v := range buffers {
		field := reflect.ValueOf(m).Elem().FieldByName(fields[name])
		if !field.IsValid() {
			t.Fatalf("no field %s for the buffer %s", fields[name], name)
		}
		src := flat(v)
		if n := count(field.Type()); n != len(src) {
			t.Fatalf("%s: %d values, want %d", name, len(src), n)
		}
		fill(field, src)
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

// maxErrors holds the largest relative error of each kind of number
// (output, loss, grad, param), for the log.
type maxErrors map[string]float64

// checker compares numbers of a step with PyTorch's, relative to their
// largest or to floor if that is larger: what is their kind, then what
// they are ("grad fc.weight").
func (w maxErrors) checker(t *testing.T, step int, floor float64) func(what string, got []float, want []float64) {
	return func(what string, got []float, want []float64) {
		t.Helper()
		e := relErrAbove(got, want, floor)
		kind, _, _ := strings.Cut(what, " ")
		w[kind] = max(w[kind], e)
		if !(e <= tolerance) {
			t.Errorf("step %d: %s: relative error %.3g > %g\ngot  %v\nwant %v", step, what, e, tolerance, got, want)
		}
	}
}

{{if not .Infer}}
// maxAbs is the largest |x|.
func maxAbs(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, math.Abs(x))
	}
	return m
}

// checkGrads compares the gradients of m's parameters with the step's.
// A gradient is compared relative to its largest element, except one that
// PyTorch computes as zero but for float64 rounding (a key's bias before a
// softmax, which shifts a row's scores alike): it cannot agree relative to
// itself, and must be zero within the tolerance relative to the step's
// largest gradient.
func checkGrads(t *testing.T, w maxErrors, s int, st step, m *{{if .GPU}}cpu.{{end}}Model) {
	t.Helper()
	largest := 0.0
	for _, g := range st.Grads {
		for _, x := range flat(g) {
			largest = max(largest, math.Abs(x))
		}
	}
	for _, p := range m.Params() {
		want := flat(st.Grads[p.Name])
		floor := 0.0
		if top := maxAbs(want); top < 1e-12*largest {
			floor = largest
		}
		w.checker(t, s, floor)("grad "+p.Name, p.Grad, want)
	}
}

// checkParams compares m's parameters with the step's, after its update.
func checkParams(st step, m *{{if .GPU}}cpu.{{end}}Model, check func(what string, got []float, want []float64)) {
	for _, p := range m.Params() {
		check("param "+p.Name, p.Value, flat(st.ParamsAfter[p.Name]))
	}
}
{{end}}
{{end}}
{{- template "graphHelpers" .}}
{{if .Infer}}
// TestGraph checks the inference-only build: the same outputs as PyTorch
// at every step's parameters, and no training code at all.
func TestGraph(t *testing.T) {
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
	w := maxErrors{}
	for s, st := range tr.Steps {
		if s == 0 {
			setParams(t, m, tr.Params)
			setBuffers(t, m, tr.Buffers)
		} else {
			setParams(t, m, tr.Steps[s-1].ParamsAfter)
		}
		if len(st.Masks) > 0 {
			continue // PyTorch's outputs in training mode, through its dropout masks
		}
		method, args := forwardArgs(t, m, tr, st)
		call(m, method, args)
		checkOutputs(t, tr, st, args, w.checker(t, s, 0))
{{if .Predictor}}		checkPredictor(t, m, tr, st, w.checker(t, s, 0))
{{end}}	}
	t.Logf("{{.Package}}: %d steps, max error: output %.2g{{if .Predictor}}, predictor %.2g{{end}}", len(tr.Steps), w["output"]{{if .Predictor}}, w["predictor"]{{end}})
}
{{else}}
func TestGraph(t *testing.T) {
	tr := readTrace(t)
	m := New(1)
	setParams(t, m, tr.Params)
	setBuffers(t, m, tr.Buffers)
	checked := map[int]point{}
	replay(t, m, tr, checked)

	// ResetOptimizer forgets the optimizer's state: from the starting
	// parameters, the same steps give the same numbers again.
	m.ResetOptimizer()
	setParams(t, m, tr.Params)
	setBuffers(t, m, tr.Buffers)
	replay(t, m, tr, checked)

	// The learning rate is a field: at 0, a step changes nothing.
	st := tr.Steps[0]
	method, args := stepArguments(t, m, "TrainStep", tr, slices.Concat(tensors(t, "input", tr.Inputs, st.Inputs), tensors(t, "target", tr.Targets, st.Targets)))
	before := append([]float(nil), m.Params()[0].Value...)
	lr := m.LR
	m.LR = 0
	call(m, method, args)
	if relErr(m.Params()[0].Value, toFloat64(before)) != 0 {
		t.Error("a step with LR = 0 changed the parameters")
	}
	m.LR = lr
	call(m, method, args)
	if relErr(m.Params()[0].Value, toFloat64(before)) == 0 {
		t.Error("a step with the learning rate restored changed nothing")
	}
}

` + harnessPoints + `
// setMode puts m in the step's mode: training, or evaluation where the
// step says "train": false{{if .Dropout}}; in training mode the model's
// DropoutMasks hook gives each dropout layer the mask PyTorch drew{{end}}.
func setMode(t *testing.T, m *Model, st step) {
	t.Helper()
	if st.Train != nil && !*st.Train {
		m.Eval()
	} else {
		m.Train()
	}
{{- if .Dropout}}
	m.DropoutMasks = stepMasks(t, st)
{{- end}}
}

// replay runs the trace's steps and compares every number with PyTorch's.
// checked holds, by step, the points where the gradients were checked
// against finite differences (in float64).
func replay(t *testing.T, m *Model, tr trace, checked map[int]point) {
	t.Helper()
	w := maxErrors{}
	for s, st := range tr.Steps {
		check := w.checker(t, s, 0)
		setMode(t, m, st)
		method, args := forwardArgs(t, m, tr, st)
		call(m, method, args)
		checkOutputs(t, tr, st, args, check)
{{if .Predictor}}		if st.Train == nil || !*st.Train { // a Predictor runs in evaluation mode
			checkPredictor(t, m, tr, st, check)
		}
{{end}}		method, backward := stepArguments(t, m, "Backward", tr, slices.Concat(tensors(t, "input", tr.Inputs, st.Inputs), tensors(t, "target", tr.Targets, st.Targets)))
		loss := call(m, method, backward)[0].Float()
		check("loss", []float{float(loss)}, []float64{st.Loss})
		checkGrads(t, w, s, st, m)
{{if .FiniteDifferences}}		checkFiniteDifferences(t, m, tr, method, backward, s, checked)
{{end}}		m.Step()
		checkParams(st, m, check)
		checkBuffers(t, st, m, check)
	}
	t.Logf("{{.Package}}: %d steps, max error: output %.2g, loss %.2g, grad %.2g, param %.2g{{if .Predictor}}, predictor %.2g{{end}}{{if .Buffers}}, buffer %.2g{{end}}",
		len(tr.Steps), w["output"], w["loss"], w["grad"], w["param"]{{if .Predictor}}, w["predictor"]{{end}}{{if .Buffers}}, w["buffer"]{{end}})
}

{{if eq .Float "float64"}}
` + harnessFiniteDifferences + `
// checkFiniteDifferences compares every gradient element with the central
// difference (L(p+h) - L(p-h)) / 2h, as TestParity's harness does (see
// there): NNGEN_FD_ELEMENTS=N checks N elements of each parameter, a
// point the first replay checked is not checked again, and the
// differences run on a model of their own made with GOMAXPROCS=1.
func checkFiniteDifferences(t *testing.T, m *Model, tr trace, method string, backward []reflect.Value, step int, checked map[int]point) {
	t.Helper()
	saved := saveBuffers(m) // running the network again in training mode moves them
	defer restoreBuffers(m, saved)
	call(m, method, backward)
	finiteDifferences(t, pointOf(m), step, checked, tr.PaddingRows, func(d *Model) float64 {
		d.eval{{if .Dropout}}, d.DropoutMasks{{end}} = m.eval{{if .Dropout}}, m.DropoutMasks{{end}} // m's mode and masks
		return call(d, method, backward)[0].Float()
	})
}
{{end}}
{{end}}`))

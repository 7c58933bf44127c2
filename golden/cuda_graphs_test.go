package golden

import (
	"path/filepath"
	"strings"
	"testing"
	"text/template"
)

// graphCudaCases makes a case of TestCudaParity of every trace in
// testdata/graphs, for each variant: its package is named graph, the
// trace's name and the variant's (graphmovementopsf32), and runs
// gpuGraphHarness. A variant's asan holds for a few traces, whose kernels
// read and write the most ways.
// cudaCoveredBy names, for the traces whose kernels another trace's GPU
// run already checks (the same ops, fewer of them, or in another order),
// that trace: their CUDA packages are large and slow to compile.
var cudaCoveredBy = map[string]string{
	"lstm_1layer":        "lstm_2layers",
	"gru_bidirectional":  "gru_2layers",       // the reverse direction: the same ops on the steps backwards
	"lstm_bidirectional": "lstm_2layers",      // likewise
	"lstm_unbatched":     "lstm_2layers",      // one sample: the same ops without the batch axis
	"mha_plain":          "mha_causal",        // mha_causal is mha_plain with the causal mask and a key padding mask
	"encoder_2layers":    "encoder_post_norm", // two of its layer (relu, norm after) without dropout; the key padding mask's add as mha_causal's
}

func graphCudaCases(t *testing.T, variants []cudaCase) []cudaCase {
	t.Helper()
	paths, err := filepath.Glob("testdata/graphs/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no graph traces: %v", err)
	}
	var cases []cudaCase
	for _, path := range paths {
		tr, data := readGraphTrace(t, path)
		if tr.partial() {
			continue // the GPU package takes full batches only
		}
		if cudaCoveredBy[tr.Name] != "" {
			continue
		}
		for _, v := range variants {
			asan := tr.Name == "movement_ops" || tr.Name == "embedding_bag" ||
				tr.Name == "batchnorm_onnx" || // a thread per channel, the modes' kernels
				tr.Name == "loss_ce_options" || // the class weights' arrays, the ignored rows
				tr.Name == "lenet" // im2col and col2im around cuBLAS's products
			act := strings.HasPrefix(tr.Name, "act_")
			if v.dtype == "float64" && act || v.dtype == "float32" && !act && !asan {
				// An activation's device functions are checked against the
				// Go runtime's in double (runtime's TestUnaryPrelude): its
				// network runs in float32; the other networks run in
				// float64, and in float32 only those run under ASan.
				continue
			}
			c := v
			c.pkg = "graph" + strings.ReplaceAll(tr.Name, "_", "") + v.pkg
			c.src, c.trace, c.graph = tr.source(v.dtype), data, true
			c.cost = tr.cost(false)
			c.asan = v.asan && asan
			cases = append(cases, c)
		}
	}
	return cases
}

// gpuGraphHarness is the test file of a gpu package generated for a
// testdata/graphs trace: gpuHarness's tests of the driver, and TestParity,
// which replays the trace on the GPU model with graphHarness's functions
// (graphHelpers), calling its methods through reflection as TestGraphs
// calls the CPU model's: per step the outputs, the loss, every gradient
// and every parameter after the update must equal PyTorch's within the
// tolerance, relative to the tensor's largest value (a gradient that
// PyTorch makes nonzero only by float64 rounding, relative to the step's
// largest gradient). The gradients and parameters are read through a CPU
// model that CopyTo fills.
var gpuGraphHarness = func() *template.Template {
	t := template.Must(graphHarness.Clone())
	template.Must(t.AddParseTree("gpuTests", gpuHarness.Lookup("gpuTests").Tree))
	return template.Must(t.New("gpugraph").Parse(`package gpu

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	cpu "{{.CPU}}"
	"github.com/nngen/nngen/runtime/cuda"
)

type float = {{.Float}}

const tolerance = {{.Tolerance}}
{{template "gpuTests" .}}
{{template "graphHelpers" .}}

// TestParity replays the trace on the GPU from its starting parameters,
// comparing every number with PyTorch's.
func TestParity(t *testing.T) {
	tr := readTrace(t)
	c := cpu.New(1)
	setParams(t, c, tr.Params)
	setBuffers(t, c, tr.Buffers)
	g, err := FromCPU(c)
	if err != nil {
		t.Fatalf("no GPU: %v", err)
	}
	defer g.Close()
	shadow := cpu.New(0) // the GPU's parameters and gradients, by CopyTo
	w := maxErrors{}
	for s, st := range tr.Steps {
		check := w.checker(t, s, 0)
{{- if .Modes}}
		if st.Train != nil && !*st.Train {
			g.Eval()
		} else {
			g.Train()
		}
{{- end}}
{{- if .Dropout}}
		g.DropoutMasks = stepMasks(t, st)
{{- end}}
		method, args := forwardArgs(t, g, tr, st)
		call(g, method, args)
		checkOutputs(t, tr, st, args, check)
		backward := arguments(t, g, "Backward", slices.Concat(tensors(t, "input", tr.Inputs, st.Inputs), tensors(t, "target", tr.Targets, st.Targets)))
		loss := call(g, "Backward", backward)[0].Float()
		check("loss", []float{float(loss)}, []float64{st.Loss})
		g.CopyTo(shadow)
		checkGrads(t, w, s, st, shadow)
		g.Step()
		g.CopyTo(shadow)
		checkParams(st, shadow, check)
		checkBuffers(t, st, shadow, check)
	}
	t.Logf("{{.CPU}}: %d steps on %s, max error: output %.2g, loss %.2g, grad %.2g, param %.2g{{if .Buffers}}, buffer %.2g{{end}}",
		len(tr.Steps), g.DeviceName(), w["output"], w["loss"], w["grad"], w["param"]{{if .Buffers}}, w["buffer"]{{end}})
}
`))
}()
